"""A service published resource by resource on a `CloudDriver` (target groups, a load
balancer, listeners, an endpoint service), found again by its tags.

The AWS reconciler path removes with `remove`; `Piecewise` publishes a whole
`PublishSpec` this way, which is how the local cloud plays Azure and Google.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import suppress

from privlink.cloud import contract as c
from privlink.domain import naming
from privlink.domain.dns import Record
from privlink.domain.errors import Conflict, NotFound

LIVE = ("pendingAcceptance", "pending", "available")


def remove(cloud: c.CloudDriver, key: str, tg_names: Sequence[str] = ()) -> None:
    """Everything of PrivateLink `key`: endpoint services (their live connections
    rejected), load balancers with their listeners, target groups. Idempotent."""
    tags = naming.finder_tags(naming.Kind.privatelink, key)
    for service_id in cloud.find_by_tags(naming.Resource.endpoint_service, tags):
        try:
            cloud.delete_endpoint_service(service_id)
        except Conflict:  # live connections: reject them, then delete
            live = [
                e.id for e in cloud.describe_endpoint_connections(service_id) if e.state in LIVE
            ]
            cloud.reject_endpoint_connections(service_id, live)
            cloud.delete_endpoint_service(service_id)
    # By name too: a resource made a moment ago may not be in a lagging tag search yet;
    # and what such a search still lists may be gone already (NotFound: done).
    lb_names = [naming.load_balancer_name(key)]
    for lb in cloud.find_by_tags(naming.Resource.load_balancer, tags, names=lb_names):
        with suppress(NotFound):
            for listener in cloud.describe_listeners(lb):
                cloud.delete_listener(listener.arn)
            cloud.delete_load_balancer(lb)
    for arn in cloud.find_by_tags(naming.Resource.target_group, tags, names=tg_names):
        with suppress(NotFound):
            cloud.delete_target_group(arn)


class Piecewise(c.Publisher):
    """A `Publisher` over a resource-by-resource driver (the local cloud's Azure and
    Google regions): each `publish` finds what is there by tags and adds, changes or
    removes only what differs."""

    def __init__(self, cloud: c.CloudDriver) -> None:
        self.cloud = cloud

    def publish(self, spec: c.PublishSpec) -> c.Published:
        cloud = self.cloud
        tags = naming.finder_tags(naming.Kind.privatelink, spec.key)
        created = {**spec.tags, **tags}
        tagged = cloud.find_tagged(naming.Resource.target_group, tags)
        of_unit = {t.get(naming.UNIT_TAG): arn for arn, t in reversed(tagged.items())}
        groups: dict[str, str] = {}
        healthy: dict[str, bool] = {}
        for unit in spec.units:
            arn = of_unit.get(unit.key)
            if arn is None:
                arn = cloud.create_target_group(
                    name=naming.target_group_name(spec.key, unit.port),
                    port=unit.targets[0].port,
                    health_check=spec.health_check,
                    proxy_protocol_v2=False,
                    tags={**created, naming.UNIT_TAG: unit.key},
                    client_token=naming.client_token(spec.key, 0, "tg", unit.key),
                    vpc_id=spec.network,
                ).arn
            groups[unit.key] = arn
            healthy[unit.key] = self._sync_targets(arn, unit.targets)
        for arn in tagged:
            if arn not in groups.values():
                cloud.delete_target_group(arn)
        found = cloud.find_by_tags(naming.Resource.load_balancer, tags)
        lb = (
            found[0]
            if found
            else cloud.create_load_balancer(
                name=naming.load_balancer_name(spec.key),
                subnet_ids=[sub.id for sub in cloud.vpc_subnets(spec.network)],
                tags=created,
                client_token=naming.client_token(spec.key, 0, "nlb"),
            ).arn
        )
        wanted = {u.port: groups[u.key] for u in spec.units if u.open}
        have = set()
        for listener in cloud.describe_listeners(lb):
            if wanted.get(listener.port) == listener.target_group_arn:
                have.add(listener.port)
            else:
                cloud.delete_listener(listener.arn)
        for port, arn in sorted(wanted.items()):
            if port not in have:
                cloud.create_listener(load_balancer_arn=lb, port=port, target_group_arn=arn)
        found = cloud.find_by_tags(naming.Resource.endpoint_service, tags)
        service = (
            cloud.describe_endpoint_service(found[0])
            if found
            else cloud.create_endpoint_service(
                load_balancer_arns=[lb],
                acceptance_required=True,
                tags=created,
                client_token=naming.client_token(spec.key, 0, "svc"),
            )
        )
        add = [p for p in spec.consumers if p not in service.principals]
        drop = [p for p in service.principals if p not in spec.consumers]
        if add or drop:
            cloud.modify_endpoint_service_permissions(service.id, add=add, remove=drop)
        return c.Published(service.id, service.name, service.resource_id, healthy)

    def _sync_targets(self, arn: str, wanted: tuple[c.Target, ...]) -> bool:
        views = [v for v in self.cloud.describe_target_health(arn) if v.state != "draining"]
        current = {v.target for v in views}
        missing = [t for t in wanted if t not in current]
        extra = [t for t in current if t not in wanted]
        if missing:
            self.cloud.register_targets(arn, missing)
        if extra:
            self.cloud.deregister_targets(arn, extra)
        return any(v.state == "healthy" and v.target in wanted for v in views)

    def unpublish(self, key: str) -> None:
        remove(self.cloud, key)

    def describe_endpoint_connections(self, service_id: str) -> list[c.Endpoint]:
        return self.cloud.describe_endpoint_connections(service_id)

    def accept_endpoint_connections(self, service_id: str, endpoint_ids: Sequence[str]) -> None:
        self.cloud.accept_endpoint_connections(service_id, endpoint_ids)

    def reject_endpoint_connections(self, service_id: str, endpoint_ids: Sequence[str]) -> None:
        self.cloud.reject_endpoint_connections(service_id, endpoint_ids)

    def dns_zone(self, name: str) -> str:
        return self.cloud.dns_zone(name)

    def dns_records(self, zone_id: str, under: str) -> list[Record]:
        return self.cloud.dns_records(zone_id, under)

    def change_dns_records(
        self,
        zone_id: str,
        *,
        upsert: Sequence[Record] = (),
        delete: Sequence[Record] = (),
    ) -> None:
        self.cloud.change_dns_records(zone_id, upsert=upsert, delete=delete)

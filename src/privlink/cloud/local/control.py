"""The local cloud's control side: accounts, VPCs, load balancers, PrivateLink.

Each public method is one transaction, like one call to a cloud API. It keeps
AWS's rules (see docs/local-cloud.md): client tokens make creates idempotent,
AZs match by ID, principals must be allowed, a service with live connections
cannot be deleted. `LocalCloud` holds what spans accounts; `LocalAccount` is one
account's view in one region and implements the driver contract.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from privlink.cloud import contract as c
from privlink.cloud.local import network
from privlink.domain import cloud as rules
from privlink.domain import validation
from privlink.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from privlink.store.base import Base, as_utc, utcnow
from privlink.store.cloud_tables import (
    LcAccount,
    LcEndpoint,
    LcEndpointService,
    LcListener,
    LcLoadBalancer,
    LcSecurityGroup,
    LcSubnet,
    LcTarget,
    LcTargetGroup,
    LcVpc,
)

M = TypeVar("M", bound=Base)
SERVICE_PROVIDER = "privlink"
KINDS: dict[str, Any] = {
    "target-group": LcTargetGroup,
    "load-balancer": LcLoadBalancer,
    "endpoint-service": LcEndpointService,
    "endpoint": LcEndpoint,
}


def _hex(n: int) -> str:
    return secrets.token_hex(n)[:n]


def _tags(tags: c.Tags | None) -> dict[str, str]:
    return {str(k): str(v) for k, v in (tags or {}).items()}


def _health(tg: LcTargetGroup) -> rules.HealthCheck:
    return rules.HealthCheck(
        interval=tg.hc_interval,
        timeout=tg.hc_timeout,
        healthy_threshold=tg.hc_healthy_threshold,
        unhealthy_threshold=tg.hc_unhealthy_threshold,
        port=tg.hc_port,
    )


def tg_view(tg: LcTargetGroup) -> c.TargetGroup:
    return c.TargetGroup(
        arn=tg.arn,
        name=tg.name,
        port=tg.port,
        health_check=_health(tg),
        proxy_protocol_v2=tg.proxy_protocol_v2,
        tags=dict(tg.tags),
    )


def lb_view(lb: LcLoadBalancer) -> c.LoadBalancer:
    return c.LoadBalancer(
        arn=lb.arn,
        name=lb.name,
        region=lb.region,
        subnet_ids=tuple(lb.subnet_ids),
        az_ids=tuple(lb.az_ids),
        state=lb.state,
        tags=dict(lb.tags),
    )


def listener_view(listener: LcListener) -> c.Listener:
    return c.Listener(
        arn=listener.arn,
        load_balancer_arn=listener.load_balancer_arn,
        port=listener.port,
        target_group_arn=listener.target_group_arn,
    )


def endpoint_view(ep: LcEndpoint) -> c.Endpoint:
    return c.Endpoint(
        id=ep.id,
        vpc_id=ep.vpc_id,
        service_id=ep.service_id,
        service_name=ep.service_name,
        state=ep.state,
        owner=ep.principal,
        subnet_ids=tuple(ep.subnet_ids),
        addresses=tuple(c.EndpointAddress(**a) for a in ep.addresses),
        dns_name=ep.dns_name,
        reason=ep.reason,
        tags=dict(ep.tags),
    )


@dataclass(frozen=True)
class Route:
    """One thing the data plane must do: forward address:port to a listener's targets."""

    endpoint_id: str
    address: str
    port: int
    target_group_arn: str
    proxy_protocol_v2: bool
    ingress: tuple[tuple[str, int, int], ...]  # (cidr, from_port, to_port) of the endpoint's SGs


class LocalCloud:
    """The whole embedded cloud, over privlink's database."""

    def __init__(self, sessions: sessionmaker[Session], call_delay: float = 0.0) -> None:
        self.sessions = sessions
        self.call_delay = call_delay

    @contextmanager
    def tx(self) -> Iterator[Session]:
        with self.sessions() as session, session.begin():
            yield session

    # -- accounts ---------------------------------------------------------
    def create_account(self, name: str, account_id: str | None = None) -> LcAccount:
        validation.project_name(name)
        with self.tx() as s:
            if s.scalar(select(LcAccount).where(LcAccount.name == name)) is not None:
                raise Conflict(f"Account named {name!r} already exists")
            account = LcAccount(id=account_id or rules.new_account_id(), name=name)
            s.add(account)
            return account

    def ensure_account(self, name: str) -> LcAccount:
        with self.tx() as s:
            found = s.scalar(select(LcAccount).where(LcAccount.name == name))
        return found or self.create_account(name)

    def list_accounts(self) -> list[LcAccount]:
        with self.tx() as s:
            return list(s.scalars(select(LcAccount).order_by(LcAccount.name)))

    def resolve_account(self, key: str) -> LcAccount:
        """An account by 12-digit ID or by name."""
        with self.tx() as s:
            found = s.get(LcAccount, key) or s.scalar(
                select(LcAccount).where(LcAccount.name == key)
            )
        if found is None:
            raise NotFound(
                f"No local-cloud account {key!r}; create it with "
                "`privlink cloud account create NAME`"
            )
        return found

    def account(self, account: str, region: str, principal: str | None = None) -> LocalAccount:
        found = self.resolve_account(account)
        return LocalAccount(self, found.id, rules.region(region), principal)

    # -- what the data plane needs ----------------------------------------
    def routes(self) -> list[Route]:
        """Every (endpoint address, listener port) of every accepted endpoint.

        Pending endpoints are included: the data plane binds them, then marks
        them available, so `available` always means "accepting connections".
        """
        with self.tx() as s:
            endpoints = s.scalars(
                select(LcEndpoint).where(
                    LcEndpoint.state.in_(
                        [rules.EndpointState.pending, rules.EndpointState.available]
                    )
                )
            ).all()
            result = []
            for ep in endpoints:
                service = s.get(LcEndpointService, ep.service_id)
                if service is None:
                    continue
                ingress = tuple(
                    (rule["cidr"], int(rule["from_port"]), int(rule["to_port"]))
                    for sg_id in ep.security_group_ids
                    if (sg := s.get(LcSecurityGroup, sg_id)) is not None
                    for rule in sg.ingress
                )
                listeners = s.scalars(
                    select(LcListener).where(
                        LcListener.load_balancer_arn.in_(service.load_balancer_arns)
                    )
                ).all()
                for listener in listeners:
                    tg = s.get(LcTargetGroup, listener.target_group_arn)
                    for addr in ep.addresses:
                        result.append(
                            Route(
                                endpoint_id=ep.id,
                                address=addr["address"],
                                port=listener.port,
                                target_group_arn=listener.target_group_arn,
                                proxy_protocol_v2=bool(tg and tg.proxy_protocol_v2),
                                ingress=ingress,
                            )
                        )
            return result

    def retired_addresses(self) -> list[str]:
        """Addresses of endpoints that were rejected, deleted or failed: traffic is reset."""
        with self.tx() as s:
            rows = s.scalars(
                select(LcEndpoint).where(
                    LcEndpoint.state.in_(
                        [
                            rules.EndpointState.rejected,
                            rules.EndpointState.deleted,
                            rules.EndpointState.failed,
                        ]
                    )
                )
            ).all()
            return [a["address"] for ep in rows for a in ep.addresses]

    def pending_endpoints(self) -> list[str]:
        with self.tx() as s:
            return list(
                s.scalars(
                    select(LcEndpoint.id).where(LcEndpoint.state == rules.EndpointState.pending)
                )
            )

    def mark_provisioned(self, endpoint_ids: Sequence[str]) -> None:
        """The data plane listens for these endpoints now: pending -> available."""
        with self.tx() as s:
            for endpoint_id in endpoint_ids:
                ep = s.get(LcEndpoint, endpoint_id)
                if ep is not None and ep.state == rules.EndpointState.pending:
                    ep.state = rules.move_endpoint(rules.EndpointState(ep.state), "provisioned")

    def health_targets(self) -> list[tuple[c.TargetGroup, list[LcTarget]]]:
        """Target groups used by a listener, with their targets, for the health checker."""
        with self.tx() as s:
            used = set(s.scalars(select(LcListener.target_group_arn)))
            groups = s.scalars(select(LcTargetGroup).where(LcTargetGroup.arn.in_(used))).all()
            return [
                (
                    tg_view(tg),
                    list(s.scalars(select(LcTarget).where(LcTarget.target_group_arn == tg.arn))),
                )
                for tg in groups
            ]

    def record_health(self, target_id: int, state: str, reason: str) -> None:
        with self.tx() as s:
            target = s.get(LcTarget, target_id)
            if target is not None and target.state not in ("draining", "unused"):
                target.state, target.reason = state, reason

    def drop_drained(self) -> None:
        """Remove deregistered targets whose deregistration delay has passed."""
        with self.tx() as s:
            for target in s.scalars(select(LcTarget).where(LcTarget.drain_until.is_not(None))):
                if target.drain_until is not None and as_utc(target.drain_until) <= utcnow():
                    s.delete(target)


class LocalAccount(c.CloudDriver):
    """One account in one region: the customer's and the platform's handle on the cloud."""

    def __init__(
        self, cloud: LocalCloud, account_id: str, region: str, principal: str | None = None
    ) -> None:
        self.cloud = cloud
        self.account_id = account_id
        self.region = region
        self.principal = (
            validation.principal(principal) if principal else (f"arn:aws:iam::{account_id}:root")
        )
        if validation.principal_account(self.principal) != account_id:
            raise InvalidInput(f"Principal {self.principal} is not of account {account_id}")

    # -- helpers ----------------------------------------------------------
    @contextmanager
    def _tx(self) -> Iterator[Session]:
        """One cloud API call; `call_delay` emulates a slower cloud (demos, crash tests)."""
        if self.cloud.call_delay:
            time.sleep(self.cloud.call_delay)
        with self.cloud.tx() as session:
            yield session

    def _own(self, s: Session, model: type[M], key: str, what: str) -> M:
        row = s.get(model, key)
        owner = getattr(row, "account_id", None)
        if isinstance(row, LcSubnet | LcSecurityGroup):  # owned through their VPC
            vpc = s.get(LcVpc, row.vpc_id)
            owner = vpc.account_id if vpc else None
        if row is None or owner != self.account_id:
            raise NotFound(f"{what} {key!r} does not exist in account {self.account_id}")
        return row

    def _by_token(self, s: Session, model: Any, token: str | None) -> Any:
        """The resource an earlier create with this client token made, if any."""
        if not token:
            return None
        return s.scalar(
            select(model).where(model.account_id == self.account_id, model.client_token == token)
        )

    def _regional(self, model: Any) -> Any:
        """A select of this account's rows of `model` in this region."""
        return select(model).where(model.account_id == self.account_id, model.region == self.region)

    def _arn(self, kind: str, rest: str) -> str:
        return f"arn:aws:elasticloadbalancing:{self.region}:{self.account_id}:{kind}/{rest}"

    # -- VPCs, subnets, security groups -----------------------------------
    def create_vpc(self, cidr: str, tags: c.Tags | None = None) -> LcVpc:
        try:
            cidr = network.cidr(cidr)
        except ValueError as error:
            raise InvalidInput(str(error)) from None
        with self._tx() as s:
            used = set(s.scalars(select(LcVpc.net_index)))
            free = next((i for i in range(network.MAX_VPCS) if i not in used), None)
            if free is None:
                raise Conflict(f"The local cloud holds at most {network.MAX_VPCS} VPCs")
            vpc = LcVpc(
                id=rules.new_id("vpc"),
                account_id=self.account_id,
                region=self.region,
                cidr=cidr,
                net_index=free,
                tags=_tags(tags),
            )
            s.add(vpc)
            return vpc

    def delete_vpc(self, vpc_id: str) -> None:
        with self._tx() as s:
            vpc = self._own(s, LcVpc, vpc_id, "VPC")
            if s.scalar(
                select(LcEndpoint.id)
                .where(LcEndpoint.vpc_id == vpc_id, LcEndpoint.state != "deleted")
                .limit(1)
            ):
                raise Conflict(f"VPC {vpc_id} still has interface endpoints; delete them first")
            for endpoint in s.scalars(select(LcEndpoint).where(LcEndpoint.vpc_id == vpc_id)):
                s.delete(endpoint)
            s.delete(vpc)

    def describe_vpcs(self) -> list[LcVpc]:
        with self._tx() as s:
            return list(s.scalars(self._regional(LcVpc)))

    def create_subnet(self, vpc_id: str, az_id: str, cidr: str | None = None) -> LcSubnet:
        rules.az_in_region(self.region, validation.az_id(az_id))
        with self._tx() as s:
            vpc = self._own(s, LcVpc, vpc_id, "VPC")
            count = s.scalar(select(func.count()).where(LcSubnet.vpc_id == vpc_id)) or 0
            if count >= network.MAX_SUBNETS - 1:
                raise Conflict(f"VPC {vpc_id} has the most subnets the local cloud allows")
            index = count + 1
            subnet = LcSubnet(
                id=rules.new_id("subnet"),
                vpc_id=vpc_id,
                az_id=az_id,
                cidr=cidr or network.subnet_range(vpc.net_index, index),
                net_index=index,
            )
            s.add(subnet)
            return subnet

    def describe_subnets(self, vpc_id: str | None = None) -> list[tuple[LcSubnet, str]]:
        """Subnets with their private address range on this host."""
        with self._tx() as s:
            query = (
                select(LcSubnet, LcVpc)
                .join(LcVpc, LcSubnet.vpc_id == LcVpc.id)
                .where(LcVpc.account_id == self.account_id, LcVpc.region == self.region)
            )
            if vpc_id:
                query = query.where(LcVpc.id == vpc_id)
            return [
                (sub, network.subnet_range(vpc.net_index, sub.net_index))
                for sub, vpc in s.execute(query).all()
            ]

    def vpc_subnets(self, vpc_id: str) -> list[c.Subnet]:
        with self._tx() as s:
            self._own(s, LcVpc, vpc_id, "VPC")
        return [
            c.Subnet(id=sub.id, vpc_id=sub.vpc_id, az_id=sub.az_id, cidr=cidr)
            for sub, cidr in self.describe_subnets(vpc_id)
        ]

    def client_host(self, endpoint: c.Endpoint) -> str:
        # Local endpoint DNS names resolve nowhere; clients use the first private address.
        return endpoint.addresses[0].address if endpoint.addresses else endpoint.dns_name

    def endpoint_ingress(self, endpoint_id: str) -> list[tuple[str, int, int]] | None:
        # The emulator sees every account; the validator may check the consumer's rules.
        with self._tx() as s:
            ep = s.get(LcEndpoint, endpoint_id)
            if ep is None:
                return None
            return [
                (rule["cidr"], int(rule["from_port"]), int(rule["to_port"]))
                for group_id in ep.security_group_ids
                if (group := s.get(LcSecurityGroup, group_id)) is not None
                for rule in group.ingress
            ]

    def probe_source(self, endpoint: c.Endpoint) -> str | None:
        # The last host address of the endpoint's subnet: inside the consumer's VPC.
        if not endpoint.addresses:
            return None
        return endpoint.addresses[0].address.rsplit(".", 1)[0] + ".254"

    def create_security_group(self, vpc_id: str, name: str) -> LcSecurityGroup:
        with self._tx() as s:
            self._own(s, LcVpc, vpc_id, "VPC")
            group = LcSecurityGroup(
                id=rules.new_id("sg"), vpc_id=vpc_id, name=name[:255], ingress=[]
            )
            s.add(group)
            return group

    def authorize_ingress(
        self, group_id: str, cidr: str, from_port: int, to_port: int
    ) -> LcSecurityGroup:
        try:
            cidr = network.cidr(cidr)
        except ValueError as error:
            raise InvalidInput(str(error)) from None
        if not 0 <= from_port <= to_port <= 65535:
            raise InvalidInput(f"Port range {from_port}-{to_port}: need 0 <= FROM <= TO <= 65535")
        with self._tx() as s:
            group = self._own(s, LcSecurityGroup, group_id, "Security group")
            rule = {"cidr": cidr, "from_port": from_port, "to_port": to_port}
            if rule not in group.ingress:
                group.ingress = [*group.ingress, rule]
            return group

    def describe_security_groups(self) -> list[LcSecurityGroup]:
        with self._tx() as s:
            return list(
                s.scalars(
                    select(LcSecurityGroup)
                    .join(LcVpc, LcSecurityGroup.vpc_id == LcVpc.id)
                    .where(LcVpc.account_id == self.account_id)
                )
            )

    # -- target groups ----------------------------------------------------
    def create_target_group(
        self,
        *,
        name: str,
        port: int,
        health_check: rules.HealthCheck | None = None,
        proxy_protocol_v2: bool = False,
        tags: c.Tags | None = None,
        client_token: str | None = None,
        deregistration_delay: float = 300.0,
        vpc_id: str | None = None,  # local targets are host:port anywhere on this host
    ) -> c.TargetGroup:
        hc = health_check or rules.HealthCheck()
        if not 1 <= port <= 65535:
            raise InvalidInput(f"Target group port {port}: accepted 1-65535")
        if not 1 <= len(name) <= 32:
            raise InvalidInput(f"Target group name {name!r}: accepted 1-32 characters")
        with self._tx() as s:
            if (found := self._by_token(s, LcTargetGroup, client_token)) is not None:
                return tg_view(found)
            if s.scalar(
                select(LcTargetGroup).where(
                    LcTargetGroup.account_id == self.account_id,
                    LcTargetGroup.region == self.region,
                    LcTargetGroup.name == name,
                )
            ):
                raise Conflict(f"A target group named {name!r} already exists")
            tg = LcTargetGroup(
                arn=self._arn("targetgroup", f"{name}/{_hex(16)}"),
                name=name,
                account_id=self.account_id,
                region=self.region,
                port=port,
                hc_interval=hc.interval,
                hc_timeout=hc.timeout,
                hc_healthy_threshold=hc.healthy_threshold,
                hc_unhealthy_threshold=hc.unhealthy_threshold,
                hc_port=hc.port,
                deregistration_delay=deregistration_delay,
                proxy_protocol_v2=proxy_protocol_v2,
                tags=_tags(tags),
                client_token=client_token,
            )
            s.add(tg)
            return tg_view(tg)

    def describe_target_groups(self) -> list[c.TargetGroup]:
        with self._tx() as s:
            return [tg_view(tg) for tg in s.scalars(self._regional(LcTargetGroup))]

    def register_targets(self, arn: str, targets: Sequence[c.Target]) -> None:
        with self._tx() as s:
            self._own(s, LcTargetGroup, arn, "Target group")
            for target in targets:
                if not 1 <= target.port <= 65535:
                    raise InvalidInput(f"Target port {target.port}: accepted 1-65535")
                row = s.scalar(
                    select(LcTarget).where(
                        LcTarget.target_group_arn == arn,
                        LcTarget.host == target.host,
                        LcTarget.port == target.port,
                    )
                )
                if row is None:
                    s.add(
                        LcTarget(
                            target_group_arn=arn,
                            host=target.host,
                            port=target.port,
                            state="initial",
                            reason="Elb.RegistrationInProgress",
                        )
                    )
                elif row.drain_until is not None:  # re-registered while draining
                    row.drain_until, row.state = None, "initial"

    def deregister_targets(self, arn: str, targets: Sequence[c.Target]) -> None:
        with self._tx() as s:
            tg = self._own(s, LcTargetGroup, arn, "Target group")
            for target in targets:
                row = s.scalar(
                    select(LcTarget).where(
                        LcTarget.target_group_arn == arn,
                        LcTarget.host == target.host,
                        LcTarget.port == target.port,
                    )
                )
                if row is not None and row.drain_until is None:
                    row.state, row.reason = "draining", "Target.DeregistrationInProgress"
                    row.drain_until = utcnow() + timedelta(seconds=tg.deregistration_delay)

    def describe_target_health(self, arn: str) -> list[c.TargetHealthView]:
        with self._tx() as s:
            self._own(s, LcTargetGroup, arn, "Target group")
            return self._target_health(s, arn)

    def _target_health(self, s: Session, arn: str) -> list[c.TargetHealthView]:
        used = (
            s.scalar(select(LcListener.arn).where(LcListener.target_group_arn == arn).limit(1))
            is not None
        )
        rows = s.scalars(
            select(LcTarget).where(LcTarget.target_group_arn == arn).order_by(LcTarget.id)
        ).all()
        return [
            c.TargetHealthView(
                target=c.Target(t.host, t.port),
                state=t.state if used or t.state == "draining" else "unused",
                reason=t.reason if used else "Target.NotInUse",
            )
            for t in rows
        ]

    def service_listeners(self, service_id: str) -> list[c.ServiceListener] | None:
        # The emulator sees every account; a consumer's validator may look behind the service.
        with self._tx() as s:
            svc = s.get(LcEndpointService, service_id)
            if svc is None:
                return []
            listeners = s.scalars(
                select(LcListener)
                .where(LcListener.load_balancer_arn.in_(svc.load_balancer_arns))
                .order_by(LcListener.port)
            ).all()
            result = []
            for listener in listeners:
                tg = s.get(LcTargetGroup, listener.target_group_arn)
                result.append(
                    c.ServiceListener(
                        port=listener.port,
                        target_group=tg.name if tg else listener.target_group_arn,
                        targets=tuple(self._target_health(s, listener.target_group_arn)),
                    )
                )
            return result

    def delete_target_group(self, arn: str) -> None:
        with self._tx() as s:
            tg = self._own(s, LcTargetGroup, arn, "Target group")
            if s.scalar(select(LcListener.arn).where(LcListener.target_group_arn == arn)):
                raise Conflict(
                    f"Target group {tg.name} is in use by a listener; delete the listener first"
                )
            s.delete(tg)

    # -- load balancers and listeners ------------------------------------
    def create_load_balancer(
        self,
        *,
        name: str,
        subnet_ids: Sequence[str],
        tags: c.Tags | None = None,
        client_token: str | None = None,
    ) -> c.LoadBalancer:
        if not 1 <= len(name) <= 32:
            raise InvalidInput(f"Load balancer name {name!r}: accepted 1-32 characters")
        if not subnet_ids:
            raise InvalidInput("A load balancer needs at least one subnet")
        with self._tx() as s:
            if (found := self._by_token(s, LcLoadBalancer, client_token)) is not None:
                return lb_view(found)
            subnets = [self._own(s, LcSubnet, sid, "Subnet") for sid in subnet_ids]
            azs = [sub.az_id for sub in subnets]
            if len(set(azs)) != len(azs):
                raise InvalidInput(
                    f"A load balancer takes at most one subnet per AZ; got AZ IDs {', '.join(azs)}"
                )
            if s.scalar(
                select(LcLoadBalancer).where(
                    LcLoadBalancer.account_id == self.account_id,
                    LcLoadBalancer.region == self.region,
                    LcLoadBalancer.name == name,
                )
            ):
                raise Conflict(f"A load balancer named {name!r} already exists")
            lb = LcLoadBalancer(
                arn=self._arn("loadbalancer", f"net/{name}/{_hex(16)}"),
                name=name,
                account_id=self.account_id,
                region=self.region,
                subnet_ids=list(subnet_ids),
                az_ids=azs,
                state="active",
                tags=_tags(tags),
                client_token=client_token,
            )
            s.add(lb)
            return lb_view(lb)

    def describe_load_balancer(self, arn: str) -> c.LoadBalancer:
        with self._tx() as s:
            return lb_view(self._own(s, LcLoadBalancer, arn, "Load balancer"))

    def describe_load_balancers(self) -> list[c.LoadBalancer]:
        with self._tx() as s:
            return [lb_view(lb) for lb in s.scalars(self._regional(LcLoadBalancer))]

    def delete_load_balancer(self, arn: str) -> None:
        with self._tx() as s:
            lb = self._own(s, LcLoadBalancer, arn, "Load balancer")
            services = [
                svc
                for svc in s.scalars(select(LcEndpointService))
                if arn in svc.load_balancer_arns and svc.state != "Deleted"
            ]
            if services:
                raise Conflict(
                    f"Load balancer {lb.name} is used by endpoint service "
                    f"{services[0].id}; delete the endpoint service first"
                )
            s.delete(lb)

    def create_listener(
        self, *, load_balancer_arn: str, port: int, target_group_arn: str
    ) -> c.Listener:
        if not 1 <= port <= 65535:
            raise InvalidInput(f"Listener port {port}: accepted 1-65535")
        with self._tx() as s:
            lb = self._own(s, LcLoadBalancer, load_balancer_arn, "Load balancer")
            self._own(s, LcTargetGroup, target_group_arn, "Target group")
            existing = s.scalar(
                select(LcListener).where(
                    LcListener.load_balancer_arn == load_balancer_arn, LcListener.port == port
                )
            )
            if existing is not None:
                if existing.target_group_arn == target_group_arn:
                    return listener_view(existing)  # the same listener again: idempotent
                raise Conflict(f"Load balancer {lb.name} already has a listener on port {port}")
            listener = LcListener(
                arn=lb.arn.replace(":loadbalancer/", ":listener/") + f"/{_hex(16)}",
                load_balancer_arn=load_balancer_arn,
                port=port,
                target_group_arn=target_group_arn,
            )
            s.add(listener)
            return listener_view(listener)

    def describe_listeners(self, load_balancer_arn: str) -> list[c.Listener]:
        with self._tx() as s:
            self._own(s, LcLoadBalancer, load_balancer_arn, "Load balancer")
            return [
                listener_view(li)
                for li in s.scalars(
                    select(LcListener)
                    .where(LcListener.load_balancer_arn == load_balancer_arn)
                    .order_by(LcListener.port)
                )
            ]

    def delete_listener(self, arn: str) -> None:
        with self._tx() as s:
            listener = s.get(LcListener, arn)
            if listener is None:
                raise NotFound(f"Listener {arn!r} does not exist")
            self._own(s, LcLoadBalancer, listener.load_balancer_arn, "Load balancer")
            s.delete(listener)

    # -- endpoint services ------------------------------------------------
    def _service_view(self, s: Session, svc: LcEndpointService) -> c.EndpointService:
        azs: list[str] = []
        for arn in svc.load_balancer_arns:
            lb = s.get(LcLoadBalancer, arn)
            azs += [az for az in (lb.az_ids if lb else []) if az not in azs]
        return c.EndpointService(
            id=svc.id,
            name=svc.name,
            region=svc.region,
            state=svc.state,
            acceptance_required=svc.acceptance_required,
            load_balancer_arns=tuple(svc.load_balancer_arns),
            az_ids=tuple(sorted(azs)),
            principals=tuple(svc.principals),
            tags=dict(svc.tags),
        )

    def create_endpoint_service(
        self,
        *,
        load_balancer_arns: Sequence[str],
        acceptance_required: bool = True,
        tags: c.Tags | None = None,
        client_token: str | None = None,
    ) -> c.EndpointService:
        if not load_balancer_arns:
            raise InvalidInput("An endpoint service needs a network load balancer")
        with self._tx() as s:
            if (found := self._by_token(s, LcEndpointService, client_token)) is not None:
                return self._service_view(s, found)
            for arn in load_balancer_arns:
                self._own(s, LcLoadBalancer, arn, "Load balancer")
            service_id = f"vpce-svc-{_hex(17)}"
            svc = LcEndpointService(
                id=service_id,
                name=f"com.{SERVICE_PROVIDER}.vpce.{self.region}.{service_id}",
                account_id=self.account_id,
                region=self.region,
                load_balancer_arns=list(load_balancer_arns),
                acceptance_required=acceptance_required,
                state=rules.ServiceState.available,
                principals=[],
                tags=_tags(tags),
                client_token=client_token,
            )
            s.add(svc)
            s.flush()
            return self._service_view(s, svc)

    def describe_endpoint_service(self, service_id: str) -> c.EndpointService:
        with self._tx() as s:
            return self._service_view(
                s, self._own(s, LcEndpointService, service_id, "Endpoint service")
            )

    def describe_endpoint_services(self) -> list[c.EndpointService]:
        with self._tx() as s:
            return [
                self._service_view(s, svc)
                for svc in s.scalars(
                    self._regional(LcEndpointService).where(
                        LcEndpointService.state != rules.ServiceState.deleted
                    )
                )
            ]

    def find_endpoint_service(self, name: str) -> c.EndpointService | None:
        validation.endpoint_service_name(name)
        with self._tx() as s:
            svc = s.scalar(select(LcEndpointService).where(LcEndpointService.name == name))
            if svc is None or svc.region != self.region or svc.state != "Available":
                return None
            return self._service_view(s, svc)

    def modify_endpoint_service_permissions(
        self, service_id: str, *, add: Sequence[str] = (), remove: Sequence[str] = ()
    ) -> None:
        for principal in [*add, *remove]:
            validation.principal(principal)
        with self._tx() as s:
            svc = self._own(s, LcEndpointService, service_id, "Endpoint service")
            current = [p for p in svc.principals if p not in remove]
            svc.principals = current + [p for p in dict.fromkeys(add) if p not in current]

    def _connection(self, s: Session, service_id: str, endpoint_id: str) -> LcEndpoint:
        ep = s.get(LcEndpoint, endpoint_id)
        if ep is None or ep.service_id != service_id:
            raise NotFound(f"Endpoint {endpoint_id!r} is not connected to {service_id}")
        return ep

    def describe_endpoint_connections(self, service_id: str) -> list[c.Endpoint]:
        with self._tx() as s:
            self._own(s, LcEndpointService, service_id, "Endpoint service")
            return [
                endpoint_view(ep)
                for ep in s.scalars(
                    select(LcEndpoint)
                    .where(LcEndpoint.service_id == service_id, LcEndpoint.state != "deleted")
                    .order_by(LcEndpoint.created_at)
                )
            ]

    def _move_connections(self, service_id: str, endpoint_ids: Sequence[str], event: str) -> None:
        with self._tx() as s:
            self._own(s, LcEndpointService, service_id, "Endpoint service")
            for endpoint_id in endpoint_ids:
                ep = self._connection(s, service_id, endpoint_id)
                ep.state = rules.move_endpoint(rules.EndpointState(ep.state), event)
                ep.reason = "rejected by the service owner" if event == "reject" else ""

    def accept_endpoint_connections(self, service_id: str, endpoint_ids: Sequence[str]) -> None:
        self._move_connections(service_id, endpoint_ids, "accept")

    def reject_endpoint_connections(self, service_id: str, endpoint_ids: Sequence[str]) -> None:
        self._move_connections(service_id, endpoint_ids, "reject")

    def delete_endpoint_service(self, service_id: str) -> None:
        with self._tx() as s:
            svc = self._own(s, LcEndpointService, service_id, "Endpoint service")
            states = [
                rules.EndpointState(st)
                for st in s.scalars(
                    select(LcEndpoint.state).where(LcEndpoint.service_id == service_id)
                )
            ]
            rules.can_delete_service(states)
            s.delete(svc)

    # -- interface endpoints ---------------------------------------------
    def create_endpoint(
        self,
        *,
        vpc_id: str,
        service_name: str,
        subnet_ids: Sequence[str],
        security_group_ids: Sequence[str] = (),
        tags: c.Tags | None = None,
        client_token: str | None = None,
    ) -> c.Endpoint:
        validation.endpoint_service_name(service_name)
        if not subnet_ids:
            raise InvalidInput("An interface endpoint needs at least one subnet")
        with self._tx() as s:
            if (found := self._by_token(s, LcEndpoint, client_token)) is not None:
                return endpoint_view(found)
            vpc = self._own(s, LcVpc, vpc_id, "VPC")
            subnets = [self._own(s, LcSubnet, sid, "Subnet") for sid in subnet_ids]
            if any(sub.vpc_id != vpc_id for sub in subnets):
                raise InvalidInput(f"Every subnet must be in VPC {vpc_id}")
            groups = [
                self._own(s, LcSecurityGroup, gid, "Security group") for gid in security_group_ids
            ]
            if any(g.vpc_id != vpc_id for g in groups):
                raise InvalidInput(f"Every security group must be in VPC {vpc_id}")
            svc = s.scalar(select(LcEndpointService).where(LcEndpointService.name == service_name))
            if svc is None or svc.region != self.region or svc.state != "Available":
                raise NotFound(f"Endpoint service {service_name} does not exist in {self.region}")
            if (
                "*" not in svc.principals
                and self.principal not in svc.principals
                and (f"arn:aws:iam::{self.account_id}:root" not in svc.principals)
            ):
                raise Forbidden(
                    f"Principal {self.principal} is not allowed on endpoint service "
                    f"{svc.id}; its owner must add it to the allowed principals"
                )
            service_azs = set(self._service_view(s, svc).az_ids)
            usable = [sub for sub in subnets if sub.az_id in service_azs]
            if not usable:
                raise InvalidInput(
                    f"None of the chosen subnets is in an AZ of endpoint service {svc.id}; "
                    f"subnets are in {', '.join(sorted({x.az_id for x in subnets}))}, the "
                    f"service is available in {', '.join(sorted(service_azs)) or 'no AZ'}"
                )
            endpoint_id = rules.new_id("vpce")
            addresses = []
            for sub in usable:
                if sub.next_host > network.MAX_HOSTS:
                    raise Conflict(f"Subnet {sub.id} has no free addresses left")
                addresses.append(
                    {
                        "subnet_id": sub.id,
                        "az_id": sub.az_id,
                        "address": network.host_address(
                            vpc.net_index, sub.net_index, sub.next_host
                        ),
                    }
                )
                sub.next_host += 1
            ep = LcEndpoint(
                id=endpoint_id,
                account_id=self.account_id,
                principal=self.principal,
                region=self.region,
                vpc_id=vpc_id,
                service_id=svc.id,
                service_name=svc.name,
                subnet_ids=[sub.id for sub in usable],
                security_group_ids=list(security_group_ids),
                addresses=addresses,
                dns_name=f"{endpoint_id}-{_hex(8)}.{svc.id}.{self.region}.vpce.privlink.internal",
                state=rules.initial_endpoint_state(svc.acceptance_required),
                tags=_tags(tags),
                client_token=client_token,
            )
            s.add(ep)
            try:
                s.flush()
            except IntegrityError:  # a concurrent create with the same token won
                s.rollback()
                raise Conflict(
                    "A create with this client token is in progress; retry to get its endpoint"
                ) from None
            return endpoint_view(ep)

    def describe_endpoint(self, endpoint_id: str) -> c.Endpoint:
        with self._tx() as s:
            ep = self._own(s, LcEndpoint, endpoint_id, "Endpoint")
            self._fail_if_service_gone(s, ep)
            return endpoint_view(ep)

    def describe_endpoints(self) -> list[c.Endpoint]:
        with self._tx() as s:
            rows = s.scalars(
                self._regional(LcEndpoint)
                .where(LcEndpoint.state != "deleted")
                .order_by(LcEndpoint.created_at)
            ).all()
            for ep in rows:
                self._fail_if_service_gone(s, ep)
            return [endpoint_view(ep) for ep in rows]

    def _fail_if_service_gone(self, s: Session, ep: LcEndpoint) -> None:
        if (
            ep.state in rules.LIVE_CONNECTION_STATES
            and s.get(LcEndpointService, ep.service_id) is None
        ):
            ep.state = rules.EndpointState.failed
            ep.reason = f"endpoint service {ep.service_id} no longer exists"

    def delete_endpoint(self, endpoint_id: str) -> None:
        with self._tx() as s:
            ep = self._own(s, LcEndpoint, endpoint_id, "Endpoint")
            if ep.state == "deleted":
                return
            ep.state = rules.move_endpoint(rules.EndpointState(ep.state), "delete")

    def find_by_tags(self, kind: str, tags: c.Tags) -> list[str]:
        model = KINDS.get(kind)
        if model is None:
            raise InvalidInput(f"Unknown resource kind {kind!r}; known: {', '.join(KINDS)}")
        wanted = _tags(tags)
        key = "arn" if hasattr(model, "arn") else "id"
        with self._tx() as s:
            rows = s.scalars(self._regional(model)).all()
            return [
                getattr(r, key)
                for r in rows
                if all(r.tags.get(k) == v for k, v in wanted.items())
                and getattr(r, "state", "") not in ("deleted", "Deleted")
            ]

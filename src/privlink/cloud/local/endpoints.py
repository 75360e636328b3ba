"""Local cloud: endpoint services (the provider's side of PrivateLink), their
connections, and interface endpoints (the consumer's side)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from privlink.cloud import contract as c
from privlink.cloud.local import dialects, network
from privlink.cloud.local.account import AccountBase
from privlink.cloud.local.views import clean_tags, endpoint_view, hex_id, service_view
from privlink.domain import cloud as rules
from privlink.domain.errors import Conflict, InvalidInput, NotFound
from privlink.domain.paging import Page
from privlink.store.cloud_tables import (
    LcEndpoint,
    LcEndpointService,
    LcLoadBalancer,
    LcSecurityGroup,
    LcSubnet,
    LcVpc,
)


class Endpoints(AccountBase):
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
                return service_view(s, found)
            for arn in load_balancer_arns:
                self._own(s, LcLoadBalancer, arn, "Load balancer")
            self._within_quota(s, LcEndpointService, "endpoint services")
            service_id = f"vpce-svc-{hex_id(17)}"
            svc = LcEndpointService(
                id=service_id,
                name=dialects.service_name(self.region, self.account_id, service_id),
                account_id=self.account_id,
                region=self.region,
                load_balancer_arns=list(load_balancer_arns),
                acceptance_required=acceptance_required,
                state=rules.ServiceState.available,
                principals=[],
                tags=clean_tags(tags),
                client_token=client_token,
            )
            s.add(svc)
            s.flush()
            return service_view(s, svc)

    def describe_endpoint_service(self, service_id: str) -> c.EndpointService:
        with self._tx() as s:
            return service_view(s, self._own(s, LcEndpointService, service_id, "Endpoint service"))

    def describe_endpoint_services(self, page: Page | None = None) -> list[c.EndpointService]:
        with self._tx() as s:
            live = self._regional(LcEndpointService).where(
                LcEndpointService.state != rules.ServiceState.deleted
            )
            return [
                service_view(s, svc)
                for svc in s.scalars(self._paged(live, LcEndpointService.id, page))
            ]

    def find_endpoint_service(self, name: str) -> c.EndpointService | None:
        dialects.check_service_name(self.region, name)
        with self._tx() as s:
            svc = s.scalar(select(LcEndpointService).where(LcEndpointService.name == name))
            if svc is None or svc.region != self.region or svc.state != "Available":
                return None
            return service_view(s, svc)

    def modify_endpoint_service_permissions(
        self, service_id: str, *, add: Sequence[str] = (), remove: Sequence[str] = ()
    ) -> None:
        for principal in [*add, *remove]:
            dialects.check_consumer(self.region, principal)
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
            return self._connections(s, LcEndpoint.service_id == service_id)

    def list_endpoint_connections(self) -> list[c.Endpoint]:
        mine = self._regional(LcEndpointService).with_only_columns(LcEndpointService.id)
        with self._tx() as s:
            return self._connections(s, LcEndpoint.service_id.in_(mine))

    @staticmethod
    def _connections(s: Session, to: Any) -> list[c.Endpoint]:
        query = select(LcEndpoint).where(to, LcEndpoint.state != "deleted")
        return [endpoint_view(ep) for ep in s.scalars(query.order_by(LcEndpoint.created_at))]

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

    def create_endpoint(
        self,
        *,
        vpc_id: str,
        service_name: str,
        subnet_ids: Sequence[str],
        security_group_ids: Sequence[str] = (),
        tags: c.Tags | None = None,
        client_token: str | None = None,
        private_dns_enabled: bool = False,
        address: str | None = None,
    ) -> c.Endpoint:
        provider = rules.provider_of(self.region)
        dialects.check_service_name(self.region, service_name)
        if not subnet_ids:
            raise InvalidInput("An interface endpoint needs at least one subnet")
        if provider != "aws" and len(subnet_ids) != 1:
            raise InvalidInput(f"An {provider} private endpoint is in exactly one subnet")
        if address is not None and provider == "aws":
            raise InvalidInput("An AWS interface endpoint takes its addresses from its subnets")
        with self._tx() as s:
            if (found := self._by_token(s, LcEndpoint, client_token)) is not None:
                return endpoint_view(found)
            vpc = self._own(s, LcVpc, vpc_id, "VPC")
            self._within_quota(s, LcEndpoint, "interface endpoints")
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
                raise rules.service_missing(service_name, self.region)
            owner = dialects.owner(self.region, self.account_id, self.principal)
            state = dialects.check_may_connect(
                self.region, svc.principals, owner, svc.name, svc.acceptance_required
            )
            if private_dns_enabled and svc.private_dns_state != "verified":
                raise InvalidInput(
                    f"Endpoint service {svc.id} has no verified private DNS name; create "
                    "the endpoint without private DNS, or ask its owner to verify the name"
                )
            usable = subnets
            if provider == "aws":  # zonal: one address in each AZ both sides have
                shared = rules.shared_azs(
                    svc.id,
                    service_view(s, svc).az_ids,
                    [sub.az_id for sub in subnets],
                    "the chosen subnets are",
                )
                usable = [sub for sub in subnets if sub.az_id in shared]
            endpoint_id = rules.new_id("vpce")
            addresses = [
                {
                    "subnet_id": sub.id,
                    "az_id": sub.az_id,
                    "address": self._address(s, vpc, sub, address),
                }
                for sub in usable
            ]
            ep = LcEndpoint(
                id=endpoint_id,
                account_id=self.account_id,
                principal=owner,
                region=self.region,
                vpc_id=vpc_id,
                service_id=svc.id,
                service_name=svc.name,
                subnet_ids=[sub.id for sub in usable],
                security_group_ids=list(security_group_ids),
                addresses=addresses,
                dns_name=f"{endpoint_id}-{hex_id(8)}.{svc.id}.{self.region}.vpce.privlink.internal",
                state=state,
                tags=clean_tags(tags),
                client_token=client_token,
                private_dns_enabled=private_dns_enabled,
            )
            s.add(ep)
            s.flush()  # a concurrent create with the same token fails here (see _tx)
            return endpoint_view(ep)

    @staticmethod
    def _address(s: Session, vpc: LcVpc, sub: LcSubnet, wanted: str | None) -> str:
        """The endpoint's address in `sub`: `wanted` if free and inside it, else the next."""
        taken = {
            a["address"]
            for addresses in s.scalars(
                select(LcEndpoint.addresses).where(
                    LcEndpoint.vpc_id == vpc.id, LcEndpoint.state != "deleted"
                )
            )
            for a in addresses
        }
        if wanted is not None:
            inside = network.subnet_range(vpc.net_index, sub.net_index)
            address = dialects.address_in(wanted, inside, sub.id)
            if address in taken:
                raise Conflict(f"Address {address} is already used in subnet {sub.id}")
            return address
        while sub.next_host <= network.MAX_HOSTS:
            address = network.host_address(vpc.net_index, sub.net_index, sub.next_host)
            sub.next_host += 1
            if address not in taken:
                return address
        raise Conflict(f"Subnet {sub.id} has no free addresses left")

    def describe_endpoint(self, endpoint_id: str) -> c.Endpoint:
        with self._tx() as s:
            ep = self._own(s, LcEndpoint, endpoint_id, "Endpoint")
            self._fail_if_service_gone(s, ep)
            return endpoint_view(ep)

    def describe_endpoints(self, page: Page | None = None) -> list[c.Endpoint]:
        with self._tx() as s:
            live = self._regional(LcEndpoint).where(LcEndpoint.state != "deleted")
            rows = s.scalars(self._paged(live, LcEndpoint.id, page)).all()
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

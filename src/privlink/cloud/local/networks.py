"""Local cloud: VPCs, subnets and security groups of an account."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from privlink.cloud import contract as c
from privlink.cloud.local import network
from privlink.cloud.local.account import AccountBase
from privlink.cloud.local.views import clean_tags
from privlink.domain import cloud as rules
from privlink.domain import validation
from privlink.domain.errors import Conflict, InvalidInput
from privlink.store.cloud_tables import (
    LcAccount,
    LcEndpoint,
    LcLoadBalancer,
    LcSecurityGroup,
    LcSubnet,
    LcVpc,
)


class Networks(AccountBase):
    def create_vpc(self, cidr: str, tags: c.Tags | None = None) -> LcVpc:
        try:
            cidr = network.cidr(cidr)
        except ValueError as error:
            raise InvalidInput(str(error)) from None
        with self._tx() as s:
            used = set(s.scalars(select(LcVpc.net_index)))
            free = [i for i in range(network.MAX_VPCS) if i not in used]
            owner = s.get(LcAccount, self.account_id)
            project = owner.project if owner is not None else None
            if project is not None:
                self._check_quota(s, project, len(free))
            if not free:
                raise Conflict(f"The local cloud holds at most {network.MAX_VPCS} VPCs")
            vpc = LcVpc(
                id=rules.new_id("vpc"),
                account_id=self.account_id,
                region=self.region,
                cidr=cidr,
                net_index=free[0],
                tags=clean_tags(tags),
            )
            s.add(vpc)
            return vpc

    def _check_quota(self, s: Session, project: str, free: int) -> None:
        """A tenant's VPCs: at most the quota, and never the platform's reserve."""
        held = s.scalar(
            select(func.count())
            .select_from(LcVpc)
            .join(LcAccount, LcVpc.account_id == LcAccount.id)
            .where(LcAccount.project == project)
        )
        if (held or 0) >= self.cloud.vpc_quota:
            raise Conflict(
                f"Project {project} holds {held} local-cloud VPCs, its quota "
                f"(PRIVLINK_CLOUD_VPC_QUOTA) is {self.cloud.vpc_quota}; delete one first"
            )
        if free <= network.PLATFORM_RESERVE:
            raise Conflict(
                "The local cloud has no VPC range left for customers' accounts (the last "
                f"{network.PLATFORM_RESERVE} are kept for the platform); delete unused VPCs"
            )

    def delete_vpc(self, vpc_id: str) -> None:
        with self._tx() as s:
            vpc = self._own(s, LcVpc, vpc_id, "VPC")
            if s.scalar(
                select(LcEndpoint.id)
                .where(LcEndpoint.vpc_id == vpc_id, LcEndpoint.state != "deleted")
                .limit(1)
            ):
                raise Conflict(f"VPC {vpc_id} still has interface endpoints; delete them first")
            subnets = set(s.scalars(select(LcSubnet.id).where(LcSubnet.vpc_id == vpc_id)))
            self._check_no_load_balancer(s, subnets, f"VPC {vpc_id}")
            for endpoint in s.scalars(select(LcEndpoint).where(LcEndpoint.vpc_id == vpc_id)):
                s.delete(endpoint)
            s.delete(vpc)

    def delete_subnet(self, subnet_id: str) -> None:
        with self._tx() as s:
            subnet = self._own(s, LcSubnet, subnet_id, "Subnet")
            live = s.scalars(
                select(LcEndpoint.subnet_ids).where(
                    LcEndpoint.vpc_id == subnet.vpc_id, LcEndpoint.state != "deleted"
                )
            )
            if any(subnet_id in ids for ids in live):
                raise Conflict(
                    f"Subnet {subnet_id} still has interface endpoints; delete them first"
                )
            self._check_no_load_balancer(s, {subnet_id}, f"Subnet {subnet_id}")
            s.delete(subnet)

    def _check_no_load_balancer(self, s: Session, subnets: set[str], what: str) -> None:
        for lb in s.scalars(self._regional(LcLoadBalancer)):
            if subnets & set(lb.subnet_ids):
                raise Conflict(
                    f"{what} is used by load balancer {lb.name}; delete the load balancer first"
                )

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
            if ep is None or not ep.security_group_ids:
                return None  # no group filters it (Azure's and Google's endpoints here)
            return [
                (rule["cidr"], int(rule["from_port"]), int(rule["to_port"]))
                for group_id in ep.security_group_ids
                if (group := s.get(LcSecurityGroup, group_id)) is not None
                for rule in group.ingress
            ]

    def endpoint_networks(self, endpoint_id: str) -> list[str] | None:
        # The emulator sees every account: an address the customer reports is checked.
        with self._tx() as s:
            ep = s.get(LcEndpoint, endpoint_id)
            vpc = s.get(LcVpc, ep.vpc_id) if ep is not None else None
            if ep is None or vpc is None:
                return None
            subnets = [s.get(LcSubnet, sid) for sid in ep.subnet_ids]
            return [network.subnet_range(vpc.net_index, sub.net_index) for sub in subnets if sub]

    def probe_source(self, endpoint: c.Endpoint) -> str | None:
        # The last host address of the endpoint's subnet: inside the consumer's VPC.
        if not endpoint.addresses:
            return None
        return endpoint.addresses[0].address.rsplit(".", 1)[0] + ".254"

    def create_security_group(self, vpc_id: str, name: str) -> LcSecurityGroup:
        with self._tx() as s:
            self._own(s, LcVpc, vpc_id, "VPC")
            held = s.scalar(select(func.count()).where(LcSecurityGroup.vpc_id == vpc_id)) or 0
            if held >= rules.MAX_SECURITY_GROUPS:
                raise Conflict(
                    f"VPC {vpc_id} holds {held} security groups, the most the local cloud "
                    "allows; delete one first"
                )
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

"""The platform's side of the local cloud: one account, `privlink-platform`."""

from __future__ import annotations

from collections.abc import Sequence

from privlink.cloud import contract as c
from privlink.cloud.local.control import LocalCloud
from privlink.cloud.piecewise import Piecewise
from privlink.domain.cloud import provider_of

PLATFORM_ACCOUNT = "privlink-platform"


class LocalPlatform(c.Platform):
    def __init__(self, cloud: LocalCloud) -> None:
        self.cloud = cloud
        self._account_id: str | None = None

    @property
    def account_id(self) -> str:
        if self._account_id is None:
            self._account_id = self.cloud.ensure_account(PLATFORM_ACCOUNT).id
        return self._account_id

    def driver(self, region: str, principal: str | None = None) -> c.CloudDriver:
        return self.cloud.account(self.account_id, region, principal)

    def publisher(self, region: str) -> c.Publisher | None:
        # Azure's and Google's regions publish whole, on the same resources.
        if provider_of(region) == "aws":
            return None
        return Piecewise(self.driver(region))

    def principal(self, role_name: str) -> str:
        return f"arn:aws:iam::{self.account_id}:role/{role_name}"

    def _network(self, region: str, tag: str, key: str, az_ids: Sequence[str]) -> str:
        # Found again by its tag, so a crash between the calls never makes a second one.
        account = self.cloud.account(self.account_id, region)
        found = [v for v in account.describe_vpcs() if v.tags.get(tag) == key]
        vpc = found[0] if found else account.create_vpc("10.0.0.0/16", tags={tag: key})
        have = {sub.az_id for sub, _cidr in account.describe_subnets(vpc.id)}
        for az in az_ids:
            if az not in have:
                account.create_subnet(vpc.id, az)
        return vpc.id

    def deployment_network(self, region: str, key: str, az_ids: Sequence[str]) -> str:
        return self._network(region, c.DEPLOYMENT_TAG, key, az_ids)

    def project_network(self, region: str, key: str, cidr: str, az_ids: Sequence[str]) -> str:
        # Each local VPC gets its own loopback range; the project's CIDR is informational.
        return self._network(region, c.PROJECT_VPC_TAG, key, az_ids)

    def delete_project_network(self, region: str, key: str) -> None:
        account = self.cloud.account(self.account_id, region)
        for vpc in account.describe_vpcs():
            if vpc.tags.get(c.PROJECT_VPC_TAG) == key:
                account.delete_vpc(vpc.id)

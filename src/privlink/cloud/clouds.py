"""The real clouds side by side: AWS for `aws-` regions, and Azure and Google Cloud for
theirs where the operator configured them. Azure's and Google's services are published
whole (`Publisher`); their project networks are VNets and VPC networks."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from privlink.cloud import contract as c
from privlink.domain.cloud import provider_of
from privlink.domain.errors import InvalidInput

SETTINGS = {
    "azure": "PRIVLINK_AZURE_SUBSCRIPTION_ID (and PRIVLINK_AZURE_RESOURCE_GROUP)",
    "google": "PRIVLINK_GCP_PROJECT (and PRIVLINK_GCP_NAT_SUBNETWORK)",
}


class Provider(Protocol):
    """What Clouds needs of Azure's or Google's side."""

    def publisher(self, region: str) -> Any: ...

    def project_network(self, region: str, key: str, cidr: str) -> str: ...

    def delete_project_network(self, region: str, key: str) -> None: ...


class Clouds(c.Platform):
    def __init__(self, aws: c.Platform, others: dict[str, Callable[[], Provider]]) -> None:
        self.aws = aws
        self._make = others  # made on first use: their SDKs load only when needed
        self._made: dict[str, Provider] = {}

    def _other(self, region: str) -> Provider:
        provider = provider_of(region)
        if provider not in self._made:
            make = self._make.get(provider)
            if make is None:
                raise InvalidInput(
                    f"{region} is a {provider} region and privlink is not configured for "
                    f"{provider}; the operator sets {SETTINGS[provider]}"
                )
            self._made[provider] = make()
        return self._made[provider]

    def driver(self, region: str, principal: str | None = None) -> c.CloudDriver:
        if provider_of(region) != "aws":
            raise InvalidInput(
                f"{region} publishes services whole (Azure, Google): no resource-level driver"
            )
        return self.aws.driver(region, principal)

    def publisher(self, region: str) -> c.Publisher | None:
        if provider_of(region) == "aws":
            return None
        made: c.Publisher = self._other(region).publisher(region)
        return made

    def principal(self, role_name: str) -> str:
        return self.aws.principal(role_name)

    def deployment_network(self, region: str, key: str, az_ids: Sequence[str]) -> str:
        return self.aws.deployment_network(region, key, az_ids)

    def project_network(self, region: str, key: str, cidr: str, az_ids: Sequence[str]) -> str:
        if provider_of(region) == "aws":
            return self.aws.project_network(region, key, cidr, az_ids)
        return self._other(region).project_network(region, key, cidr)

    def delete_project_network(self, region: str, key: str) -> None:
        if provider_of(region) == "aws":
            self.aws.delete_project_network(region, key)
        else:
            self._other(region).delete_project_network(region, key)

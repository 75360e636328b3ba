"""Property tests for the service catalog's validators."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from privlink.domain import catalog
from privlink.domain.cloud import PROVIDERS, provider_of
from privlink.domain.errors import InvalidInput


class TestCatalog:
    @given(st.sampled_from(sorted((p, r) for p, rs in PROVIDERS.items() for r in rs)))
    def test_cloud_names_map_to_regions(self, cloud: tuple[str, str]) -> None:
        provider, region = cloud
        assert catalog.cloud_region(f"{provider}-{region}") == region
        assert catalog.cloud_provider(f"{provider}-{region}") == provider
        assert provider_of(region) == provider

    @given(st.one_of(st.text(max_size=30), st.from_regex(r"(aws|azure|google)-[a-z0-9-]{1,14}")))
    def test_other_cloud_names_are_refused(self, value: str) -> None:
        try:
            region = catalog.cloud_region(value)
        except InvalidInput as error:
            assert "a cloud privlink knows" in error.message
            assert value not in catalog.cloud_names()
        else:
            assert value in catalog.cloud_names()
            assert value.endswith(f"-{region}")

    @given(st.from_regex(r"[a-z0-9.-]{1,40}", fullmatch=True), st.integers(1, 65535))
    def test_nodes(self, host: str, port: int) -> None:
        assert catalog.node(f"{host}:{port}") == (host, port)

    @pytest.mark.parametrize("plan", ["business-4", "premium-6x-16", "dedicated-1"])
    def test_privatelink_plans(self, plan: str) -> None:
        assert catalog.plan_allows_privatelink(plan)

    @pytest.mark.parametrize("plan", ["hobbyist", "startup-4", "free-1"])
    def test_plans_without_privatelink(self, plan: str) -> None:
        assert not catalog.plan_allows_privatelink(plan)

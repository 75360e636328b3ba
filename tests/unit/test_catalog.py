"""Property tests for the service catalog's validators."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from privlink.domain import catalog
from privlink.domain.cloud import REGIONS
from privlink.domain.errors import InvalidInput


class TestCatalog:
    @given(st.sampled_from(sorted(REGIONS)))
    def test_cloud_names_map_to_regions(self, region: str) -> None:
        assert catalog.cloud_region(f"aws-{region}") == region

    @given(st.text(max_size=30))
    def test_other_cloud_names_are_refused(self, value: str) -> None:
        if value.startswith("aws-") and value[4:] in REGIONS:
            return
        try:
            region = catalog.cloud_region(value)
        except InvalidInput as error:
            assert "aws-<region>" in error.message
        else:
            assert value == f"aws-{region}"

    @given(st.from_regex(r"[a-z0-9.-]{1,40}", fullmatch=True), st.integers(1, 65535))
    def test_nodes(self, host: str, port: int) -> None:
        assert catalog.node(f"{host}:{port}") == (host, port)

    @pytest.mark.parametrize("plan", ["business-4", "premium-6x-16", "dedicated-1"])
    def test_privatelink_plans(self, plan: str) -> None:
        assert catalog.plan_allows_privatelink(plan)

    @pytest.mark.parametrize("plan", ["hobbyist", "startup-4", "free-1"])
    def test_plans_without_privatelink(self, plan: str) -> None:
        assert not catalog.plan_allows_privatelink(plan)

"""Plans: tenants send the plan they have (avn does) but only operators change it, to a
plan the catalog knows, and never to one that drops what the service uses."""

from __future__ import annotations

from tests.inbound.conftest import Inbound, register_in_vpc

SERVICE = "/v1/project/alpha/service/kafka-1"
ARN = "arn:aws:iam::123456789012:root"


def plan_of(inbound: Inbound) -> str:
    return str(inbound.call("GET", SERVICE)["service"]["plan"])


class TestPlanChanges:
    def test_a_tenant_sends_its_plan_but_cannot_change_it(self, inbound: Inbound) -> None:
        register_in_vpc(inbound)
        inbound.call("PUT", SERVICE, json={"plan": "business-4"})  # what avn sends
        for wanted in ("dedicated-4", "garbage"):
            refused = inbound.call("PUT", SERVICE, 403, json={"plan": wanted})
            assert "Only the platform operator" in refused["message"]
        assert plan_of(inbound) == "business-4"

    def test_the_operator_changes_plans_the_catalog_knows(self, inbound: Inbound) -> None:
        register_in_vpc(inbound)
        admin = inbound.headers(inbound.admin)
        bad = inbound.client.put(SERVICE, json={"plan": "garbage"}, headers=admin)
        assert bad.status_code == 400
        assert "accepted: a tier" in bad.json()["message"]
        moved = inbound.client.put(SERVICE, json={"plan": "premium-6"}, headers=admin)
        assert moved.status_code == 200, moved.text
        assert plan_of(inbound) == "premium-6"

    def test_a_plan_that_drops_a_live_privatelink_is_refused(self, inbound: Inbound) -> None:
        register_in_vpc(inbound)
        inbound.call("POST", SERVICE + "/privatelink/aws", json={"principals": [ARN]})
        admin = inbound.headers(inbound.admin)
        refused = inbound.client.put(SERVICE, json={"plan": "startup-2"}, headers=admin)
        assert refused.status_code == 409
        assert "AWS PrivateLink" in refused.json()["message"]
        assert plan_of(inbound) == "business-4"

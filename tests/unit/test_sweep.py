"""Which PrivateLinks a region's listing of customer endpoints wakes."""

from __future__ import annotations

from privlink.cloud import contract as c
from privlink.reconcile.sweep import changed

OF_SERVICE = {"vpce-svc-a": "pl-a", "vpce-svc-b": "pl-b"}


def endpoint(endpoint_id: str, service_id: str, state: str) -> c.Endpoint:
    return c.Endpoint(endpoint_id, "", service_id, "", state, "111122223333", (), (), "")


def test_as_recorded_wakes_nothing() -> None:
    recorded = {"pl-a": {"vpce-1": "active"}, "pl-b": {"vpce-2": "pending-user-approval"}}
    listed = [
        endpoint("vpce-1", "vpce-svc-a", "available"),  # "active" is "connected" + healthy
        endpoint("vpce-2", "vpce-svc-b", "pendingAcceptance"),
        endpoint("vpce-3", "vpce-svc-a", "rejected"),  # never recorded
        endpoint("vpce-4", "vpce-svc-z", "pendingAcceptance"),  # not a PrivateLink's
    ]
    assert changed(recorded, OF_SERVICE, listed) == set()


def test_new_moved_and_gone_endpoints_wake_their_privatelink() -> None:
    recorded = {"pl-a": {"vpce-1": "user-approved"}, "pl-b": {"vpce-2": "connected"}}
    moved = [endpoint("vpce-1", "vpce-svc-a", "available")]
    assert changed(recorded, OF_SERVICE, moved) == {"pl-a", "pl-b"}  # vpce-2 is gone
    new = [*moved, endpoint("vpce-2", "vpce-svc-b", "available")]
    new.append(endpoint("vpce-5", "vpce-svc-b", "pendingAcceptance"))
    assert changed(recorded, OF_SERVICE, new) == {"pl-a", "pl-b"}
    assert changed({"pl-a": {"vpce-1": "active"}}, OF_SERVICE, new) == {"pl-b"}  # none recorded

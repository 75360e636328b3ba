"""Target health that moves wakes its PrivateLink (no polling while targets settle): the
data plane reports the change and the object's next step records it (issue 14)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from privlink import demo
from privlink.store.db import make_sessionmaker
from privlink.store.tables import Privatelink, PrivatelinkPort
from privlink.testing import LoopThread
from tests.inbound.conftest import PRINCIPAL, Inbound, active_privatelink, register_in_vpc
from tests.support import free_port, running_app, wait_for


def test_a_node_coming_up_is_recorded_without_polling(tmp_path: Path) -> None:
    ports = {name: free_port() for name in ("broker-0", "broker-1", "broker-2", "registry")}
    nodes = {
        "kafka": [f"127.0.0.1:{ports[f'broker-{i}']}" for i in range(3)],
        "schema_registry": [f"127.0.0.1:{ports['registry']}"],
    }
    # A long resync: only a wake can make the next step come soon.
    with running_app(tmp_path, health_check_interval=1, resync_interval=600) as app:
        inbound = Inbound(client=app.client, token=app.token, admin=app.admin, nodes=nodes)
        register_in_vpc(inbound)
        inbound.call(  # listeners for kafka: its target groups are in use, so checked
            "PUT",
            "/v1/project/alpha/service/kafka-1",
            json={"user_config": {"privatelink_access": {"kafka": True}}},
        )
        inbound.call(
            "POST",
            "/v1/project/alpha/service/kafka-1/privatelink/aws",
            json={"principals": [PRINCIPAL.format(account="123456789012")]},
        )
        sessions = make_sessionmaker(app.engine)

        def look() -> tuple[Privatelink, dict[str, bool]]:
            with sessions() as s:
                pl = s.scalars(select(Privatelink)).one()
                health = {p.unit: p.healthy for p in s.scalars(select(PrivatelinkPort))}
                return pl, health

        def settled() -> bool:
            pl, health = look()
            return pl.state == "active" and pl.next_attempt_at is None and bool(health)

        wait_for(settled)
        assert not any(look()[1].values())  # every node is down; nothing is queued
        loop = LoopThread()
        servers = loop.run(demo.start_nodes((("broker-0", "127.0.0.1", ports["broker-0"]),)))
        try:
            # Its two target groups (the component's, the broker's) turn healthy apart.
            def up() -> list[str]:
                return sorted(u for u, healthy in look()[1].items() if healthy)

            try:
                wait_for(lambda: up() == ["kafka", "kafka-0"], timeout=30)
            except AssertionError:
                raise AssertionError(str(look())) from None
        finally:
            loop.run(demo.stop_nodes(servers))
            loop.close()


def test_a_resource_deleted_out_of_band_wakes_its_privatelink(
    tmp_path: Path, greeting_nodes: dict[str, str]
) -> None:
    """An operator deleting a platform resource in the local cloud is a cloud event: the
    PrivateLink re-creates it at once, not at its next resync (an hour away here)."""
    nodes = {
        "kafka": [greeting_nodes[f"broker-{i}"] for i in range(3)],
        "schema_registry": [greeting_nodes["registry"]],
    }
    with running_app(tmp_path, health_check_interval=1, resync_interval=3600) as app:
        inbound = Inbound(client=app.client, token=app.token, admin=app.admin, nodes=nodes)
        active_privatelink(inbound)
        sessions = make_sessionmaker(app.engine)

        def idle() -> bool:
            with sessions() as s:
                pl = s.scalars(select(Privatelink)).one()
                return pl.next_attempt_at is None and pl.lease_owner is None

        wait_for(idle)
        groups = "/privlink-platform/eu-west-1/target-groups"
        names = {g["name"] for g in inbound.operator_cloud("GET", groups)["target_groups"]}
        gone = next(name for name in names if name.endswith("-10001"))
        # The operator, through the local cloud's API, as `privlink cloud` would.
        inbound.operator_cloud("DELETE", f"{groups}/{gone}")

        def back() -> bool:
            listed = inbound.operator_cloud("GET", groups)["target_groups"]
            return {g["name"] for g in listed} == names

        def said() -> bool:  # recorded by the step that re-made it, after it did
            history = inbound.call("GET", "/v1/project/alpha/events", params={"service": "kafka-1"})
            return any("deleted out of band; re-created" in e["message"] for e in history["events"])

        wait_for(back, timeout=30)
        wait_for(said, timeout=30)

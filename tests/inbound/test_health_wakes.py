"""Target health that moves wakes its PrivateLink (no polling while targets settle): the
data plane reports the change and the object's next step records it (issue 14)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from privlink import demo
from privlink.store.db import make_sessionmaker
from privlink.store.tables import Privatelink, PrivatelinkPort
from privlink.testing import LoopThread
from tests.inbound.conftest import PRINCIPAL, Inbound, register_in_vpc
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
            try:
                wait_for(lambda: look()[1].get("kafka-0"), timeout=30)
            except AssertionError:
                raise AssertionError(str(look())) from None
            assert sorted(u for u, up in look()[1].items() if up) == ["kafka", "kafka-0"]
        finally:
            loop.run(demo.stop_nodes(servers))
            loop.close()

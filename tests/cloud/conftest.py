"""Fixtures for data-plane tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from privlink.cloud.local.control import LocalCloud
from privlink.cloud.local.dataplane import DataPlane
from privlink.store import migrate
from privlink.store.db import make_engine, make_sessionmaker
from privlink.testing import LoopThread
from tests.cloud.harness import DATAPLANE_MODE, REGION, Cloud


@pytest.fixture(params=[0, 2], ids=["in-process", "2-workers"])
def running_cloud(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Cloud]:
    """A local cloud on SQLite with its data plane running in a loop thread, forwarding
    in the test process or in two worker processes."""
    engine = make_engine(f"sqlite:///{tmp_path / 'cloud.db'}")
    migrate.upgrade(engine)
    cloud = LocalCloud(make_sessionmaker(engine))
    cloud.create_account("provider")
    cloud.create_account("customer")
    customer = cloud.account("customer", REGION)
    vpc = customer.create_vpc("10.1.0.0/16")
    subnets = [customer.create_subnet(vpc.id, az).id for az in ("euw1-az1", "euw1-az2")]
    loop = LoopThread()
    dataplane = DataPlane(cloud, mode=DATAPLANE_MODE, workers=request.param, sync_interval=0.1)
    loop.run(dataplane.start())
    world = Cloud(
        loop=loop,
        cloud=cloud,
        dataplane=dataplane,
        provider=cloud.account("provider", REGION),
        customer=customer,
        customer_vpc=vpc.id,
        customer_subnets=subnets,
    )
    yield world
    loop.run(world.dataplane.stop())
    for backend in world.backends:
        if backend.server is not None:
            loop.call(backend.server.close)
    loop.close()
    engine.dispose()

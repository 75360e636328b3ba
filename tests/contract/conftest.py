"""One driver contract, two drivers: each case here runs on the local cloud and on AWS (moto).

Where moto lacks an API (endpoint connections: describe, accept, reject) or ignores a
parameter (client tokens), the AWS side of a case uses botocore's Stubber with
responses shaped like AWS's documented ones.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
from cryptography.fernet import Fernet
from moto import mock_aws
from sqlalchemy.orm import Session, sessionmaker

from privlink.cloud import contract as c
from privlink.cloud.aws import AwsPlatform
from privlink.cloud.local.control import LocalCloud
from privlink.cloud.local.platform import LocalPlatform
from privlink.store import migrate
from privlink.store.db import make_engine, make_sessionmaker
from privlink.store.sealing import Sealer

REGION = "eu-west-1"
AZS = ("euw1-az1", "euw1-az2", "euw1-az3")


@dataclass
class Side:
    name: str  # "local" or "aws"
    platform: c.Platform
    driver: c.CloudDriver
    vpc_id: str
    subnets: list[c.Subnet]


@pytest.fixture(params=["local", "aws"])
def side(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Side]:
    if request.param == "local":
        engine = make_engine(f"sqlite:///{tmp_path / 'cloud.db'}")
        migrate.upgrade(engine)
        platform: c.Platform = LocalPlatform(LocalCloud(make_sessionmaker(engine)))
        yield _side("local", platform)
        engine.dispose()
        return
    with pytest.MonkeyPatch.context() as env, mock_aws():
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
            env.setenv(name, "testing")
        env.delenv("AWS_ENDPOINT_URL", raising=False)
        env.delenv("AWS_PROFILE", raising=False)
        yield _side("aws", AwsPlatform(boto3.Session(region_name=REGION)))


def _side(name: str, platform: c.Platform) -> Side:
    vpc_id = platform.project_network(REGION, "contract", "10.0.0.0/24", AZS)
    driver = platform.driver(REGION)
    return Side(name, platform, driver, vpc_id, driver.vpc_subnets(vpc_id))


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsPlatform]:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield AwsPlatform(boto3.Session(region_name=REGION))


@pytest.fixture
def sessions(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    migrate.upgrade(engine)
    yield make_sessionmaker(engine, Sealer([Fernet.generate_key()]))
    engine.dispose()

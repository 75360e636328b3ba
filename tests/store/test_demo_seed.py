"""The demo seed: the project and token once, each demo service whenever it is missing."""

from __future__ import annotations

from cryptography.fernet import Fernet
from sqlalchemy import Engine, delete, select

from privlink import demo
from privlink.services import demo_seed
from privlink.store.db import make_sessionmaker
from privlink.store.sealing import Sealer
from privlink.store.tables import ApiToken, Project, Service


def test_seeds_once_and_adds_missing_services(migrated: Engine) -> None:
    sessions = make_sessionmaker(migrated, Sealer([Fernet.generate_key()]))
    with sessions() as session, session.begin():
        secret = demo_seed.seed(session)
    assert secret
    with sessions() as session, session.begin():
        assert demo_seed.seed(session) is None  # no second token
        # An install seeded before demo-mqtt existed:
        session.execute(delete(Service).where(Service.name == demo.MQTT_SERVICE))
    with sessions() as session, session.begin():
        assert demo_seed.seed(session) is None
    with sessions() as session:
        services = {s.name: s.cloud_name for s in session.scalars(select(Service))}
        assert services == {
            demo.SERVICE: "aws-eu-west-1",
            demo.AZURE_SERVICE: "azure-westeurope",
            demo.GOOGLE_SERVICE: "google-europe-west1",
            demo.MQTT_SERVICE: "aws-eu-west-1",
        }
        assert len(session.scalars(select(Project)).all()) == 1
        assert len(session.scalars(select(ApiToken)).all()) == 1
        assert session.scalars(select(Project)).one().privatelink_enabled

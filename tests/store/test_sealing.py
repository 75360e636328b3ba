"""Secrets at rest (issue 15): service passwords and project CA keys are sealed with a key
that is not in the database; keys rotate without losing a secret."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import serialization
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError
from sqlalchemy import select, text

from privlink import admin
from privlink.services import certificates, registry, sealed, service_view, tenancy
from privlink.settings import Settings, describe_error
from privlink.store import migrate, sealing
from privlink.store.db import make_engine, make_sessionmaker
from privlink.store.tables import Project, Service

PASSWORD = "correct-horse-battery-staple"


def _install(tmp_path: Path) -> Settings:
    settings = Settings(data_dir=tmp_path / "state", demo=False)
    engine = make_engine(settings.database_url)
    migrate.upgrade(engine)
    with make_sessionmaker(engine, sealing.load(settings))() as session, session.begin():
        project = tenancy.create_project(session, name="alpha")
        service = registry.register_service(
            session,
            project=project,
            name="pg-1",
            service_type="pg",
            cloud_name="aws-eu-west-1",
            plan="business-4",
            components={"pg": ["127.0.0.1:5432"]},
            users={"avnadmin": PASSWORD},
        )
        certificates.project_ca(session, project)
        certificates.ensure_server_certificate(
            session, service, ["plc0123456789a.pg-1.alpha.z.example"]
        )
    engine.dispose()
    return settings


def _raw(settings: Settings) -> str:
    """Everything the database file holds about services and projects, as stored."""
    engine = make_engine(settings.database_url)
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT users, tls_private_key FROM services")).all()
        rows += connection.execute(text("SELECT ca_private_key FROM projects")).all()
    engine.dispose()
    return "\n".join(str(value) for row in rows for value in row)  # whole (no row repr)


def _opened(settings: Settings) -> tuple[str, str]:
    """The user's password, and whether every sealed key matches its certificate (the
    CA's, the service's server certificate's, the user's client certificate's)."""
    engine = make_engine(settings.database_url)
    with make_sessionmaker(engine, sealing.load(settings))() as session:
        service = session.scalars(select(Service)).one()
        (user,) = service_view.users(session, service)
        project = session.scalars(select(Project)).one()
        assert project.ca_private_key is not None
        assert service.tls_private_key is not None
        pairs = [
            (project.ca_certificate, sealing.of(session).open(project.ca_private_key)),
            (service.tls_certificate, sealing.of(session).open(service.tls_private_key)),
            (user["access_cert"], user["access_key"]),
        ]
    engine.dispose()
    matched = {_matches(cert, key) for cert, key in pairs if cert is not None}
    return user["password"], "matches" if matched == {"matches"} and len(pairs) == 3 else "no"


def _matches(cert_pem: str, key_pem: str) -> str:
    key = serialization.load_pem_private_key(key_pem.encode(), password=None)
    cert = x509.load_pem_x509_certificate(cert_pem.encode())
    assert key.public_key() == cert.public_key()
    return "matches"


def test_secrets_are_sealed_in_the_database_and_open_with_the_key(tmp_path: Path) -> None:
    settings = _install(tmp_path)
    stored = _raw(settings)
    assert PASSWORD not in stored
    assert "PRIVATE KEY" not in stored
    assert stored.count(sealing.PREFIX) == 4  # password, client key, server key, CA key
    key_file = sealing.key_file(settings)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert key_file.read_text().strip() not in stored
    assert _opened(settings) == (PASSWORD, "matches")


def test_rotation_reseals_everything_under_a_new_key(tmp_path: Path) -> None:
    settings = _install(tmp_path)
    old_key = sealing.key_file(settings).read_text()
    before = _raw(settings)
    assert admin.rotate_secret_key(settings)["resealed"] == 4
    new_key = sealing.key_file(settings).read_text()
    assert new_key != old_key
    assert len(new_key.split()) == 1
    assert _raw(settings) != before
    assert _opened(settings) == (PASSWORD, "matches")
    with_old = Settings(data_dir=settings.data_dir, demo=False, secret_keys=old_key.strip())
    with pytest.raises(RuntimeError, match="opens with none of the secret keys"):
        _opened(with_old)


def test_rotation_with_keys_from_the_setting(tmp_path: Path) -> None:
    settings = _install(tmp_path)
    old_key = sealing.key_file(settings).read_text().strip()
    new_key = Fernet.generate_key().decode()
    both = Settings(data_dir=settings.data_dir, demo=False, secret_keys=f"{new_key},{old_key}")
    assert admin.rotate_secret_key(both)["resealed"] == 4
    only_new = Settings(data_dir=settings.data_dir, demo=False, secret_keys=new_key)
    assert _opened(only_new) == (PASSWORD, "matches")


def test_secrets_stored_before_sealing_are_sealed_at_start(tmp_path: Path) -> None:
    settings = _install(tmp_path)
    engine = make_engine(settings.database_url)
    sessions = make_sessionmaker(engine, sealing.load(settings))
    with sessions() as session, session.begin():
        service = session.scalars(select(Service)).one()
        service.users = [{"username": "avnadmin", "password": "plain-old", "type": "primary"}]
    with sessions() as session, session.begin():
        service = session.scalars(select(Service)).one()
        assert service_view.users(session, service)[0]["password"] == "plain-old"
        assert sealed.reseal(session) == 1
        assert sealed.reseal(session) == 0
    engine.dispose()
    assert "plain-old" not in _raw(settings)


def test_a_bad_key_setting_is_refused_with_how_to_make_one() -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(secret_keys="not-a-key")
    assert describe_error(caught.value) == (
        "PRIVLINK_SECRET_KEYS: key 1 is not 32 bytes of URL-safe base64 (a Fernet key); "
        "make one with `privlink admin secret-key new`"
    )


@given(st.text(max_size=300))
def test_seal_and_open_round_trip(value: str) -> None:
    sealer = sealing.Sealer([Fernet.generate_key(), Fernet.generate_key()])
    sealed_value = sealer.seal(value)
    assert sealed_value.startswith(sealing.PREFIX)
    assert sealer.open(sealed_value) == value
    assert sealer.open(sealer.reseal(sealed_value)) == value


def test_users_made_before_client_certificates_get_one_at_start(tmp_path: Path) -> None:
    """A user stored without `access_cert` (before they existed) gets one, signed by the
    project CA, its key sealed; a user who has one keeps it."""
    settings = _install(tmp_path)
    engine = make_engine(settings.database_url)
    sessions = make_sessionmaker(engine, sealing.load(settings))
    with sessions() as session, session.begin():
        service = session.scalars(select(Service)).one()
        kept = dict(service.users[0])
        old = {k: v for k, v in kept.items() if k not in ("access_cert", "access_key")}
        service.users = [old, {**kept, "username": "other"}]
    with sessions() as session, session.begin():
        assert certificates.fill_client_certificates(session) == 1
        assert certificates.fill_client_certificates(session) == 0  # once
    with sessions() as session:
        service = session.scalars(select(Service)).one()
        first, second = service_view.users(session, service)
        project = session.scalars(select(Project)).one()
        assert project.ca_certificate is not None
        ca = x509.load_pem_x509_certificate(project.ca_certificate.encode())
    engine.dispose()
    assert _matches(first["access_cert"], first["access_key"]) == "matches"
    assert x509.load_pem_x509_certificate(first["access_cert"].encode()).issuer == ca.subject
    assert service.users[0]["access_key"].startswith(sealing.PREFIX)
    assert second["access_cert"] == kept["access_cert"]

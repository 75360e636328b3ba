"""Projects and tokens on both databases: hashing, scoping, revocation."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select

from privlink.domain.errors import Conflict, InvalidInput, NotFound, Unauthenticated
from privlink.domain.roles import Role
from privlink.services import tenancy
from privlink.store.db import make_sessionmaker
from privlink.store.tables import ApiToken


class TestTokens:
    def test_token_is_stored_hashed_and_authenticates(self, migrated: Engine) -> None:
        """The secret is never stored; the token resolves to its project."""
        sessions = make_sessionmaker(migrated)
        with sessions() as session, session.begin():
            tenancy.create_project(session, name="alpha")
            issued = tenancy.create_token(session, project="alpha", description="ci")
        with sessions() as session:
            stored = session.scalars(select(ApiToken)).one()
            assert issued.secret not in {stored.secret_hash, stored.token_id, stored.description}
            caller = tenancy.authenticate(session, secret=issued.secret)
        assert caller == tenancy.Caller(
            token_id=stored.token_id, role=Role.ADMIN, project="alpha", description="ci"
        )

    def test_revoked_and_forged_tokens_fail(self, migrated: Engine) -> None:
        sessions = make_sessionmaker(migrated)
        with sessions() as session, session.begin():
            issued = tenancy.create_token(session, project=None, role="operator")
            forged = issued.secret[:-4] + "AAAA"
            with pytest.raises(Unauthenticated):
                tenancy.authenticate(session, secret=forged)
            tenancy.revoke_token(session, token_id=issued.token.token_id)
        with sessions() as session, pytest.raises(Unauthenticated):
            tenancy.authenticate(session, secret=issued.secret)

    def test_first_admin_token_only_once(self, migrated: Engine) -> None:
        """`serve` issues an admin token on first start only."""
        sessions = make_sessionmaker(migrated)
        with sessions() as session, session.begin():
            assert tenancy.ensure_admin_token(session) is not None
            assert tenancy.ensure_admin_token(session) is None

    def test_token_needs_project_or_admin(self, migrated: Engine) -> None:
        with make_sessionmaker(migrated)() as session:
            with pytest.raises(InvalidInput):
                tenancy.create_token(session, project=None)
            with pytest.raises(NotFound):
                tenancy.create_token(session, project="nope")


class TestProjects:
    def test_duplicate_project_conflicts(self, migrated: Engine) -> None:
        with make_sessionmaker(migrated)() as session, session.begin():
            tenancy.create_project(session, name="alpha")
            with pytest.raises(Conflict, match="already exists"):
                tenancy.create_project(session, name="alpha")

    def test_invalid_name(self, migrated: Engine) -> None:
        with make_sessionmaker(migrated)() as session, pytest.raises(InvalidInput):
            tenancy.create_project(session, name="Bad_Name")

"""Migrations build the schema on SQLite and PostgreSQL, and match the models."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from privlink.store import migrate
from privlink.store.db import make_engine
from privlink.store.tables import Base


class TestMigrations:
    def test_upgrade_empty_database_to_head(self, engine: Engine) -> None:
        """An empty database reaches the newest revision with every table."""
        assert migrate.current_revision(engine) is None
        migrate.upgrade(engine)
        assert migrate.is_at_head(engine)
        assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())

    def test_upgrade_is_idempotent(self, migrated: Engine) -> None:
        """Running the upgrade on a database already at head changes nothing."""
        migrate.upgrade(migrated)
        assert migrate.current_revision(migrated) == migrate.head_revision()

    def test_models_and_migrations_do_not_drift(self, migrated: Engine) -> None:
        """Autogenerate finds no difference between the migrated schema and the models."""
        with migrated.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            diff = compare_metadata(context, Base.metadata)
        assert diff == [], f"models and migrations differ; add a migration for: {diff}"

    def test_single_head(self) -> None:
        """Migrations form one line, with no branches to merge."""
        from alembic.script import ScriptDirectory

        heads = ScriptDirectory.from_config(migrate.alembic_config()).get_heads()
        assert len(heads) == 1


class TestSqlite:
    def test_wal_mode(self, tmp_path: object) -> None:
        """SQLite files run in WAL mode with foreign keys enforced."""
        from privlink.store.db import make_engine

        engine = make_engine(f"sqlite:///{tmp_path}/sub/dir/x.db")
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        engine.dispose()

    def test_the_data_folder_and_database_are_private(self, tmp_path: Path) -> None:
        """Data dir 0700 (even one that was 0755), database and its WAL files 0600."""
        from privlink.server import open_database
        from privlink.settings import Settings

        data = tmp_path / "state"
        data.mkdir(mode=0o755)
        engine = open_database(Settings(data_dir=data, demo=False))
        with engine.begin() as connection:  # a write, so the WAL file exists
            connection.execute(text("CREATE TABLE probe (x INTEGER)"))
        files = sorted(p.name for p in data.iterdir())
        assert "privlink.db" in files
        assert stat.S_IMODE(data.stat().st_mode) == 0o700
        for name in files:
            assert stat.S_IMODE((data / name).stat().st_mode) == 0o600, name
        engine.dispose()


class TestUpgradeWithData:
    def test_rows_survive_later_migrations(self, engine: Engine) -> None:
        """A database with projects at revision 0003 upgrades to head and keeps them."""
        from alembic import command

        command.upgrade(migrate.alembic_config(engine), "0003")
        with engine.begin() as connection:
            connection.execute(
                text("INSERT INTO projects (name, created_at) VALUES ('old', CURRENT_TIMESTAMP)")
            )
        migrate.upgrade(engine)
        with engine.connect() as connection:
            row = connection.execute(text("SELECT name, privatelink_enabled FROM projects")).one()
        assert row[0] == "old"
        assert not row[1]

    def test_owner_tags_of_older_resources_become_findable(self, engine: Engine) -> None:
        """Resources made before revision 0010 get their indexed owner tag filled in, so a
        restarted reconciler still adopts them."""
        from alembic import command

        from privlink.cloud.local.control import LocalCloud
        from privlink.store.db import make_sessionmaker

        command.upgrade(migrate.alembic_config(engine), "0009")
        tags = '{"privlink:privatelink": "pl-1", "privlink:unit": "kafka"}'
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO lc_accounts (id, name, created_at) "
                    "VALUES ('111111111111', 'old', CURRENT_TIMESTAMP)"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO lc_target_groups (arn, name, account_id, region, port, "
                    "hc_interval, hc_timeout, hc_healthy_threshold, hc_unhealthy_threshold, "
                    "deregistration_delay, proxy_protocol_v2, tags, created_at) VALUES "
                    "('arn:old', 'tg', '111111111111', 'eu-west-1', 80, 5, 5, 2, 2, 0, false, "
                    ":tags, CURRENT_TIMESTAMP)"
                ),
                {"tags": tags},
            )
        migrate.upgrade(engine)
        account = LocalCloud(make_sessionmaker(engine)).account("old", "eu-west-1")
        found = account.find_by_tags("target-group", {"privlink:privatelink": "pl-1"})
        assert found == ["arn:old"]
        assert account.find_by_tags("target-group", {"privlink:privatelink": "pl-2"}) == []


@pytest.mark.postgres
def test_replicas_starting_together_migrate_once(postgres_server: str, tmp_path: Path) -> None:
    """Six `privlink db upgrade` at once on one fresh PostgreSQL database: all succeed
    (one migrates under the advisory lock, the others then find nothing to do)."""
    from tests.conftest import _fresh_postgres_database

    url = _fresh_postgres_database(postgres_server)
    privlink = str(Path(sys.executable).with_name("privlink"))
    env = {**os.environ, "PRIVLINK_DATABASE_URL": url, "PRIVLINK_DATA_DIR": str(tmp_path)}
    started = [
        subprocess.Popen(
            [privlink, "db", "upgrade"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        for _ in range(6)
    ]
    outputs = [process.communicate(timeout=120)[0].decode() for process in started]
    assert [process.returncode for process in started] == [0] * 6, outputs
    engine = make_engine(url)
    try:
        assert migrate.is_at_head(engine)
    finally:
        engine.dispose()

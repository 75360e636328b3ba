"""Settings come from PRIVLINK_* variables and are validated with clear messages."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from privlink.settings import CloudDriver, Settings, describe_error


class TestSettings:
    def test_defaults_to_sqlite_under_data_dir(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """With nothing set, the database is SQLite inside ./.privlink and the cloud is local."""
        for name in ("PRIVLINK_DATABASE_URL", "PRIVLINK_DATA_DIR", "PRIVLINK_CLOUD"):
            monkeypatch.delenv(name, raising=False)
        settings = Settings()
        assert settings.database_url == "sqlite:///.privlink/privlink.db"
        assert settings.cloud is CloudDriver.local
        assert tuple(settings.port_pool) == (10000, 31000)

    def test_environment_overrides(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("PRIVLINK_PORT", "9090")
        monkeypatch.setenv("PRIVLINK_KAFKA_PORT_POOL", "20000-20010")
        monkeypatch.setenv("PRIVLINK_RESYNC_INTERVAL", "0.5")
        settings = Settings()
        assert settings.port == 9090
        assert tuple(settings.port_pool) == (20000, 20010)
        assert settings.resync_interval == 0.5

    @pytest.mark.parametrize(
        ("name", "value", "expected"),
        [
            ("PRIVLINK_KAFKA_PORT_POOL", "31000-10000", "PRIVLINK_KAFKA_PORT_POOL"),
            ("PRIVLINK_KAFKA_PORT_POOL", "lots", "LOW-HIGH"),
            ("PRIVLINK_LOG_FORMAT", "xml", "PRIVLINK_LOG_FORMAT"),
            ("PRIVLINK_CLOUD", "gcp", "PRIVLINK_CLOUD"),
            ("PRIVLINK_PORT", "70000", "PRIVLINK_PORT"),
            ("PRIVLINK_RESYNC_INTERVAL", "-1", "PRIVLINK_RESYNC_INTERVAL"),
            ("PRIVLINK_DATABASE_URL", "mysql://x", "postgresql+psycopg"),
        ],
    )
    def test_bad_values_name_the_variable(
        self, monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: str
    ) -> None:
        """A bad value fails at start with a line naming the variable and what is accepted."""
        monkeypatch.setenv(name, value)
        with pytest.raises(ValidationError) as caught:
            Settings()
        assert expected in describe_error(caught.value)

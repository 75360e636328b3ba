"""What the app holds for its lifetime, built by `create_app`, never at import."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from privlink.cloud.local.control import LocalCloud
from privlink.cloud.local.dataplane import DataPlane
from privlink.reconcile.runner import Runner
from privlink.settings import Settings


@dataclass
class AppState:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    registry: CollectorRegistry
    cloud: LocalCloud | None = None
    dataplane: DataPlane | None = None
    runner: Runner | None = None

    def changed(self) -> None:
        """Something desired changed: let the reconciler and data plane act now."""
        if self.runner is not None:
            self.runner.kick()
        if self.dataplane is not None:
            self.dataplane.kick()

"""What the app holds for its lifetime, built by `create_app`, never at import."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from privlink.cloud.contract import CloudDriver
from privlink.cloud.local.control import LocalCloud
from privlink.cloud.local.dataplane import DataPlane
from privlink.domain.errors import Unavailable
from privlink.reconcile.runner import Runner
from privlink.reconcile.vpcs import PLATFORM_ACCOUNT
from privlink.services import privatelinks
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

    def platform(self, region: str) -> CloudDriver:
        """The platform account's driver in a region."""
        if self.cloud is None:
            raise Unavailable("This server has no cloud driver configured")
        self.cloud.ensure_account(PLATFORM_ACCOUNT)
        return self.cloud.account(PLATFORM_ACCOUNT, region)

    def changed(self, *, endpoint_service: str | None = None) -> None:
        """Something desired changed: let the reconciler and data plane act now.

        `endpoint_service`: a customer touched endpoints of this service; if privlink
        publishes it, its PrivateLink's next step (accepting, recording) is due now.
        """
        if endpoint_service is not None:
            with self.sessions() as session, session.begin():
                privatelinks.wake(session, aws_service_id=endpoint_service)
        if self.runner is not None:
            self.runner.kick()
        if self.dataplane is not None:
            self.dataplane.kick()

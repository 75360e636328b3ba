"""What the app holds for its lifetime (built by `privlink.app.create_app`, never at
import), shared by the API and the console: settings, database, cloud, reconciler."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated

import structlog
from fastapi import Depends, Request
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from privlink.cloud.contract import CloudDriver, Platform
from privlink.cloud.local.control import LocalCloud
from privlink.cloud.local.dataplane import DataPlane
from privlink.cloud.local.dns_server import DnsServer
from privlink.domain import naming
from privlink.domain.errors import Unavailable
from privlink.reconcile import queue
from privlink.reconcile.runner import Runner
from privlink.services import diagnose, outbound, privatelinks
from privlink.services.webhook_sender import WebhookSender
from privlink.settings import Settings

log = structlog.get_logger(__name__)


@dataclass
class AppState:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    registry: CollectorRegistry
    cloud: LocalCloud | None = None
    platform_side: Platform | None = None
    dataplane: DataPlane | None = None
    dns_server: DnsServer | None = None
    webhooks: WebhookSender | None = None
    runner: Runner | None = None

    async def stop_dns(self) -> None:
        server, self.dns_server = self.dns_server, None
        if server is not None:
            await server.stop()

    def resolver(self) -> diagnose.Resolve:
        """How validate resolves connection names: the local cloud's DNS server (this
        replica's, or the configured address), else the host's resolver."""
        if self.cloud is None:
            return diagnose.system_resolve
        if self.dns_server is not None:
            return diagnose.server_resolve(self.dns_server.host, self.dns_server.port)
        address = self.settings.dns_address
        if address is not None and address[1]:
            return diagnose.server_resolve(*address)
        cloud = self.cloud
        return lambda name: sorted(
            v for r in cloud.resolve(name).records if r.type == "A" for v in r.values
        )

    def kick_dataplane(self) -> None:
        """The data plane (if it runs on this replica) should look for changes now."""
        if self.dataplane is not None:
            self.dataplane.kick()

    def platform_cloud(self) -> Platform:
        """The platform's side of the cloud: drivers, principals, deployment networks."""
        if self.platform_side is None:
            raise Unavailable("This server has no cloud driver configured")
        return self.platform_side

    def platform(self, region: str) -> CloudDriver:
        """The platform account's driver in a region."""
        return self.platform_cloud().driver(region)

    def provisioned(self, endpoint_ids: list[str]) -> None:
        """The data plane made these endpoints available: links and PrivateLinks waiting on
        them go on (not at their next poll)."""
        services = self.cloud.services_of(endpoint_ids) if self.cloud is not None else []
        with self.sessions() as session, session.begin():
            ours = outbound.wake_endpoints(session, endpoint_ids)
            for service_id in services:  # inbound: the connection can turn active now
                ours = privatelinks.wake(session, aws_service_id=service_id) or ours
        if ours and self.runner is not None:
            self.runner.kick()

    def health_changed(self, owners: list[str]) -> None:
        """The data plane saw target health move in groups of these owners (finder tags):
        their PrivateLinks record it now instead of polling for it. Any thread."""
        self._wake_owners(owners)

    def owners_changed(self, owners: set[str]) -> None:
        """Local-cloud resources of these owners were changed or removed (an operator
        deleted a platform load balancer, say): the objects that own them look now, as
        they would on a cloud event, not at their next resync. A step's changes to its
        own resources wake nothing. Any thread."""
        self._wake_owners(owners, skip=queue.stepping())

    def _wake_owners(self, owners: Iterable[str], skip: str | None = None) -> None:
        ids: dict[naming.Kind, list[str]] = {naming.Kind.privatelink: [], naming.Kind.outbound: []}
        for owner in owners:
            key, _, object_id = owner.partition("=")
            for kind, found in ids.items():
                if key == naming.tag_key(kind) and object_id != skip:
                    found.append(object_id)
        if not any(ids.values()):
            return
        try:
            with self.sessions() as session, session.begin():
                # Not the running step's own write (it may run inside one): no fence.
                session.info["unfenced"] = True
                woken = privatelinks.wake_ids(session, ids[naming.Kind.privatelink])
                woken += outbound.wake_ids(session, ids[naming.Kind.outbound])
        except Exception as error:  # the change happened; its wake is a courtesy
            log.warning("could not wake the owners of a cloud change", error=str(error))
            return
        if woken and self.runner is not None:
            self.runner.kick()

    def changed(
        self, *, endpoint_service: str | None = None, endpoints: list[str] | None = None
    ) -> None:
        """Something desired changed: let the reconciler and data plane act now.

        `endpoint_service`: a customer touched endpoints of this service; if privlink
        publishes it, its PrivateLink's next step (accepting, recording) is due now, and
        so is that of the outbound links to it — only those of `endpoints` if given.
        """
        if endpoint_service is not None:
            with self.sessions() as session, session.begin():
                privatelinks.wake(session, aws_service_id=endpoint_service)
                if endpoints is None:
                    outbound.wake(session, endpoint_service_id=endpoint_service)
                else:
                    outbound.wake_endpoints(session, endpoints)
        if self.runner is not None:
            self.runner.kick()
        if self.dataplane is not None:
            self.dataplane.kick()


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.privlink
    return state


StateDep = Annotated[AppState, Depends(get_state)]

"""Project VPCs: APPROVED -> ACTIVE once the platform network exists; DELETING -> DELETED.

The platform network is a VPC of the platform's account with one subnet per AZ
ID of the region (`Platform.project_network`). It is found again by its tag, so
a crash between creating it and recording it never makes a second one.
"""

from __future__ import annotations

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from privlink.cloud import contract as c
from privlink.domain import catalog
from privlink.domain.cloud import REGIONS
from privlink.store.tables import ProjectVpc

log = structlog.get_logger(__name__)


def pending(sessions: sessionmaker[Session]) -> list[str]:
    with sessions() as s:
        return list(
            s.scalars(select(ProjectVpc.id).where(ProjectVpc.state.in_(["APPROVED", "DELETING"])))
        )


def reconcile(sessions: sessionmaker[Session], platform: c.Platform, vpc_id: str) -> None:
    """One step for one project VPC."""
    with sessions() as s, s.begin():
        vpc = s.get(ProjectVpc, vpc_id)
        if vpc is None or vpc.state not in ("APPROVED", "DELETING"):
            return
        state, cloud_name, cidr = vpc.state, vpc.cloud_name, vpc.network_cidr
    region = catalog.cloud_region(cloud_name)
    if state == "APPROVED":
        network = platform.project_network(region, vpc_id, cidr, REGIONS[region])
        _finish(sessions, vpc_id, "ACTIVE", network)
    else:
        platform.delete_project_network(region, vpc_id)
        _finish(sessions, vpc_id, "DELETED", None)


def _finish(
    sessions: sessionmaker[Session], vpc_id: str, state: str, cloud_vpc_id: str | None
) -> None:
    with sessions() as s, s.begin():
        vpc = s.get(ProjectVpc, vpc_id)
        if vpc is not None:
            log.info("project vpc", vpc=vpc_id, state=state)
            vpc.state, vpc.cloud_vpc_id = state, cloud_vpc_id

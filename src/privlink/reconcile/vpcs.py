"""Project VPCs: APPROVED -> ACTIVE once the platform network exists; DELETING -> DELETED.

The platform network is a VPC of the platform's account with one subnet per AZ
ID of the region (`Platform.project_network`). It is found again by its tag, so
a crash between creating it and recording it never makes a second one. Only VPCs
with work to do (APPROVED, DELETING) are ever due on the work queue.
"""

from __future__ import annotations

import structlog
from sqlalchemy.orm import Session, sessionmaker

from privlink.cloud import contract as c
from privlink.domain import catalog
from privlink.domain.cloud import REGIONS
from privlink.domain.errors import InvalidInput
from privlink.reconcile import queue
from privlink.store.tables import ProjectVpc

log = structlog.get_logger(__name__)
WORKING = ("APPROVED", "DELETING")


def kind(
    sessions: sessionmaker[Session], platform: c.Platform, *, resync: float, backoff: float
) -> queue.Kind:
    """Project VPCs on the shared work queue."""
    return queue.Kind(
        name="project-vpc",
        model=ProjectVpc,
        step=lambda vpc_id: step(sessions, platform, vpc_id),
        fail=_fail,
        resync=resync,
        backoff=backoff,
        only=ProjectVpc.state.in_(WORKING),
    )


def step(sessions: sessionmaker[Session], platform: c.Platform, vpc_id: str) -> float | None:
    """One step for one project VPC."""
    with sessions() as s:
        vpc = s.get(ProjectVpc, vpc_id)
        if vpc is None or vpc.state not in WORKING:
            return None
        state, cloud_name, cidr = vpc.state, vpc.cloud_name, vpc.network_cidr
    try:
        region = catalog.cloud_region(cloud_name)
    except InvalidInput:
        if state == "DELETING":  # a cloud privlink does not know: nothing was ever made there
            _finish(sessions, vpc_id, "DELETED", None)
            return None
        raise  # permanent: the reason says which clouds there are
    if state == "APPROVED":
        network = platform.project_network(region, vpc_id, cidr, REGIONS[region])
        _finish(sessions, vpc_id, "ACTIVE", network)
    else:
        platform.delete_project_network(region, vpc_id)
        _finish(sessions, vpc_id, "DELETED", None)
    return None


def _fail(_s: Session, vpc: ProjectVpc, reason: str) -> None:
    # Stays APPROVED (Aiven's states have no "failed"); the reason says why it is stuck.
    vpc.reason = reason[:500]
    log.warning("project vpc failed", vpc=vpc.id, reason=reason)


def _finish(
    sessions: sessionmaker[Session], vpc_id: str, state: str, cloud_vpc_id: str | None
) -> None:
    with sessions() as s, s.begin():
        vpc = s.get(ProjectVpc, vpc_id)
        if vpc is not None:
            log.info("project vpc", vpc=vpc_id, state=state)
            vpc.state, vpc.cloud_vpc_id, vpc.reason = state, cloud_vpc_id, ""

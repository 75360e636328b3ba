"""Project VPCs: APPROVED -> ACTIVE once the platform network exists; DELETING -> DELETED.

The platform network is a VPC of the platform's account in the local cloud with
one subnet per AZ ID of the region. It is found again by its tag, so a crash
between creating it and recording it never makes a second one.
"""

from __future__ import annotations

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from privlink.cloud.local.control import LocalCloud
from privlink.cloud.local.platform import PLATFORM_ACCOUNT
from privlink.domain import catalog
from privlink.domain.cloud import REGIONS
from privlink.store.tables import ProjectVpc

log = structlog.get_logger(__name__)
TAG = "privlink:project-vpc"


def pending(sessions: sessionmaker[Session]) -> list[str]:
    with sessions() as s:
        return list(
            s.scalars(select(ProjectVpc.id).where(ProjectVpc.state.in_(["APPROVED", "DELETING"])))
        )


def reconcile(sessions: sessionmaker[Session], cloud: LocalCloud, vpc_id: str) -> None:
    """One step for one project VPC."""
    with sessions() as s, s.begin():
        vpc = s.get(ProjectVpc, vpc_id)
        if vpc is None or vpc.state not in ("APPROVED", "DELETING"):
            return
        state, cloud_name = vpc.state, vpc.cloud_name
    region = catalog.cloud_region(cloud_name)
    cloud.ensure_account(PLATFORM_ACCOUNT)
    platform = cloud.account(PLATFORM_ACCOUNT, region)
    found = [v for v in platform.describe_vpcs() if v.tags.get(TAG) == vpc_id]
    if state == "APPROVED":
        network = found[0] if found else platform.create_vpc("10.0.0.0/16", tags={TAG: vpc_id})
        have = {sub.az_id for sub, _ in platform.describe_subnets(network.id)}
        for az in REGIONS[region]:
            if az not in have:
                platform.create_subnet(network.id, az)
        _finish(sessions, vpc_id, "ACTIVE", network.id)
    else:
        for network in found:
            platform.delete_vpc(network.id)
        _finish(sessions, vpc_id, "DELETED", None)


def _finish(
    sessions: sessionmaker[Session], vpc_id: str, state: str, cloud_vpc_id: str | None
) -> None:
    with sessions() as s, s.begin():
        vpc = s.get(ProjectVpc, vpc_id)
        if vpc is not None:
            log.info("project vpc", vpc=vpc_id, state=state)
            vpc.state, vpc.cloud_vpc_id = state, cloud_vpc_id

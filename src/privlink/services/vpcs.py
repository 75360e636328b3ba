"""Project VPCs, service placement and PrivateLink availability (Aiven's shapes)."""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from privlink.domain import catalog
from privlink.domain.errors import Conflict, InvalidInput, NotFound
from privlink.services import privatelinks
from privlink.store.base import utcnow
from privlink.store.tables import Project, ProjectVpc, Service

LIVE = ("APPROVED", "ACTIVE")
PRICE_USD = "0.00"  # limited availability: no charge, as in the reference


def _cidr(value: str) -> str:
    try:
        network = ipaddress.IPv4Network(value, strict=True)
    except ValueError as error:
        raise InvalidInput(
            f"Invalid network CIDR {value!r} ({error}); accepted: a private "
            "IPv4 network such as 10.1.0.0/24"
        ) from None
    if not network.is_private or not 16 <= network.prefixlen <= 28:
        raise InvalidInput(f"Network CIDR {value!r} must be a private IPv4 network, /16 to /28")
    return str(network)


def create_vpc(
    session: Session, *, project: Project, cloud_name: str, network_cidr: str
) -> ProjectVpc:
    catalog.cloud_region(cloud_name)
    cidr = _cidr(network_cidr)
    existing = session.scalar(
        select(ProjectVpc).where(
            ProjectVpc.project_id == project.id,
            ProjectVpc.cloud_name == cloud_name,
            ProjectVpc.state.in_(LIVE),
        )
    )
    if existing is not None:
        raise Conflict(
            f"Project '{project.name}' already has VPC {existing.id} in "
            f"{cloud_name}; a project has one VPC per cloud"
        )
    vpc = ProjectVpc(
        id=str(uuid.uuid4()),
        project_id=project.id,
        cloud_name=cloud_name,
        network_cidr=cidr,
        state="APPROVED",
        next_attempt_at=utcnow(),  # the reconciler's next step is due now
    )
    session.add(vpc)
    session.flush()
    return vpc


def list_vpcs(session: Session, *, project: Project) -> Sequence[ProjectVpc]:
    return session.scalars(
        select(ProjectVpc)
        .where(ProjectVpc.project_id == project.id, ProjectVpc.state != "DELETED")
        .order_by(ProjectVpc.created_at)
    ).all()


def get_vpc(session: Session, *, project: Project, vpc_id: str) -> ProjectVpc:
    vpc = session.get(ProjectVpc, vpc_id)
    if vpc is None or vpc.project_id != project.id or vpc.state == "DELETED":
        raise NotFound(f"Project VPC '{vpc_id}' does not exist in project '{project.name}'")
    return vpc


def delete_vpc(session: Session, *, project: Project, vpc_id: str) -> ProjectVpc:
    vpc = get_vpc(session, project=project, vpc_id=vpc_id)
    users = session.scalars(select(Service.name).where(Service.project_vpc_id == vpc_id)).all()
    if users:
        raise Conflict(
            f"Project VPC {vpc_id} still holds service(s) {', '.join(users)}; "
            "move or delete them first"
        )
    if vpc.state in LIVE:
        vpc.state, vpc.next_attempt_at, vpc.attempts = "DELETING", utcnow(), 0
    return vpc


def place_service(session: Session, *, service: Service, project_vpc_id: str | None) -> None:
    """Move a service into a project VPC (or out of it, with None)."""
    if project_vpc_id != service.project_vpc_id and privatelinks.find(session, service):
        raise Conflict(
            f"Service {service.name} has an AWS PrivateLink built in its project VPC; "
            f"delete it first (avn service privatelink aws delete {service.name})"
        )
    if project_vpc_id is None:
        service.project_vpc_id = None
        return
    project = service.project
    vpc = get_vpc(session, project=project, vpc_id=project_vpc_id)
    if vpc.cloud_name != service.cloud_name:
        raise InvalidInput(
            f"Project VPC {vpc.id} is in {vpc.cloud_name} but service "
            f"{service.name} runs in {service.cloud_name}"
        )
    if vpc.state not in LIVE:
        raise Conflict(f"Project VPC {vpc.id} is {vpc.state}")
    service.project_vpc_id = vpc.id


@dataclass(frozen=True)
class Offer:
    """A cloud where the project may have PrivateLink, and its hourly price."""

    cloud_name: str
    price_usd: str


def availability(project: Project, price_usd: str = PRICE_USD) -> list[Offer]:
    """Clouds where the project may use PrivateLink, with their hourly price."""
    if not project.privatelink_enabled:
        return []
    return [Offer(cloud_name=name, price_usd=price_usd) for name in catalog.cloud_names()]

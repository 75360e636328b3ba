"""Outbound PrivateLink use cases: deployment facts, links, attachments.

Create checks what it can before recording anything (name, plan, limits, and —
through the platform's driver, as the deployment's principal — that the
customer's endpoint service exists, allows the principal and shares an AZ ID);
the reconciler then makes the endpoint.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from privlink.cloud import contract as c
from privlink.domain import outbound as rules
from privlink.domain import validation
from privlink.domain.errors import Conflict, InvalidInput, NotFound
from privlink.services import events, registry
from privlink.store.base import as_utc, utcnow
from privlink.store.tables import OutboundAttachment, OutboundLink, Project, Service

KIND = "outbound"


@dataclass(frozen=True)
class DeploymentInfo:
    """What the customer needs before building anything: region, AZ IDs, principal."""

    cloud_name: str
    region: str
    az_ids: list[str]
    principal: str
    plan: str
    outbound_available: bool


def info(service: Service, platform: c.Platform) -> DeploymentInfo:
    region, azs, role = rules.deployment(service.project.name, service.name, service.cloud_name)
    return DeploymentInfo(
        cloud_name=service.cloud_name,
        region=region,
        az_ids=list(azs),
        principal=platform.principal(role),
        plan=service.plan,
        outbound_available=rules.plan_allows_outbound(service.plan),
    )


def links_of(session: Session, service: Service) -> list[OutboundLink]:
    return list(
        session.scalars(
            select(OutboundLink)
            .where(OutboundLink.service_id == service.id)
            .order_by(OutboundLink.created_at)
        )
    )


def list_links(session: Session, *, project: Project, service_name: str) -> list[OutboundLink]:
    return links_of(session, registry.get_service(session, project=project, name=service_name))


def get(session: Session, *, project: Project, service_name: str, link_id: str) -> OutboundLink:
    service = registry.get_service(session, project=project, name=service_name)
    link = session.get(OutboundLink, rules.link_id(link_id))
    if link is None or link.service_id != service.id:
        raise NotFound(
            f"Service '{service_name}' has no outbound link {link_id}; list them with "
            f"`privlink service privatelink aws outbound list {service_name}` "
            f"(a deleted link's history: `privlink events --object {link_id}`)"
        )
    return link


def _event(session: Session, link: OutboundLink, message: str, actor: str) -> None:
    events.record_for(session, link, KIND, message, actor=actor)


def create(
    session: Session,
    *,
    project: Project,
    service_name: str,
    endpoint_service_name: str,
    platform: c.Platform,
    limit: int,
    actor: str,
) -> OutboundLink:
    service = registry.get_service(session, project=project, name=service_name)
    validation.endpoint_service_name(endpoint_service_name)
    region, azs, role = rules.deployment(project.name, service.name, service.cloud_name)
    rules.check_can_create(
        plan=service.plan,
        feature_enabled=project.privatelink_enabled,
        linked=[link.endpoint_service_name for link in links_of(session, service)],
        service_name=endpoint_service_name,
        limit=limit,
    )
    named = validation.service_name_region(endpoint_service_name)
    if named != region:
        raise InvalidInput(
            f"Endpoint service {endpoint_service_name} is in {named}; the deployment is in "
            f"{region} and can only reach endpoint services of its own region"
        )
    principal = platform.principal(role)
    cloud = platform.driver(region, principal)
    target = cloud.find_endpoint_service(endpoint_service_name)
    if target is None:
        raise NotFound(
            f"No endpoint service {endpoint_service_name} in {region}; copy its name from "
            "the endpoint service's details (it must be Available)"
        )
    if target.principals_known:  # else the cloud showed it to us: we are allowed
        rules.check_principal(target.principals, principal, target.id)
    shared = rules.check_azs(target.az_ids, azs, target.id)
    link = OutboundLink(
        id=rules.new_link_id(),
        service=service,
        endpoint_service_name=endpoint_service_name,
        endpoint_service_id=target.id,
        az_ids=shared,
        state=rules.CREATING,
        next_attempt_at=utcnow(),
    )
    session.add(link)
    try:
        session.flush()
    except IntegrityError as error:  # a concurrent create won the race
        raise Conflict(f"This service already has a link to {endpoint_service_name}") from error
    _event(session, link, f"create requested to {endpoint_service_name}", actor)
    return link


def delete(
    session: Session, *, project: Project, service_name: str, link_id: str, actor: str
) -> OutboundLink:
    link = get(session, project=project, service_name=service_name, link_id=link_id)
    rules.check_deletable(
        link.id, link.state, [f"{a.kind} '{a.name}' ({a.id})" for a in link.attachments]
    )
    link.state, link.reason = rules.DELETING, ""
    link.next_attempt_at, link.attempts = utcnow(), 0
    _event(session, link, "delete requested", actor)
    return link


def wake(session: Session, *, endpoint_service_id: str) -> None:
    """The customer touched this endpoint service (accepted, rejected, deleted): look now."""
    for link in session.scalars(
        select(OutboundLink).where(OutboundLink.endpoint_service_id == endpoint_service_id)
    ):
        due = as_utc(link.next_attempt_at)
        if due is None or due > utcnow():
            link.next_attempt_at = utcnow()


def wake_ids(session: Session, link_ids: list[str]) -> int:
    """Something these links' resources show changed in the cloud: step them now. How
    many were woken."""
    # Even one already due or in flight: the queue keeps a wake newer than a step's claim,
    # so a change seen while the step ran gets a step of its own.
    woken = 0
    for link in session.scalars(select(OutboundLink).where(OutboundLink.id.in_(link_ids))):
        link.next_attempt_at = utcnow()
        woken += 1
    return woken


def wake_endpoints(session: Session, endpoint_ids: list[str]) -> bool:
    """These endpoints just became available: step their links now. Whether any is ours."""
    links = session.scalars(
        select(OutboundLink).where(OutboundLink.vpc_endpoint_id.in_(endpoint_ids))
    ).all()
    for link in links:
        link.next_attempt_at = utcnow()
    return bool(links)


def attach(
    session: Session,
    *,
    project: Project,
    service_name: str,
    link_id: str,
    kind: str,
    name: str,
    actor: str,
) -> OutboundAttachment:
    link = get(session, project=project, service_name=service_name, link_id=link_id)
    kind, name = rules.attachment(kind, name)
    if link.state == rules.DELETING:
        raise Conflict(f"Link {link.id} is being deleted; nothing new can use it")
    if any(a.kind == kind and a.name == name for a in link.attachments):
        raise Conflict(f"{kind} '{name}' already uses link {link.id}")
    attachment = OutboundAttachment(id=rules.new_attachment_id(), kind=kind, name=name)
    link.attachments.append(attachment)
    session.flush()
    _event(session, link, f"{kind} '{name}' ({attachment.id}) now uses the link", actor)
    return attachment


def detach(
    session: Session,
    *,
    project: Project,
    service_name: str,
    link_id: str,
    attachment_id: str,
    actor: str,
) -> OutboundAttachment:
    link = get(session, project=project, service_name=service_name, link_id=link_id)
    rules.attachment_id(attachment_id)
    for attachment in link.attachments:
        if attachment.id == attachment_id:
            link.attachments.remove(attachment)
            _event(
                session,
                link,
                f"{attachment.kind} '{attachment.name}' ({attachment.id}) no longer uses it",
                actor,
            )
            return attachment
    raise NotFound(f"Link {link.id} has no attachment {attachment_id}")

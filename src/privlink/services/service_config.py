"""Changing a service: its user config (e.g. `privatelink_access`), API and console alike,
and its plan, which only the platform operator may change."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from privlink.domain import catalog
from privlink.domain import outbound as outbound_rules
from privlink.domain.errors import Conflict, Forbidden
from privlink.services import outbound, privatelinks
from privlink.store.tables import Service


def update_user_config(session: Session, service: Service, update: dict[str, Any]) -> bool:
    """Merge `update` into the service's config; whether the reconciler has work now."""
    if not update:
        return False
    service.user_config = catalog.merge_user_config(
        service.service_type, service.user_config, update
    )
    privatelinks.desired_changed(session, service)
    return True


def change_plan(session: Session, service: Service, plan: str, *, operator: bool) -> None:
    """Set the service's plan. avn sends the current plan with every update: that is no
    change. Only an operator changes plans, and never to one that drops what is in use."""
    if plan == service.plan:
        return
    if not operator:
        raise Forbidden(
            f"Only the platform operator changes a service's plan ({service.plan}); "
            "ask them to move it"
        )
    wanted = catalog.plan(plan)
    in_use = []
    if privatelinks.find(session, service) is not None and not catalog.plan_allows_privatelink(
        wanted
    ):
        in_use.append("an AWS PrivateLink")
    if outbound.links_of(session, service) and not outbound_rules.plan_allows_outbound(wanted):
        in_use.append("outbound PrivateLinks")
    if in_use:
        raise Conflict(
            f"Plan {wanted} does not include what service {service.name} uses "
            f"({' and '.join(in_use)}); delete those first"
        )
    service.plan = wanted

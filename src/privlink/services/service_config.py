"""Changing a service's user config (e.g. `privatelink_access`): API and console alike."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from privlink.domain import catalog
from privlink.services import privatelinks
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

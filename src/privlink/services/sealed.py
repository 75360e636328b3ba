"""Every sealed secret in the database, resealed at once: plain text from before sealing
at each start, and everything under the first key when a key is rotated."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from privlink.store import sealing
from privlink.store.tables import Project, Service


def reseal(session: Session, *, only_plain: bool = True) -> int:
    """Seal what is still plain text (or, `only_plain=False`, reseal every secret under
    the first key); the number of secrets changed."""
    sealer = sealing.of(session)

    def due(value: str) -> bool:
        return not only_plain or not value.startswith(sealing.PREFIX)

    changed = 0
    for service in session.scalars(select(Service)):
        users = [dict(user) for user in service.users]
        before = changed
        for user in users:
            for field in ("password", "access_key"):  # a client certificate's key
                if field in user and due(user[field]):
                    user[field] = sealer.reseal(user[field])
                    changed += 1
        if changed > before:
            service.users = users
        if service.tls_private_key is not None and due(service.tls_private_key):
            service.tls_private_key = sealer.reseal(service.tls_private_key)
            changed += 1
    for project in session.scalars(select(Project).where(Project.ca_private_key.is_not(None))):
        if project.ca_private_key is not None and due(project.ca_private_key):
            project.ca_private_key = sealer.reseal(project.ca_private_key)
            changed += 1
    return changed

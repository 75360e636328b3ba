"""The local cloud's control side: accounts, VPCs, load balancers, PrivateLink.

Each public method is one transaction, like one call to a cloud API. It keeps
AWS's rules (see docs/local-cloud.md): client tokens make creates idempotent,
AZs match by ID, principals must be allowed, a service with live connections
cannot be deleted. `LocalCloud` holds what spans accounts; `LocalAccount` is one
account's view in one region and implements the driver contract, one resource family
per module (networks, load_balancing, endpoints).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from privlink.cloud import contract as c
from privlink.cloud.local import dns as local_dns
from privlink.cloud.local.dns_server import Answer
from privlink.cloud.local.endpoints import Endpoints
from privlink.cloud.local.load_balancing import LoadBalancing
from privlink.cloud.local.networks import Networks
from privlink.cloud.local.views import tg_view
from privlink.domain import cloud as rules
from privlink.domain import validation
from privlink.domain.errors import Conflict, NotFound
from privlink.store import generations
from privlink.store.base import as_utc, utcnow
from privlink.store.cloud_tables import (
    FORWARDING_TABLES,
    LcAccount,
    LcEndpoint,
    LcEndpointService,
    LcListener,
    LcLoadBalancer,
    LcSecurityGroup,
    LcTarget,
    LcTargetGroup,
)

_OWNERS = "privlink_lc_owners_changed"


def _note_owners(session: Session, _context: object) -> None:
    """Collect the owners of local-cloud resources this flush changes or removes (a
    listener or target counts for its load balancer or target group). Target health is
    left out: the data plane reports it itself."""
    owners: set[str] = session.info.setdefault(_OWNERS, set())
    with session.no_autoflush:
        for row in (*session.deleted, *session.dirty):
            owner: Any = row
            if isinstance(row, LcTarget):
                if row not in session.deleted:
                    continue
                owner = session.get(LcTargetGroup, row.target_group_arn)
            elif isinstance(row, LcListener) and row.finder is None:
                owner = session.get(LcLoadBalancer, row.load_balancer_arn)
            finder = getattr(owner, "finder", None)
            if finder:
                owners.add(finder)


@dataclass(frozen=True)
class Route:
    """One thing the data plane must do: forward address:port to a listener's targets."""

    endpoint_id: str
    address: str
    port: int
    target_group_arn: str
    proxy_protocol_v2: bool
    ingress: tuple[tuple[str, int, int], ...]  # (cidr, from_port, to_port) of the endpoint's SGs


class LocalCloud:
    """The whole embedded cloud, over privlink's database."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        call_delay: float = 0.0,
        vpc_quota: int = 10,
        target_addresses: Sequence[str] = (),
        resource_quota: int = 100,
    ) -> None:
        self.sessions = sessions
        self.call_delay = call_delay
        self.vpc_quota = vpc_quota  # per project, over all its accounts
        self.resource_quota = resource_quota  # per project and kind (accounts, NLBs, …)
        generations.count(sessions, generations.FORWARDING, _writes_forwarding)
        if not event.contains(sessions, "after_flush", _note_owners):
            event.listen(sessions, "after_flush", _note_owners)
        # Where tenants' targets may be besides their own VPCs (the operator's choice).
        self.target_addresses = [ipaddress.IPv4Network(n) for n in target_addresses]
        # Told the owners (finder tags) of resources a call changed or removed, after it
        # committed: an operator deleting a platform NLB wakes its PrivateLink at once,
        # like a cloud event would, instead of it waiting for its next resync.
        self.on_owners_changed: Callable[[set[str]], None] | None = None

    @contextmanager
    def tx(self) -> Iterator[Session]:
        with self.sessions() as session:
            with session.begin():
                yield session
            owners = session.info.pop(_OWNERS, None)
        if owners and self.on_owners_changed is not None:
            self.on_owners_changed(owners)

    # -- accounts ---------------------------------------------------------
    def create_account(
        self, name: str, account_id: str | None = None, *, project: str | None = None
    ) -> LcAccount:
        """A new account; `project` owns it (None: the operator or the server itself).
        Names are unique per owner, so a name taken elsewhere tells a tenant nothing."""
        validation.project_name(name)
        taken = Conflict(f"You already have an account named {name!r}")
        try:
            with self.tx() as s:
                if s.scalar(self._named(name, project)) is not None:
                    raise taken
                if project is not None:
                    held = s.scalar(select(func.count()).where(LcAccount.project == project))
                    rules.check_quota(project, held or 0, self.resource_quota, "accounts")
                account = LcAccount(
                    id=account_id or rules.new_account_id(), name=name, project=project
                )
                s.add(account)
                return account
        except IntegrityError:  # a concurrent create of the same name won
            raise taken from None

    def ensure_account(self, name: str) -> LcAccount:
        """The server's own account of this name (never a tenant's of the same name)."""
        with self.tx() as s:
            found = s.scalar(self._named(name, None))
        return found or self.create_account(name)

    @staticmethod
    def _named(name: str, project: str | None) -> Any:
        owner = LcAccount.project.is_(None) if project is None else LcAccount.project == project
        return select(LcAccount).where(LcAccount.name == name, owner)

    def list_accounts(self, *, project: str | None = None, every: bool = False) -> list[LcAccount]:
        """The accounts `project` owns, or with `every` all of them (for operators)."""
        query = select(LcAccount).order_by(LcAccount.name)
        if not every:
            query = query.where(LcAccount.project == project)
        with self.tx() as s:
            return list(s.scalars(query))

    def resolve_account(
        self, key: str, *, project: str | None = None, every: bool = True
    ) -> LcAccount:
        """An account by 12-digit ID or by name: a tenant's own only (unless `every`: the
        operator's, which finds the server's own by name first, then any one by name)."""
        with self.tx() as s:
            found = s.get(LcAccount, key)
            if found is None and not every:
                found = s.scalar(self._named(key, project))
            elif found is None:
                found = s.scalar(self._named(key, None))
                if found is None:
                    named = s.scalars(select(LcAccount).where(LcAccount.name == key)).all()
                    if len(named) > 1:
                        raise Conflict(
                            f"Several projects have an account named {key[:63]!r}; "
                            "use its 12-digit account ID"
                        )
                    found = named[0] if named else None
        if found is None or (not every and found.project != project):
            raise self._missing(key)
        return found

    @staticmethod
    def _missing(key: str) -> NotFound:
        return NotFound(
            f"No local-cloud account {key[:63]!r}; create it with "
            "`privlink cloud account create NAME`"
        )

    def account(
        self,
        account: str,
        region: str,
        principal: str | None = None,
        *,
        project: str | None = None,
        every: bool = True,
    ) -> LocalAccount:
        """An account's handle. Unless `every` (the operator, the server), only an account
        `project` owns is found: another tenant's answers exactly as a missing one."""
        found = self.resolve_account(account, project=project, every=every)
        return LocalAccount(self, found.id, rules.region(region), principal)

    # -- what the data plane needs ----------------------------------------
    def generation(self) -> int:
        """How many times what the data plane forwards has changed (on any replica)."""
        with self.tx() as s:
            return generations.read(s, generations.FORWARDING)

    def next_drain(self) -> datetime | None:
        """When the next deregistered target's delay ends (it then leaves its group)."""
        with self.tx() as s:
            return as_utc(s.scalar(select(func.min(LcTarget.drain_until))))

    def routes(self) -> list[Route]:
        """Every (endpoint address, listener port) of every accepted endpoint.

        Pending endpoints are included: the data plane binds them, then marks
        them available, so `available` always means "accepting connections".
        """
        with self.tx() as s:
            endpoints = s.scalars(
                select(LcEndpoint).where(
                    LcEndpoint.state.in_(
                        [rules.EndpointState.pending, rules.EndpointState.available]
                    )
                )
            ).all()
            result = []
            for ep in endpoints:
                service = s.get(LcEndpointService, ep.service_id)
                if service is None:
                    continue
                ingress = tuple(
                    (rule["cidr"], int(rule["from_port"]), int(rule["to_port"]))
                    for sg_id in ep.security_group_ids
                    if (sg := s.get(LcSecurityGroup, sg_id)) is not None
                    for rule in sg.ingress
                )
                listeners = s.scalars(
                    select(LcListener).where(
                        LcListener.load_balancer_arn.in_(service.load_balancer_arns)
                    )
                ).all()
                for listener in listeners:
                    tg = s.get(LcTargetGroup, listener.target_group_arn)
                    for addr in ep.addresses:
                        result.append(
                            Route(
                                endpoint_id=ep.id,
                                address=addr["address"],
                                port=listener.port,
                                target_group_arn=listener.target_group_arn,
                                proxy_protocol_v2=bool(tg and tg.proxy_protocol_v2),
                                ingress=ingress,
                            )
                        )
            return result

    def retired_addresses(self) -> list[str]:
        """Addresses of endpoints that were rejected, deleted or failed: traffic is reset."""
        with self.tx() as s:
            rows = s.scalars(
                select(LcEndpoint).where(
                    LcEndpoint.state.in_(
                        [
                            rules.EndpointState.rejected,
                            rules.EndpointState.deleted,
                            rules.EndpointState.failed,
                        ]
                    )
                )
            ).all()
            return [a["address"] for ep in rows for a in ep.addresses]

    def pending_endpoints(self) -> list[str]:
        with self.tx() as s:
            return list(
                s.scalars(
                    select(LcEndpoint.id).where(LcEndpoint.state == rules.EndpointState.pending)
                )
            )

    def services_of(self, endpoint_ids: Sequence[str]) -> list[str]:
        """The endpoint services these endpoints connect to."""
        with self.tx() as s:
            found = s.scalars(
                select(LcEndpoint.service_id).where(LcEndpoint.id.in_(list(endpoint_ids)))
            )
            return sorted(set(found))

    def mark_provisioned(self, endpoint_ids: Sequence[str]) -> None:
        """The data plane listens for these endpoints now: pending -> available."""
        with self.tx() as s:
            for endpoint_id in endpoint_ids:
                ep = s.get(LcEndpoint, endpoint_id)
                if ep is not None and ep.state == rules.EndpointState.pending:
                    ep.state = rules.move_endpoint(rules.EndpointState(ep.state), "provisioned")

    def health_targets(self) -> list[tuple[c.TargetGroup, list[LcTarget]]]:
        """Target groups used by a listener, with their targets, for the health checker."""
        used = select(LcListener.target_group_arn).distinct()
        with self.tx() as s:
            groups = s.scalars(select(LcTargetGroup).where(LcTargetGroup.arn.in_(used))).all()
            # Two queries in all, however many groups: targets are grouped here.
            targets: dict[str, list[LcTarget]] = {tg.arn: [] for tg in groups}
            for target in s.scalars(
                select(LcTarget).where(LcTarget.target_group_arn.in_(used)).order_by(LcTarget.id)
            ):
                targets.setdefault(target.target_group_arn, []).append(target)
            return [(tg_view(tg), targets[tg.arn]) for tg in groups]

    def record_health(self, target_id: int, state: str, reason: str) -> str | None:
        """Store a target's health; the owner tag (`finder`) of its group when the
        state changed, so whoever owns the group can look now."""
        with self.tx() as s:
            target = s.get(LcTarget, target_id)
            if target is None or target.state in ("draining", "unused"):
                return None
            moved = target.state != state
            target.state, target.reason = state, reason
            if not moved:
                return None
            group = s.get(LcTargetGroup, target.target_group_arn)
            return group.finder if group is not None else None

    def resolve(self, name: str) -> Answer:
        """What the embedded DNS server answers for `name`."""
        with self.tx() as s:
            return local_dns.resolve(s, name)

    def drop_drained(self) -> None:
        """Remove deregistered targets whose deregistration delay has passed."""
        with self.tx() as s:
            for target in s.scalars(select(LcTarget).where(LcTarget.drain_until.is_not(None))):
                if target.drain_until is not None and as_utc(target.drain_until) <= utcnow():
                    s.delete(target)


class LocalAccount(Networks, LoadBalancing, Endpoints, local_dns.Dns):
    """One account in one region: the customer's and the platform's handle on the cloud."""


def _writes_forwarding(session: Session) -> bool:
    """Whether a flush writes rows the data plane reads (routes and target health)."""
    return any(isinstance(row, FORWARDING_TABLES) for row in generations.touched(session))

"""What every resource family of a local-cloud account shares: its identity, one
transaction per call, ownership checks, client tokens, lookups by tag."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from privlink.cloud import contract as c
from privlink.cloud.local.views import clean_tags
from privlink.domain import cloud as rules
from privlink.domain import validation
from privlink.domain.errors import Conflict, InvalidInput, NotFound
from privlink.domain.paging import Page
from privlink.store.base import Base
from privlink.store.cloud_tables import (
    LcAccount,
    LcEndpoint,
    LcEndpointService,
    LcLoadBalancer,
    LcSecurityGroup,
    LcSubnet,
    LcTargetGroup,
    LcVpc,
    finder_of,
)

if TYPE_CHECKING:
    from privlink.cloud.local.control import LocalCloud

M = TypeVar("M", bound=Base)
KINDS: dict[str, Any] = {
    "target-group": LcTargetGroup,
    "load-balancer": LcLoadBalancer,
    "endpoint-service": LcEndpointService,
    "endpoint": LcEndpoint,
}


class AccountBase(c.CloudDriver):
    """One account in one region; the resource families are mixins over this."""

    def __init__(
        self, cloud: LocalCloud, account_id: str, region: str, principal: str | None = None
    ) -> None:
        self.cloud = cloud
        self.account_id = account_id
        self.region = region
        self.principal = (
            validation.principal(principal) if principal else (f"arn:aws:iam::{account_id}:root")
        )
        if validation.principal_account(self.principal) != account_id:
            raise InvalidInput(f"Principal {self.principal} is not of account {account_id}")

    @contextmanager
    def _tx(self) -> Iterator[Session]:
        """One cloud API call; `call_delay` emulates a slower cloud (demos, crash tests).

        Two calls racing to make the same resource (same name or client token) end
        with one winner; the other gets a temporary Conflict, as a cloud answers a
        create already in progress, and its retry finds the resource.
        """
        if self.cloud.call_delay:
            time.sleep(self.cloud.call_delay)
        try:
            with self.cloud.tx() as session:
                yield session
        except IntegrityError:
            raise Conflict(
                "Another request is making the same resource (same name or client token); "
                "retry to get it",
                temporary=True,
            ) from None

    def _own(self, s: Session, model: type[M], key: str, what: str) -> M:
        row = s.get(model, key)
        owner = getattr(row, "account_id", None)
        if isinstance(row, LcSubnet | LcSecurityGroup):  # owned through their VPC
            vpc = s.get(LcVpc, row.vpc_id)
            owner = vpc.account_id if vpc else None
        if row is None or owner != self.account_id:
            raise NotFound(f"{what} {key!r} does not exist in account {self.account_id}")
        return row

    def _within_quota(self, s: Session, model: Any, what: str) -> None:
        """A tenant's accounts together hold at most the quota of each kind; the
        operator's and the server's own have none."""
        owner = s.get(LcAccount, self.account_id)
        if owner is None or owner.project is None:
            return
        query = (
            select(func.count())
            .select_from(model)
            .join(LcAccount, model.account_id == LcAccount.id)
            .where(LcAccount.project == owner.project)
        )
        if hasattr(model, "state"):
            query = query.where(model.state.not_in(["deleted", "Deleted"]))
        held = s.scalar(query) or 0
        rules.check_quota(owner.project, held, self.cloud.resource_quota, what)

    def _by_token(self, s: Session, model: Any, token: str | None) -> Any:
        """The resource an earlier create with this client token made, if any."""
        if token is None:
            return None
        if not 1 <= len(token) <= 64 or not token.isascii() or not token.isprintable():
            raise InvalidInput("A client token has 1-64 printable ASCII characters")
        return s.scalar(
            select(model).where(model.account_id == self.account_id, model.client_token == token)
        )

    def _regional(self, model: Any) -> Any:
        """A select of this account's rows of `model` in this region."""
        return select(model).where(model.account_id == self.account_id, model.region == self.region)

    @staticmethod
    def _paged(query: Any, key: Any, page: Page | None) -> Any:
        """`query` in `key` order; with a page, only its rows (after its key, at most its limit)."""
        query = query.order_by(key)
        if page is None:
            return query
        if page.after is not None:
            query = query.where(key > page.after)
        return query.limit(page.limit)

    def _named(self, s: Session, model: Any, key: Any, name: str, what: str) -> Any:
        """This account's `model` row whose name or primary key is `name`."""
        found = s.scalar(self._regional(model).where(or_(model.name == name, key == name)).limit(1))
        if found is None:
            raise NotFound(f"{what} {name!r} does not exist in {self.region}")
        return found

    def _check_name_free(self, s: Session, model: Any, name: str, what: str) -> None:
        """Names are unique per account and region (target groups, load balancers)."""
        if s.scalar(self._regional(model).where(model.name == name).limit(1)) is not None:
            raise Conflict(f"A {what} named {name!r} already exists")

    def _arn(self, kind: str, rest: str) -> str:
        return f"arn:aws:elasticloadbalancing:{self.region}:{self.account_id}:{kind}/{rest}"

    def find_tagged(self, kind: str, tags: c.Tags, names: Sequence[str] = ()) -> dict[str, c.Tags]:
        # The local cloud's tags are consistent: `names` adds nothing.
        model = KINDS.get(kind)
        if model is None:
            raise InvalidInput(f"Unknown resource kind {kind!r}; known: {', '.join(KINDS)}")
        wanted = clean_tags(tags)
        key = "arn" if hasattr(model, "arn") else "id"
        query = self._regional(model)
        finder = finder_of(wanted)
        if finder is not None:  # an owner's resources: an indexed lookup, not a scan
            query = query.where(model.finder == finder)
        with self._tx() as s:
            rows = s.scalars(query).all()
            return {
                getattr(r, key): dict(r.tags)
                for r in rows
                if all(r.tags.get(k) == v for k, v in wanted.items())
                and getattr(r, "state", "") not in ("deleted", "Deleted")
            }

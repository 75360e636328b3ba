"""`GET /v1/project/{project}/usage`: hours and bytes per service and hour, as JSON or CSV."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from privlink.api.deps import ProjectDep, SessionDep
from privlink.api.errors import documented
from privlink.api.schemas.usage import UsagePublic, UsageRow
from privlink.domain.errors import InvalidInput
from privlink.services import usage
from privlink.state import StateDep

router = APIRouter(tags=["usage"], responses=documented(400, 401, 404))
FIELDS = list(UsageRow.model_fields)


def _moment(value: datetime | None, default: datetime) -> datetime:
    if value is None:
        return default
    if value.tzinfo is None:
        raise InvalidInput("Give times with a zone, e.g. 2026-11-01T00:00:00Z")
    return value


@router.get(
    "/v1/project/{project}/usage",
    responses={200: {"content": {"text/csv": {}}, "description": "JSON, or CSV with format=csv"}},
)
def project_usage(
    project: ProjectDep,
    session: SessionDep,
    state: StateDep,
    start: Annotated[
        datetime | None, Query(alias="from", description="Default: this month")
    ] = None,
    end: Annotated[datetime | None, Query(alias="to", description="Default: now")] = None,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
) -> UsagePublic:
    """PrivateLink, connection and outbound link hours and bytes, per service and hour,
    priced at the hourly price (PRIVLINK_PRIVATELINK_PRICE_USD)."""
    now = datetime.now().astimezone()
    month = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    start_at = _moment(start, month)
    end_at = _moment(end, now + timedelta(seconds=1))
    price = Decimal(state.settings.privatelink_price_usd)
    rows = usage.report(session, project=project, start=start_at, end=end_at, price=price)
    body = UsagePublic(
        start=start_at,
        end=end_at,
        price_usd_per_hour=str(price),
        usage=[UsageRow.model_validate(r, from_attributes=True) for r in rows],
        total_price_usd=str(sum((Decimal(r.price_usd) for r in rows), Decimal("0"))),
    )
    if format == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=FIELDS, lineterminator="\n")
        writer.writeheader()
        for row in body.usage:
            writer.writerow(row.model_dump(mode="json"))
        return Response(out.getvalue(), media_type="text/csv")  # type: ignore[return-value]
    return body

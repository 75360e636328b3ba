"""Batched reads of customer endpoints: one paged listing per region, not a call per object.

AWS tells nobody when a customer creates, accepts or deletes an interface endpoint of one
of the platform's endpoint services, and looking at every PrivateLink often enough to
accept new endpoints quickly would cost calls per object. A sweep lists every endpoint
connection of the region (DescribeVpcEndpointConnections, 1,000 a page) and wakes only
the PrivateLinks whose connections differ from what their last step recorded: a new
endpoint asking to connect, one gone, one whose state moved. 10,000 PrivateLinks cost
about ten calls a sweep. Clouds that report such changes themselves (the local cloud)
need no sweep.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from privlink.cloud import contract as c
from privlink.domain import catalog
from privlink.domain import privatelink as rules
from privlink.services import privatelinks
from privlink.store.tables import Privatelink, PrivatelinkConnection, Service

log = structlog.get_logger(__name__)


def changed(
    recorded: Mapping[str, Mapping[str, str]],
    of_service: Mapping[str, str],
    listed: Sequence[c.Endpoint],
) -> set[str]:
    """The PrivateLinks whose listed connections differ from the recorded ones.

    `recorded`: PrivateLink -> {endpoint ID: connection state its last step wrote};
    `of_service`: endpoint service ID -> its PrivateLink; `listed`: the cloud's endpoints.
    """
    seen: dict[str, dict[str, str]] = {pl_id: {} for pl_id in recorded}
    for ep in listed:
        pl_id = of_service.get(ep.service_id)
        if pl_id is not None and ep.state in rules.CONNECTION_STATES:
            seen.setdefault(pl_id, {})[ep.id] = rules.CONNECTION_STATES[ep.state]
    differ = set()
    for pl_id, now in seen.items():
        # "active" is "connected" with a healthy target behind: the same endpoint state.
        before = {
            ep_id: "connected" if state == rules.CONNECTION_ACTIVE else state
            for ep_id, state in recorded.get(pl_id, {}).items()
        }
        if now != before:
            differ.add(pl_id)
    return differ


def sweep(sessions: sessionmaker[Session], driver_for: c.DriverFor) -> int:
    """List each region's endpoints once and wake the PrivateLinks they changed; how many."""
    with sessions() as s:
        published = s.execute(
            select(Privatelink.id, Privatelink.aws_service_id, Service.cloud_name)
            .join(Service, Privatelink.service_id == Service.id)
            .where(Privatelink.aws_service_id.is_not(None), Privatelink.state == rules.ACTIVE)
        ).all()
        recorded: dict[str, dict[str, str]] = {}
        for pl_id, ep_id, state in s.execute(
            select(
                PrivatelinkConnection.privatelink_id,
                PrivatelinkConnection.vpc_endpoint_id,
                PrivatelinkConnection.state,
            )
        ):
            recorded.setdefault(pl_id, {})[ep_id] = state
    regions: dict[str, dict[str, str]] = {}  # region -> endpoint service ID -> PrivateLink
    for pl_id, service_id, cloud_name in published:
        assert service_id is not None  # selected so
        if catalog.cloud_provider(cloud_name) != "aws":
            continue  # Azure's and Google's are found by refresh and resync (Aiven's flow)
        regions.setdefault(catalog.cloud_region(cloud_name), {})[service_id] = pl_id
    wake: set[str] = set()
    for region, of_service in sorted(regions.items()):
        listed = driver_for(region).list_endpoint_connections()
        mine = {pl_id: recorded.get(pl_id, {}) for pl_id in of_service.values()}
        wake |= changed(mine, of_service, listed)
    if not wake:
        return 0
    with sessions() as s, s.begin():
        woken = privatelinks.wake_ids(s, sorted(wake))
    log.info("endpoint sweep", regions=len(regions), changed=len(wake), woken=woken)
    return woken

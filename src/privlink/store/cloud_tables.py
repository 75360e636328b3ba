"""The local cloud's resources, kept in privlink's own database (they survive restarts).

Lists (subnets, principals, addresses) are JSON columns: they are read and
written whole, the way AWS's describe calls return them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, validates

from privlink.domain import naming
from privlink.store.base import Base, utcnow

ID = String(64)
ARN = String(200)


def finder_of(tags: dict[str, Any]) -> str | None:
    """`key=value` of the tag that names a resource's owner (`privlink:privatelink=ID`, …):
    kept in an indexed column so a lookup by owner reads only that owner's rows."""
    for kind in naming.Kind:
        key = naming.tag_key(kind)
        if key in tags:
            return f"{key}={tags[key]}"[:200]
    return None


class Tagged:
    tags: Mapped[dict[str, Any]] = mapped_column(default=dict)
    finder: Mapped[str | None] = mapped_column(String(200), default=None, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @validates("tags")
    def _keep_finder(self, _key: str, tags: dict[str, Any]) -> dict[str, Any]:
        self.finder = finder_of(tags)
        return tags


class LcAccount(Base):
    __tablename__ = "lc_accounts"
    # Names are unique per owning project (the operator's own: checked on create).
    __table_args__ = (UniqueConstraint("project", "name", name="uq_lc_accounts_project_name"),)

    id: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(63), index=True)
    # The project whose token made it; None: the operator's or the server's own (the
    # platform account), which only operator tokens may see.
    project: Mapped[str | None] = mapped_column(String(63), default=None, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LcVpc(Tagged, Base):
    __tablename__ = "lc_vpcs"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("lc_accounts.id"), index=True)
    region: Mapped[str] = mapped_column(String(32))
    cidr: Mapped[str] = mapped_column(String(18))
    # The VPC's private addresses are 127.<64 + net_index>.0.0/16 on this host.
    net_index: Mapped[int] = mapped_column(Integer, unique=True)


class LcSubnet(Tagged, Base):
    __tablename__ = "lc_subnets"
    __table_args__ = (UniqueConstraint("vpc_id", "net_index", name="uq_lc_subnets_vpc_net"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    vpc_id: Mapped[str] = mapped_column(ForeignKey("lc_vpcs.id", ondelete="CASCADE"), index=True)
    az_id: Mapped[str] = mapped_column(String(16))
    cidr: Mapped[str] = mapped_column(String(18))
    net_index: Mapped[int] = mapped_column(Integer)
    next_host: Mapped[int] = mapped_column(Integer, default=10)


class LcSecurityGroup(Tagged, Base):
    __tablename__ = "lc_security_groups"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    vpc_id: Mapped[str] = mapped_column(ForeignKey("lc_vpcs.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    # [{"cidr": "0.0.0.0/0", "from_port": 10000, "to_port": 31000}, ...]
    ingress: Mapped[list[Any]] = mapped_column(default=list)


class LcTargetGroup(Tagged, Base):
    __tablename__ = "lc_target_groups"
    __table_args__ = (
        UniqueConstraint("account_id", "client_token", name="uq_lc_target_groups_token"),
        UniqueConstraint("account_id", "region", "name", name="uq_lc_target_groups_name"),
    )

    arn: Mapped[str] = mapped_column(ARN, primary_key=True)
    name: Mapped[str] = mapped_column(String(32))
    account_id: Mapped[str] = mapped_column(ForeignKey("lc_accounts.id"), index=True)
    region: Mapped[str] = mapped_column(String(32))
    port: Mapped[int] = mapped_column(Integer)
    hc_interval: Mapped[float] = mapped_column(Float)
    hc_timeout: Mapped[float] = mapped_column(Float)
    hc_healthy_threshold: Mapped[int] = mapped_column(Integer)
    hc_unhealthy_threshold: Mapped[int] = mapped_column(Integer)
    hc_port: Mapped[int | None] = mapped_column(Integer)
    deregistration_delay: Mapped[float] = mapped_column(Float, default=300.0)
    proxy_protocol_v2: Mapped[bool] = mapped_column(Boolean, default=False)
    client_token: Mapped[str | None] = mapped_column(String(64))


class LcTarget(Base):
    __tablename__ = "lc_targets"
    __table_args__ = (
        UniqueConstraint("target_group_arn", "host", "port", name="uq_lc_targets_address"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    target_group_arn: Mapped[str] = mapped_column(
        ForeignKey("lc_target_groups.arn", ondelete="CASCADE"), index=True
    )
    host: Mapped[str] = mapped_column(String(64))
    port: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), default="initial")
    reason: Mapped[str] = mapped_column(String(200), default="")
    drain_until: Mapped[datetime | None] = mapped_column(default=None)
    registered_at: Mapped[datetime] = mapped_column(default=utcnow)


class LcLoadBalancer(Tagged, Base):
    __tablename__ = "lc_load_balancers"
    __table_args__ = (
        UniqueConstraint("account_id", "client_token", name="uq_lc_load_balancers_token"),
        UniqueConstraint("account_id", "region", "name", name="uq_lc_load_balancers_name"),
    )

    arn: Mapped[str] = mapped_column(ARN, primary_key=True)
    name: Mapped[str] = mapped_column(String(32))
    account_id: Mapped[str] = mapped_column(ForeignKey("lc_accounts.id"), index=True)
    region: Mapped[str] = mapped_column(String(32))
    subnet_ids: Mapped[list[str]] = mapped_column(default=list)
    az_ids: Mapped[list[str]] = mapped_column(default=list)
    state: Mapped[str] = mapped_column(String(16), default="active")
    client_token: Mapped[str | None] = mapped_column(String(64))


class LcListener(Tagged, Base):
    __tablename__ = "lc_listeners"
    __table_args__ = (UniqueConstraint("load_balancer_arn", "port", name="uq_lc_listeners_port"),)

    arn: Mapped[str] = mapped_column(ARN, primary_key=True)
    load_balancer_arn: Mapped[str] = mapped_column(
        ForeignKey("lc_load_balancers.arn", ondelete="CASCADE"), index=True
    )
    port: Mapped[int] = mapped_column(Integer)
    target_group_arn: Mapped[str] = mapped_column(ForeignKey("lc_target_groups.arn"), index=True)


class LcEndpointService(Tagged, Base):
    __tablename__ = "lc_endpoint_services"
    __table_args__ = (
        UniqueConstraint("account_id", "client_token", name="uq_lc_endpoint_services_token"),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("lc_accounts.id"), index=True)
    region: Mapped[str] = mapped_column(String(32))
    load_balancer_arns: Mapped[list[str]] = mapped_column(default=list)
    acceptance_required: Mapped[bool] = mapped_column(Boolean, default=True)
    state: Mapped[str] = mapped_column(String(16), default="Available")
    principals: Mapped[list[str]] = mapped_column(default=list)
    client_token: Mapped[str | None] = mapped_column(String(64))
    # A name consumers' endpoints answer to, once its domain's owner proved it with a TXT
    # record `_<token name>.<domain>` = token value (AWS's private DNS names).
    private_dns_name: Mapped[str | None] = mapped_column(String(255), default=None)
    private_dns_state: Mapped[str] = mapped_column(String(24), default="", server_default="")
    private_dns_token: Mapped[str] = mapped_column(String(64), default="", server_default="")


class LcEndpoint(Tagged, Base):
    __tablename__ = "lc_endpoints"
    __table_args__ = (UniqueConstraint("account_id", "client_token", name="uq_lc_endpoints_token"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("lc_accounts.id"), index=True)
    principal: Mapped[str] = mapped_column(String(2048))
    region: Mapped[str] = mapped_column(String(32))
    vpc_id: Mapped[str] = mapped_column(ForeignKey("lc_vpcs.id"), index=True)
    service_id: Mapped[str] = mapped_column(String(64), index=True)
    service_name: Mapped[str] = mapped_column(String(128))
    subnet_ids: Mapped[list[str]] = mapped_column(default=list)
    security_group_ids: Mapped[list[str]] = mapped_column(default=list)
    # [{"subnet_id": ..., "az_id": ..., "address": "127.64.1.10"}, ...]
    addresses: Mapped[list[Any]] = mapped_column(default=list)
    dns_name: Mapped[str] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(String(24))
    reason: Mapped[str] = mapped_column(String(500), default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    client_token: Mapped[str | None] = mapped_column(String(64))
    # Whether the service's verified private DNS name answers with this endpoint's addresses.
    private_dns_enabled: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )


class LcDnsZone(Base):
    """A hosted zone: the embedded DNS server answers for it with its records. A name is
    held by one account at a time (it stands for a registered domain)."""

    __tablename__ = "lc_dns_zones"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("lc_accounts.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LcDnsRecord(Base):
    """One record set of a zone: a name, a type (A or TXT) and its values."""

    __tablename__ = "lc_dns_records"
    __table_args__ = (UniqueConstraint("zone_id", "name", "type", name="uq_lc_dns_records_set"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    zone_id: Mapped[str] = mapped_column(
        ForeignKey("lc_dns_zones.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(255), index=True)
    type: Mapped[str] = mapped_column(String(8))
    values: Mapped[list[str]] = mapped_column(default=list)
    ttl: Mapped[int] = mapped_column(Integer, default=60)


# The tables whose rows make up routes and target health.
FORWARDING_TABLES = (
    LcSecurityGroup,
    LcTargetGroup,
    LcTarget,
    LcLoadBalancer,
    LcListener,
    LcEndpointService,
    LcEndpoint,
)

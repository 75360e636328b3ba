"""The control plane's tables: tenancy, services, project VPCs, PrivateLink, events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from privlink.store.base import Base, utcnow


class Queued:
    """Work-queue columns of a reconciled object: when its next step is due, when its next
    resync is, failures so far, when it last converged, and who holds the lease on it."""

    next_attempt_at: Mapped[datetime | None] = mapped_column(default=None, index=True)
    # When it is next looked at with nothing asked for (each object its own time, so
    # resyncs spread over the interval instead of arriving together).
    resync_at: Mapped[datetime | None] = mapped_column(default=None, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    reconciled_at: Mapped[datetime | None] = mapped_column(default=None)
    lease_owner: Mapped[str | None] = mapped_column(String(64), default=None)
    lease_until: Mapped[datetime | None] = mapped_column(default=None)


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(63), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # PrivateLink is a limited-availability feature the operator turns on per project.
    privatelink_enabled: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    # The project CA (PEM) that connection info points clients at; made on first use.
    ca_certificate: Mapped[str | None] = mapped_column(Text, default=None)
    ca_private_key: Mapped[str | None] = mapped_column(Text, default=None)  # PEM, sealed

    tokens: Mapped[list[ApiToken]] = relationship(back_populates="project")


class ApiToken(Base):
    """An API token; only a SHA-256 digest of its secret is kept."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_id: Mapped[str] = mapped_column(String(16), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(16), default="admin", server_default="admin")
    description: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)

    project: Mapped[Project | None] = relationship(back_populates="tokens")


class ConsoleSession(Base):
    """A console log-in: only the SHA-256 digest of the cookie's random secret is kept;
    log-out deletes the row, so the cookie is worthless at once."""

    __tablename__ = "console_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # digest of the secret
    token_id: Mapped[int] = mapped_column(
        ForeignKey("api_tokens.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)

    token: Mapped[ApiToken] = relationship()


class Service(Base):
    """A managed service the platform runs, registered by the operator."""

    __tablename__ = "services"
    __table_args__ = (UniqueConstraint("project_id", "name", name="uq_services_project_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(64))
    service_type: Mapped[str] = mapped_column(String(32))
    cloud_name: Mapped[str] = mapped_column(String(64))
    plan: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(32), default="RUNNING")
    # {"kafka": ["10.0.0.1:9092", ...], "kafka_connect": [...]}
    components: Mapped[dict[str, Any]] = mapped_column(default=dict)
    user_config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # [{"username": "avnadmin", "password": "...", "type": "primary"}]
    users: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")
    project_vpc_id: Mapped[str | None] = mapped_column(
        ForeignKey("project_vpcs.id"), index=True, default=None
    )
    # The server certificate the project CA issued for the service's names (PEM), its key
    # (sealed) and the names it covers: issued again when the names change.
    tls_certificate: Mapped[str | None] = mapped_column(Text, default=None)
    tls_private_key: Mapped[str | None] = mapped_column(Text, default=None)
    tls_names: Mapped[list[str]] = mapped_column(default=list, server_default="[]")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    project: Mapped[Project] = relationship()


class ProjectVpc(Queued, Base):
    """A project's platform-side network in one cloud; services sit in it to use PrivateLink."""

    __tablename__ = "project_vpcs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    cloud_name: Mapped[str] = mapped_column(String(64))
    network_cidr: Mapped[str] = mapped_column(String(18))
    state: Mapped[str] = mapped_column(String(16), default="APPROVED")
    reason: Mapped[str] = mapped_column(String(500), default="")
    cloud_vpc_id: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Privatelink(Queued, Base):
    """An inbound PrivateLink: desired principals and what the reconciler observed."""

    __tablename__ = "privatelinks"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    service_id: Mapped[int] = mapped_column(
        ForeignKey("services.id", ondelete="CASCADE"), unique=True
    )
    # aws, azure or google: the cloud of the service, which decides the flow.
    provider: Mapped[str] = mapped_column(String(8), default="aws", server_default="aws")
    # Who may connect: IAM principals (AWS), subscription IDs (Azure), none (Google: each
    # connection is approved by itself).
    principals: Mapped[list[str]] = mapped_column(default=list)
    state: Mapped[str] = mapped_column(String(16), default="creating")
    reason: Mapped[str] = mapped_column(String(1000), default="")
    generation: Mapped[int] = mapped_column(Integer, default=1)
    observed_generation: Mapped[int] = mapped_column(Integer, default=0)
    # Bumped when a platform resource vanished: new client tokens for its re-creation.
    incarnation: Mapped[int] = mapped_column(Integer, default=0)
    aws_service_id: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    # The endpoint service's name: AWS's service name, Azure's alias, Google's attachment.
    aws_service_name: Mapped[str | None] = mapped_column(String(200), default=None)
    resource_id: Mapped[str] = mapped_column(String(400), default="", server_default="")
    # The connection records last published in the platform zone ([name, type, values]):
    # while the wish matches them, a pass makes no DNS call.
    dns_published: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    service: Mapped[Service] = relationship()
    ports: Mapped[list[PrivatelinkPort]] = relationship(
        cascade="all, delete-orphan", order_by="PrivatelinkPort.port"
    )
    connections: Mapped[list[PrivatelinkConnection]] = relationship(
        cascade="all, delete-orphan", order_by="PrivatelinkConnection.created_at"
    )


class PrivatelinkPort(Base):
    """The NLB listener port of one unit (a component, or one node of it): stable until delete."""

    __tablename__ = "privatelink_ports"
    __table_args__ = (
        UniqueConstraint("privatelink_id", "unit", name="uq_privatelink_ports_unit"),
        UniqueConstraint("privatelink_id", "port", name="uq_privatelink_ports_port"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    privatelink_id: Mapped[str] = mapped_column(
        ForeignKey("privatelinks.id", ondelete="CASCADE"), index=True
    )
    unit: Mapped[str] = mapped_column(String(80))
    component: Mapped[str] = mapped_column(String(32))
    node: Mapped[int] = mapped_column(Integer)  # -1: the whole component
    port: Mapped[int] = mapped_column(Integer)
    # Observed by the reconciler: healthy targets behind the listener.
    healthy: Mapped[bool] = mapped_column(Boolean, default=False)


class PrivatelinkConnection(Base):
    """A customer's interface endpoint attached to an inbound PrivateLink."""

    __tablename__ = "privatelink_connections"
    __table_args__ = (
        UniqueConstraint("privatelink_id", "vpc_endpoint_id", name="uq_privatelink_conn_endpoint"),
    )

    id: Mapped[str] = mapped_column(String(14), primary_key=True)  # plc + 11 hex
    privatelink_id: Mapped[str] = mapped_column(
        ForeignKey("privatelinks.id", ondelete="CASCADE"), index=True
    )
    vpc_endpoint_id: Mapped[str] = mapped_column(String(64))
    owner: Mapped[str] = mapped_column(String(200), default="")
    state: Mapped[str] = mapped_column(String(32))
    dns_name: Mapped[str] = mapped_column(String(255), default="")
    # Where clients reach the endpoint: its DNS name on AWS, an address on the local cloud.
    host: Mapped[str] = mapped_column(String(255), default="")
    # Azure: the private endpoint's resource ID; Google: the forwarding rule and its
    # Private Service Connect connection ID.
    resource_id: Mapped[str] = mapped_column(String(400), default="", server_default="")
    psc_connection_id: Mapped[str] = mapped_column(String(32), default="", server_default="")
    # Azure and Google: the customer approved it (the platform accepts it in the cloud),
    # and the endpoint's private address the customer reported, which its name points at.
    approved: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    user_ip_address: Mapped[str | None] = mapped_column(String(45), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Event(Base):
    """One state change of one object, with its reason: the status history."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    service_name: Mapped[str] = mapped_column(String(64), default="")
    object_kind: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str] = mapped_column(String(64), index=True)
    state: Mapped[str] = mapped_column(String(32), default="")
    message: Mapped[str] = mapped_column(String(1000))
    actor: Mapped[str] = mapped_column(String(64), default="reconciler")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OutboundLink(Queued, Base):
    """An outbound PrivateLink: the deployment's interface endpoint into a customer's service."""

    __tablename__ = "outbound_links"
    __table_args__ = (
        UniqueConstraint("service_id", "endpoint_service_name", name="uq_outbound_links_target"),
    )

    id: Mapped[str] = mapped_column(String(14), primary_key=True)  # plo + 11 hex
    service_id: Mapped[int] = mapped_column(
        ForeignKey("services.id", ondelete="CASCADE"), index=True
    )
    endpoint_service_name: Mapped[str] = mapped_column(String(200))
    # Seen at create: the customer's service ID and the AZ IDs both sides share.
    endpoint_service_id: Mapped[str] = mapped_column(String(64), index=True)
    az_ids: Mapped[list[str]] = mapped_column(default=list)
    state: Mapped[str] = mapped_column(String(24), default="creating")
    reason: Mapped[str] = mapped_column(String(1000), default="")
    # Bumped when the platform's endpoint vanished: a new client token re-creates it.
    incarnation: Mapped[int] = mapped_column(Integer, default=0)
    # What the reconciler saw of the endpoint.
    vpc_endpoint_id: Mapped[str | None] = mapped_column(String(64), default=None)
    dns_name: Mapped[str] = mapped_column(String(255), default="")
    addresses: Mapped[list[str]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    service: Mapped[Service] = relationship()
    attachments: Mapped[list[OutboundAttachment]] = relationship(
        cascade="all, delete-orphan", order_by="OutboundAttachment.created_at"
    )


class OutboundAttachment(Base):
    """A resource of the deployment that uses an outbound link (e.g. a data integration)."""

    __tablename__ = "outbound_attachments"
    __table_args__ = (
        UniqueConstraint("link_id", "kind", "name", name="uq_outbound_attachments_name"),
    )

    id: Mapped[str] = mapped_column(String(14), primary_key=True)  # pla + 11 hex
    link_id: Mapped[str] = mapped_column(
        ForeignKey("outbound_links.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditRecord(Base):
    """One change asked for (API, console, server CLI) or made in a cloud by the
    reconciler: who, what, on which object, from where, and how it ended. Never a secret:
    no request bodies are kept, only routes, object IDs and refusal messages."""

    __tablename__ = "audit_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # The project acted on (None: the install itself, or an operator's local-cloud work).
    project: Mapped[str | None] = mapped_column(String(63), default=None, index=True)
    actor: Mapped[str] = mapped_column(String(32))  # a token ID, "reconciler" or "cli"
    actor_description: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(16), default="")
    action: Mapped[str] = mapped_column(String(200))  # "POST /v1/…/{service}" or "cloud …"
    target: Mapped[str] = mapped_column(String(300), default="")  # the path or object IDs
    address: Mapped[str] = mapped_column(String(64), default="")
    outcome: Mapped[str] = mapped_column(String(16))  # ok, refused, failed
    status: Mapped[int | None] = mapped_column(Integer, default=None)
    detail: Mapped[str] = mapped_column(String(300), default="")


class Webhook(Base):
    """A subscription: events of a project (or of every project: no project, the
    operator's) are POSTed to its URL, signed with its secret."""

    __tablename__ = "webhooks"

    id: Mapped[str] = mapped_column(String(14), primary_key=True)  # whk + 11 hex
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True, default=None
    )
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(Text)  # sealed
    events: Mapped[list[str]] = mapped_column(default=list)  # empty: every event
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    description: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookDelivery(Base):
    """One event for one subscription: sent in event order per subscription, retried
    with backoff until delivered or given up, its outcome kept."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    webhook_id: Mapped[str] = mapped_column(
        ForeignKey("webhooks.id", ondelete="CASCADE"), index=True
    )
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_until: Mapped[datetime | None] = mapped_column(default=None)
    last_status: Mapped[int | None] = mapped_column(Integer, default=None)
    last_error: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)

    event: Mapped[Event] = relationship()


class UsageBytes(Base):
    """Bytes through one endpoint in one hour (the local cloud's data plane counts them)."""

    __tablename__ = "usage_bytes"
    __table_args__ = (UniqueConstraint("endpoint_id", "hour", name="uq_usage_bytes_hour"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    service_name: Mapped[str] = mapped_column(String(64))
    endpoint_id: Mapped[str] = mapped_column(String(64))
    hour: Mapped[datetime] = mapped_column(index=True)
    bytes_in: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes_out: Mapped[int] = mapped_column(BigInteger, default=0)

"""Runtime configuration from `PRIVLINK_*` environment variables and `serve` flags.

Nothing here is built at import time: callers construct `Settings()` when they
start, so tests and the CLI can pass their own values.
"""

from __future__ import annotations

import base64
import ipaddress
import os
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from privlink.domain import dns
from privlink.domain.errors import InvalidInput


class CloudDriver(StrEnum):
    local = "local"
    aws = "aws"


class LogFormat(StrEnum):
    json = "json"
    console = "console"


class DataplaneMode(StrEnum):
    auto = "auto"
    kernel = "kernel"
    userspace = "userspace"


DEFAULT_DATA_DIR = Path(".privlink")


class PortRange(tuple[int, int]):
    """An inclusive TCP port range written `LOW-HIGH`."""

    @classmethod
    def parse(cls, text: str) -> PortRange:
        low_text, sep, high_text = text.partition("-")
        if not sep or not low_text.strip().isdigit() or not high_text.strip().isdigit():
            raise ValueError(
                f"{text!r} is not a port range; write it as LOW-HIGH, e.g. 10000-31000"
            )
        low, high = int(low_text), int(high_text)
        if not 1 <= low <= high <= 65535:
            raise ValueError(f"{text!r} is not a valid port range; need 1 <= LOW <= HIGH <= 65535")
        return cls((low, high))

    def __str__(self) -> str:
        return f"{self[0]}-{self[1]}"


class Role(StrEnum):
    """What a replica does; several replicas share one PostgreSQL."""

    api = "api"  # the API and the console
    reconciler = "reconciler"  # reconcile steps (spread over replicas by leases)
    dataplane = "dataplane"  # the local cloud's data plane (one replica leads at a time)


class Settings(BaseSettings):
    """All of privlink's settings; each field is `PRIVLINK_<NAME>` in the environment."""

    model_config = SettingsConfigDict(env_prefix="PRIVLINK_", extra="ignore")

    data_dir: Path = Field(DEFAULT_DATA_DIR, description="Where SQLite and local state live.")
    database_url: str = Field(
        "",
        description="SQLAlchemy URL; empty means SQLite at DATA_DIR/privlink.db. "
        "PostgreSQL: postgresql+psycopg://USER:PASS@HOST:PORT/DB",
    )
    cloud: CloudDriver = Field(CloudDriver.local, description="Cloud driver: local or aws.")
    dataplane: DataplaneMode = Field(DataplaneMode.auto, description="Local data plane mode.")
    dataplane_workers: Annotated[int, Field(ge=0, le=256)] = Field(
        default_factory=lambda: os.cpu_count() or 1,
        description="Processes forwarding userspace connections (default: one per core); "
        "0 forwards in the server process itself.",
    )
    host: str = Field("127.0.0.1", description="Listen address of `serve`.")
    port: Annotated[int, Field(ge=1, le=65535)] = Field(8080, description="Listen port.")
    kafka_port_pool: str = Field(
        "10000-31000", description="Listener ports handed to per-broker NLB listeners."
    )
    # An hour: a look at a PrivateLink is ~10 cloud calls, so 10,000 objects every
    # 300 s kept three replicas half busy (bench-scale); everything privlink or the
    # local cloud changes wakes its objects at once, so resyncs only catch drift.
    resync_interval: Annotated[float, Field(gt=0, le=86400)] = Field(
        3600.0,
        description="Seconds (about: each object gets 0.5-1x of it) between looks at an "
        "object that nothing asked to change, to notice changes made outside privlink. "
        "Changes through privlink and the local cloud act at once.",
    )
    roles: str = Field(
        "api,reconciler,dataplane",
        description="What this replica runs, comma-separated: api, reconciler, dataplane.",
    )
    endpoint_sweep_interval: Annotated[float, Field(ge=0, le=86400)] = Field(
        60.0,
        description="Seconds between listings of every customer endpoint per region (one "
        "paged call per 1,000), which wake the PrivateLinks whose endpoints changed: a "
        "customer's new endpoint is accepted within this. For clouds that do not report "
        "such changes (AWS); 0 turns it off.",
    )
    reconcile_concurrency: Annotated[int, Field(ge=1, le=64)] = Field(
        4, description="Reconcile steps of different objects run side by side."
    )
    response_cache_mib: Annotated[int, Field(ge=0, le=4096)] = Field(
        64,
        description="MiB of cached API answers (service lists, PrivateLinks, VPCs) kept "
        "until something they show changes; 0 turns the cache off.",
    )
    aws_principal: str | None = Field(
        None,
        description="With cloud=aws: the ARN customers allow on their endpoint services "
        "for outbound links (default: the platform account's root).",
    )
    aws_reads_per_second: Annotated[float, Field(gt=0, le=1000)] = Field(
        20.0, description="With cloud=aws: Describe calls per second per region and API."
    )
    aws_changes_per_second: Annotated[float, Field(gt=0, le=1000)] = Field(
        5.0, description="With cloud=aws: other calls per second per region and API."
    )
    azure_subscription_id: str | None = Field(
        None,
        description="Real clouds: the platform's Azure subscription; set, services in azure- "
        "clouds are published there (credentials: the Azure SDK's DefaultAzureCredential).",
    )
    azure_resource_group: str = Field(
        "privlink", description="Azure: the resource group privlink publishes into."
    )
    gcp_project: str | None = Field(
        None,
        description="Real clouds: the platform's Google Cloud project; set, services in "
        "google- clouds are published there (credentials: Application Default Credentials).",
    )
    gcp_nat_subnetwork: str = Field(
        "privlink-psc-nat",
        description="Google: the Private Service Connect NAT subnetwork of each project VPC.",
    )
    outbound_link_limit: Annotated[int, Field(ge=1, le=1000)] = Field(
        10, description="Outbound PrivateLinks a service may have at once."
    )
    health_check_interval: Annotated[float, Field(ge=1, le=300)] = Field(
        5.0,
        description="Seconds between TCP health checks of the nodes behind a PrivateLink "
        "(AWS allows 5 and up; the local cloud also 1-4 for tests).",
    )
    cloud_call_delay: Annotated[float, Field(ge=0, le=60)] = Field(
        0.0,
        description="Seconds added to every local-cloud API call, to feel a real cloud's "
        "latency (demos, crash tests).",
    )
    cloud_vpc_quota: Annotated[int, Field(ge=1, le=100)] = Field(
        10, description="Local-cloud VPCs the accounts of one project may hold at once."
    )
    cloud_resource_quota: Annotated[int, Field(ge=1, le=100000)] = Field(
        100,
        description="Local-cloud accounts, target groups, load balancers, endpoint services "
        "and endpoints the accounts of one project may hold at once, of each kind.",
    )
    cloud_target_addresses: str = Field(
        "",
        description="Local cloud: comma-separated IPv4 ranges tenants' target groups may "
        "point at besides their own VPCs' addresses (e.g. 127.0.0.1/32 for backends on "
        "this host's loopback). Empty: only their VPCs.",
    )
    console_secure_cookies: bool = Field(
        False,
        description="Mark console cookies Secure (when a proxy in front serves HTTPS; "
        "they are whenever the console itself sees an https URL).",
    )
    secret_keys: SecretStr | None = Field(
        None,
        description="Keys that seal service passwords and CA keys in the database: "
        "comma-separated Fernet keys, the first seals, all open (for rotation). Unset: "
        "DATA_DIR/secret-key, made on first start (0600).",
    )
    dns_zone: str = Field(
        "pl.privlink.internal",
        description="The zone connection names are published in: "
        "<plc>.<service>.<project>.<zone>. On AWS a public Route 53 zone of this name (made "
        "if missing); delegate it from its parent domain.",
    )
    dns_listen: str = Field(
        "127.0.0.1:8053",
        description="Local cloud: ADDRESS:PORT of the embedded DNS server (UDP and TCP), "
        "authoritative for the platform zone, endpoints' names and verified private DNS "
        "names. Empty: no DNS server.",
    )
    webhook_retry_base: Annotated[float, Field(gt=0, le=3600)] = Field(
        5.0,
        description="Seconds before a failed webhook delivery's first retry; each next one "
        "waits twice as long (at most an hour), for 24 hours.",
    )
    webhook_allow_private: bool = Field(
        False,
        description="Let projects' webhooks reach private, loopback and link-local "
        "addresses (the operator's own subscriptions always may).",
    )
    privatelink_price_usd: str = Field(
        "0.00",
        description="Hourly price of a PrivateLink (and of an outbound link), in USD: what "
        "privatelink-availability shows and usage is priced at.",
    )
    metrics_public: bool = Field(
        False,
        description="Serve /metrics without a token (else it needs an operator token: "
        "Prometheus sends it with `authorization: {credentials: TOKEN}`).",
    )
    metrics_per_endpoint: bool = Field(
        True,
        description="Local cloud: per-endpoint traffic and per-target-group health series "
        "on /metrics (one set per endpoint or group); 0 leaves them out.",
    )
    log_format: LogFormat = Field(LogFormat.console, description="Log lines: json or console.")
    log_level: str = Field("info", description="debug, info, warning or error.")
    demo: bool = Field(
        True, description="Seed a demo project on first start; run its three broker nodes."
    )

    @field_validator("kafka_port_pool")
    @classmethod
    def _check_pool(cls, value: str) -> str:
        return str(PortRange.parse(value))

    @field_validator("secret_keys")
    @classmethod
    def _check_keys(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            sealing_keys(value.get_secret_value())
        return value

    @field_validator("privatelink_price_usd")
    @classmethod
    def _check_price(cls, value: str) -> str:
        try:
            price = Decimal(value)
        except ArithmeticError:
            price = Decimal(-1)
        if not price.is_finite() or price < 0 or price > 1000:
            raise ValueError(f"{value!r} is not a price; write e.g. 0.05 (USD per hour)")
        return str(price)

    @field_validator("dns_zone")
    @classmethod
    def _check_zone(cls, value: str) -> str:
        try:
            return dns.zone(value)
        except InvalidInput as error:
            raise ValueError(error.message) from None

    @field_validator("dns_listen")
    @classmethod
    def _check_listen(cls, value: str) -> str:
        if not value.strip():
            return ""
        host, _, port = value.strip().rpartition(":")
        try:
            ipaddress.IPv4Address(host)
            number = int(port)
        except ValueError:
            number = -1
        if not 0 <= number <= 65535:
            raise ValueError(f"{value!r} is not ADDRESS:PORT; write e.g. 127.0.0.1:8053")
        return f"{host}:{number}"

    @property
    def dns_address(self) -> tuple[str, int] | None:
        if not self.dns_listen:
            return None
        host, _, port = self.dns_listen.rpartition(":")
        return host, int(port)

    @field_validator("cloud_target_addresses")
    @classmethod
    def _check_ranges(cls, value: str) -> str:
        for item in value.split(","):
            if item.strip():
                try:
                    ipaddress.IPv4Network(item.strip())
                except ValueError:
                    raise ValueError(
                        f"{item.strip()!r} is not an IPv4 range; write e.g. 127.0.0.1/32"
                    ) from None
        return value

    @field_validator("roles")
    @classmethod
    def _check_roles(cls, value: str) -> str:
        known = {r.value for r in Role}
        wanted = [item.strip() for item in value.split(",") if item.strip()]
        unknown = [item for item in wanted if item not in known]
        if unknown or not wanted:
            raise ValueError(
                f"{', '.join(unknown) or 'nothing'} is not a role; roles are api, reconciler, "
                "dataplane (comma-separated)"
            )
        return ",".join(wanted)

    @property
    def role_set(self) -> set[Role]:
        return {Role(item) for item in self.roles.split(",")}

    @property
    def target_ranges(self) -> list[str]:
        return [item.strip() for item in self.cloud_target_addresses.split(",") if item.strip()]

    @field_validator("log_level")
    @classmethod
    def _check_level(cls, value: str) -> str:
        level = value.lower()
        if level not in {"debug", "info", "warning", "error"}:
            raise ValueError(f"{value!r} is not a log level; use debug, info, warning or error")
        return level

    @field_validator("database_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        if value and not value.startswith(("sqlite", "postgresql")):
            raise ValueError(
                f"{value!r} is not supported; use sqlite:///PATH or "
                "postgresql+psycopg://USER:PASS@HOST:PORT/DB"
            )
        return value

    @model_validator(mode="after")
    def _default_url(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'privlink.db'}"
        return self

    @property
    def port_pool(self) -> PortRange:
        return PortRange.parse(self.kafka_port_pool)


def sealing_keys(text: str) -> list[bytes]:
    """Fernet keys, one per comma or line: 32 bytes in URL-safe base64 each."""
    keys = [k.strip().encode() for k in text.replace("\n", ",").split(",") if k.strip()]
    if not keys:
        raise ValueError("no key given; make one with `privlink admin secret-key new`")
    for number, key in enumerate(keys, 1):
        try:
            ok = len(base64.urlsafe_b64decode(key)) == 32
        except ValueError:
            ok = False
        if not ok:
            raise ValueError(
                f"key {number} is not 32 bytes of URL-safe base64 (a Fernet key); "
                "make one with `privlink admin secret-key new`"
            )
    return keys


def describe_error(error: ValidationError) -> str:
    """One line per bad setting, naming its environment variable."""
    lines = []
    for item in error.errors():
        name = "_".join(str(part) for part in item["loc"]).upper()
        message = str(item["msg"]).removeprefix("Value error, ")
        lines.append(f"PRIVLINK_{name}: {message}")
    return "\n".join(lines)

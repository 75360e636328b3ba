"""The DNS names privlink publishes for inbound connections, and the records behind them.

Every name of a service's connections lies under one subtree of the platform zone,
`<service>.<project>.<zone>`:

  <plc>.<service>.<project>.<zone>            every address of the connection's endpoint
  <unit>.<plc>.<service>.<project>.<zone>     the same, for a per-node unit (kafka-0, …)
  <az-id>.<plc>.<service>.<project>.<zone>    the endpoint's address in one AZ

One listing of that subtree finds everything privlink ever published for the service, so
a pass reconciles the zone level-based (a crash between a change and its record leaks
nothing). Service and project are separate labels: `a-b` in `c` and `a` in `b-c` must
never share a name, as `<service>-<project>` would make them.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from privlink.domain.errors import InvalidInput

TTL = 60  # seconds: names follow an endpoint's addresses within a minute
MAX_ZONE = 90  # leaves room for <unit>.<plc>.<service>.<project>. under 253
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_TXT_SAFE = re.compile(r"[\x20-\x7e]{0,255}")
TYPES = ("A", "CNAME", "TXT")


@dataclass(frozen=True, order=True)
class Record:
    """One record set: a name (lowercase, no trailing dot), a type and its values."""

    name: str
    type: str
    values: tuple[str, ...]
    ttl: int = TTL


def name(value: str, what: str = "DNS name") -> str:
    """A fully qualified name in privlink's form: lowercase, no trailing dot, 1-253
    characters of labels of letters, digits and inner hyphens (`_` allowed to lead a
    label, as verification records use)."""
    text = value.strip().lower().removesuffix(".")
    labels = text.split(".")
    if (
        0 < len(text) <= 253
        and len(labels) >= 2
        and all(_LABEL.fullmatch(label.removeprefix("_")) for label in labels)
    ):
        return text
    raise InvalidInput(
        f"Invalid {what} {value[:80]!r}; accepted: a name such as db.example.com "
        "(at least two labels of letters, digits and inner hyphens, 253 characters at most)"
    )


def zone(value: str) -> str:
    """The platform zone every connection name lies under."""
    text = name(value, "DNS zone")
    if len(text) > MAX_ZONE:
        raise InvalidInput(f"DNS zone {text!r} is longer than {MAX_ZONE} characters")
    return text


def label(value: str) -> str:
    """A service or project name as one DNS label (service names may be 64 long: those
    over 63 keep 54 characters and a digest, so two never meet)."""
    if len(value) <= 63:
        return value
    return f"{value[:54]}-{hashlib.sha256(value.encode()).hexdigest()[:8]}"


def service_subtree(zone_name: str, service: str, project: str) -> str:
    return f"{label(service)}.{label(project)}.{zone_name}"


def connection_host(zone_name: str, service: str, project: str, plc: str) -> str:
    """The name a client of connection `plc` uses for every component of the service."""
    return f"{plc}.{service_subtree(zone_name, service, project)}"


def node_host(connection: str, unit: str) -> str:
    """The name of one node of a per-node component (e.g. `kafka-0`) on a connection."""
    return f"{unit}.{connection}"


def zonal_host(connection: str, az_id: str) -> str:
    return f"{az_id}.{connection}"


def connection_records(
    host: str,
    addresses: Sequence[tuple[str, str]],
    node_units: Iterable[str],
    alias: str = "",
    *,
    zonal: bool = True,
) -> list[Record]:
    """The records of one connection: `addresses` are its endpoint's (AZ ID, address).
    Where the cloud shows the service's owner no addresses, only the endpoint's own DNS
    name (AWS), the names are CNAMEs to that `alias`. `zonal`: a name per AZ too (not for
    Azure's and Google's regional endpoints)."""
    every = tuple(sorted({address for _, address in addresses}))
    if not every:
        if not alias:
            return []
        names = [host, *(node_host(host, unit) for unit in node_units)]
        return sorted(Record(n, "CNAME", (alias.lower().rstrip("."),)) for n in names)
    records = [Record(host, "A", every)]
    records += [Record(node_host(host, unit), "A", every) for unit in node_units]
    by_az: dict[str, set[str]] = {}
    for az, address in addresses if zonal else ():
        by_az.setdefault(az, set()).add(address)
    records += [Record(zonal_host(host, az), "A", tuple(sorted(a))) for az, a in by_az.items()]
    return sorted(records)


def changes(
    wanted: Iterable[Record], current: Iterable[Record]
) -> tuple[list[Record], list[Record]]:
    """(upsert, delete) that turn `current` into `wanted` (records keyed by name and type)."""
    want = {(r.name, r.type): r for r in wanted}
    have = {(r.name, r.type): r for r in current}
    upsert = [r for key, r in sorted(want.items()) if have.get(key) != r]
    delete = [r for key, r in sorted(have.items()) if key not in want]
    return upsert, delete


def within(record_name: str, subtree: str) -> bool:
    return record_name == subtree or record_name.endswith("." + subtree)


def check_in_zone(records: Iterable[Record], zone_name: str) -> None:
    """Refuse a change naming a record outside its zone (nothing of it is made)."""
    outside = [r.name for r in records if not within(r.name, zone_name)]
    if outside:
        raise InvalidInput(f"{outside[0]} is not in zone {zone_name}")


def txt_value(value: str) -> str:
    """A TXT value privlink stores: printable ASCII, 255 characters at most."""
    if _TXT_SAFE.fullmatch(value):
        return value
    raise InvalidInput("A TXT value is at most 255 printable ASCII characters")


def record(name_: str, type_: str, values: Sequence[str], ttl: int = TTL) -> Record:
    """A record set from user input, checked."""
    if type_ not in TYPES:
        raise InvalidInput(f"Record type {type_[:10]!r} is not served; accepted: A, CNAME, TXT")
    if not values:
        raise InvalidInput("A record set needs at least one value")
    if type_ == "A":
        try:
            checked = tuple(sorted({str(ipaddress.IPv4Address(v)) for v in values}))
        except ValueError:
            raise InvalidInput(
                f"An A record's values are IPv4 addresses, e.g. 127.0.0.1; got {list(values)[:4]}"
            ) from None
    elif type_ == "CNAME":
        if len(values) != 1:
            raise InvalidInput("A CNAME record has exactly one value: the name it stands for")
        checked = (name(values[0], "CNAME target"),)
    else:
        checked = tuple(txt_value(v) for v in values)
    if not 1 <= ttl <= 86400:
        raise InvalidInput(f"TTL {ttl} is out of range; accepted: 1-86400 seconds")
    return Record(name(name_), type_, checked, ttl)


def by_name(records: Iterable[Record]) -> Mapping[str, list[Record]]:
    found: dict[str, list[Record]] = {}
    for r in records:
        found.setdefault(r.name, []).append(r)
    return found

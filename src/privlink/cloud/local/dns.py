"""Local cloud: hosted zones and their records (Route 53's part), and the private DNS
names of endpoint services with their TXT ownership check. The embedded DNS server
(`dns_server`) answers from these tables and from the endpoints' own names."""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from privlink.cloud.local.account import AccountBase
from privlink.cloud.local.dns_server import Answer
from privlink.cloud.local.views import hex_id
from privlink.domain import dns
from privlink.domain.errors import Conflict, NotFound
from privlink.store.cloud_tables import LcDnsRecord, LcDnsZone, LcEndpoint, LcEndpointService

PENDING, VERIFIED, FAILED = "pendingVerification", "verified", "failed"
TOKEN_PREFIX = "privlink-verification="


def record_view(row: LcDnsRecord) -> dns.Record:
    return dns.Record(row.name, row.type, tuple(row.values), row.ttl)


def zone_of(s: Session, name: str) -> LcDnsZone | None:
    """The zone that holds `name`: the one whose name is its longest suffix."""
    labels = name.split(".")
    suffixes = [".".join(labels[i:]) for i in range(len(labels))]
    zones = s.scalars(select(LcDnsZone).where(LcDnsZone.name.in_(suffixes))).all()
    return max(zones, key=lambda z: len(z.name), default=None)


def verification_record(domain: str, token: str) -> tuple[str, str]:
    """(TXT name, value) that proves a private DNS name's domain is the provider's."""
    return f"_privlink-{token[:12]}.{domain.removeprefix('*.')}", TOKEN_PREFIX + token


class Dns(AccountBase):
    # -- hosted zones ------------------------------------------------------
    def dns_zone(self, name: str) -> str:
        name = dns.name(name, "zone name")
        with self._tx() as s:
            zone = s.scalar(select(LcDnsZone).where(LcDnsZone.name == name))
            if zone is None:
                zone = LcDnsZone(id=f"Z{hex_id(20).upper()}", name=name, account_id=self.account_id)
                s.add(zone)
                s.flush()
            elif zone.account_id != self.account_id:
                raise Conflict(f"Zone {name} is held by another account; choose another name")
            return zone.id

    def list_dns_zones(self) -> list[tuple[str, str]]:
        """(ID, name) of this account's zones."""
        with self._tx() as s:
            rows = s.scalars(select(LcDnsZone).where(LcDnsZone.account_id == self.account_id)).all()
            return sorted((z.id, z.name) for z in rows)

    def delete_dns_zone(self, zone_id: str) -> None:
        with self._tx() as s:
            zone = self._own(s, LcDnsZone, zone_id, "Hosted zone")
            if s.scalar(select(LcDnsRecord.id).where(LcDnsRecord.zone_id == zone_id).limit(1)):
                raise Conflict(
                    f"Hosted zone {zone_id} still has records; delete them first "
                    "(as Route 53 refuses to delete a zone that is not empty)"
                )
            s.delete(zone)

    def dns_records(self, zone_id: str, under: str) -> list[dns.Record]:
        under = dns.name(under)
        with self._tx() as s:
            self._own(s, LcDnsZone, zone_id, "Hosted zone")
            rows = s.scalars(
                select(LcDnsRecord).where(
                    LcDnsRecord.zone_id == zone_id,
                    or_(LcDnsRecord.name == under, LcDnsRecord.name.endswith("." + under)),
                )
            ).all()
            return sorted(record_view(r) for r in rows)

    def change_dns_records(
        self,
        zone_id: str,
        *,
        upsert: Sequence[dns.Record] = (),
        delete: Sequence[dns.Record] = (),
    ) -> None:
        with self._tx() as s:
            zone = self._own(s, LcDnsZone, zone_id, "Hosted zone")
            dns.check_in_zone([*upsert, *delete], zone.name)
            for record in delete:
                row = self._record(s, zone_id, record)
                if row is not None:
                    s.delete(row)
            s.flush()
            for record in upsert:
                checked = dns.record(record.name, record.type, record.values, record.ttl)
                row = self._record(s, zone_id, checked)
                if row is None:
                    s.add(
                        LcDnsRecord(
                            zone_id=zone_id,
                            name=checked.name,
                            type=checked.type,
                            values=list(checked.values),
                            ttl=checked.ttl,
                        )
                    )
                else:
                    row.values, row.ttl = list(checked.values), checked.ttl

    @staticmethod
    def _record(s: Session, zone_id: str, record: dns.Record) -> LcDnsRecord | None:
        return s.scalar(
            select(LcDnsRecord).where(
                LcDnsRecord.zone_id == zone_id,
                LcDnsRecord.name == record.name,
                LcDnsRecord.type == record.type,
            )
        )

    # -- private DNS names of endpoint services ------------------------------
    def set_private_dns_name(self, service_id: str, name: str | None) -> dict[str, str]:
        """Give the service a private DNS name (None removes it); it waits for its
        domain's TXT record (`verify_private_dns_name`). Returns the configuration."""
        with self._tx() as s:
            svc = self._own(s, LcEndpointService, service_id, "Endpoint service")
            if name is None:
                svc.private_dns_name, svc.private_dns_state, svc.private_dns_token = None, "", ""
                return {}
            checked = dns.name(name.removeprefix("*."), "private DNS name")
            if name.startswith("*."):
                checked = "*." + checked
            if checked != svc.private_dns_name:
                svc.private_dns_name, svc.private_dns_state = checked, PENDING
                svc.private_dns_token = secrets.token_hex(16)
            return self._dns_config(svc)

    def private_dns_config(self, service_id: str) -> dict[str, str]:
        with self._tx() as s:
            return self._dns_config(self._own(s, LcEndpointService, service_id, "Endpoint service"))

    def verify_private_dns_name(self, service_id: str) -> dict[str, str]:
        """Look for the TXT record in the local cloud's DNS: verified if its value is
        there, failed otherwise (fix the record and verify again)."""
        with self._tx() as s:
            svc = self._own(s, LcEndpointService, service_id, "Endpoint service")
            if not svc.private_dns_name:
                raise NotFound(f"Endpoint service {service_id} has no private DNS name")
            txt_name, value = verification_record(svc.private_dns_name, svc.private_dns_token)
            zone = zone_of(s, txt_name)
            found = (
                s.scalar(
                    select(LcDnsRecord).where(
                        LcDnsRecord.zone_id == zone.id,
                        LcDnsRecord.name == txt_name,
                        LcDnsRecord.type == "TXT",
                    )
                )
                if zone is not None
                else None
            )
            ok = found is not None and value in found.values
            svc.private_dns_state = VERIFIED if ok else FAILED
            return self._dns_config(svc)

    @staticmethod
    def _dns_config(svc: LcEndpointService) -> dict[str, str]:
        if not svc.private_dns_name:
            return {}
        txt_name, value = verification_record(svc.private_dns_name, svc.private_dns_token)
        return {
            "name": svc.private_dns_name,
            "state": svc.private_dns_state,
            "type": "TXT",
            "record_name": txt_name,
            "value": value,
        }


# -- what the embedded DNS server answers ------------------------------------
ENDPOINT_ZONE = "vpce.privlink.internal"  # where every endpoint's own names live
_SERVING = ("pending", "available")  # endpoint states whose addresses are bound


def zonal_dns_name(regional: str, az_id: str) -> str:
    """An endpoint's name in one AZ: `<id>-<suffix>-<az>.<rest>` beside `<id>-<suffix>.<rest>`."""
    first, _, rest = regional.partition(".")
    return f"{first}-{az_id}.{rest}"


def _addresses(endpoints: Sequence[LcEndpoint], az_id: str | None = None) -> tuple[str, ...]:
    return tuple(
        sorted(
            {
                a["address"]
                for ep in endpoints
                for a in ep.addresses
                if az_id is None or a["az_id"] == az_id
            }
        )
    )


def resolve(s: Session, name: str) -> Answer:
    """What the local cloud's DNS holds for `name` (a lowercase name, no final dot)."""
    private = _private_dns(s, name)
    if private is not None:
        return private
    if dns.within(name, ENDPOINT_ZONE):
        return _endpoint_name(s, name)
    zone = zone_of(s, name)
    if zone is None:
        return Answer(None, [])
    rows = s.scalars(
        select(LcDnsRecord).where(LcDnsRecord.zone_id == zone.id, LcDnsRecord.name == name)
    ).all()
    if rows:
        return Answer(zone.name, sorted(record_view(r) for r in rows))
    below = s.scalar(
        select(LcDnsRecord.id)
        .where(LcDnsRecord.zone_id == zone.id, LcDnsRecord.name.endswith("." + name))
        .limit(1)
    )
    return Answer(zone.name, [], exists=name == zone.name or below is not None)


def _private_dns(s: Session, name: str) -> Answer | None:
    parent = name.partition(".")[2]
    services = s.scalars(
        select(LcEndpointService).where(
            LcEndpointService.private_dns_name.in_([name, f"*.{parent}"]),
            LcEndpointService.private_dns_state == VERIFIED,
        )
    ).all()
    if not services:
        return None
    endpoints = s.scalars(
        select(LcEndpoint).where(
            LcEndpoint.service_id.in_([svc.id for svc in services]),
            LcEndpoint.private_dns_enabled.is_(True),
            LcEndpoint.state.in_(_SERVING),
        )
    ).all()
    addresses = _addresses(endpoints)
    if not addresses:
        return None
    return Answer(name, [dns.Record(name, "A", addresses)])


def _endpoint_name(s: Session, name: str) -> Answer:
    first = name.partition(".")[0]
    ep = s.get(LcEndpoint, first[:22]) if first.startswith("vpce-") else None
    if ep is not None and ep.state in _SERVING:
        if name == ep.dns_name:
            return Answer(ENDPOINT_ZONE, [dns.Record(name, "A", _addresses([ep]))])
        for az in {a["az_id"] for a in ep.addresses}:
            if name == zonal_dns_name(ep.dns_name, az):
                return Answer(ENDPOINT_ZONE, [dns.Record(name, "A", _addresses([ep], az))])
    return Answer(ENDPOINT_ZONE, [], exists=False)

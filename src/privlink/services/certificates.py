"""The per-project CA and what it signs: each service's server certificate (for its
direct hosts and every per-connection name) and its users' client certificates."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from sqlalchemy import select
from sqlalchemy.orm import Session

from privlink.domain import catalog
from privlink.store import sealing
from privlink.store.base import utcnow
from privlink.store.tables import Project, Service

CA_VALIDITY = timedelta(days=3650)
SERVER_VALIDITY = timedelta(days=397)  # the longest public TLS clients accept
CLIENT_VALIDITY = timedelta(days=825)


@dataclass(frozen=True)
class ServerCertificate:
    """What the platform installs in a service's nodes: PEM certificate, key, CA."""

    certificate: str
    private_key: str
    ca: str
    names: list[str]


def project_ca(session: Session, project: Project) -> str:
    """The project's CA certificate (PEM), made on first use and kept; its private key is
    kept sealed (`store.sealing`), to sign the project's server and client certificates."""
    if project.ca_certificate is None or project.ca_private_key is None:
        key = ec.generate_private_key(ec.SECP256R1())
        project.ca_certificate = _self_signed(key, f"privlink project CA {project.name}")
        project.ca_private_key = sealing.of(session).seal(_key_pem(key))
        session.flush()
    return project.ca_certificate


def _ca(session: Session, project: Project) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    pem = project_ca(session, project)
    assert project.ca_private_key is not None
    key = serialization.load_pem_private_key(
        sealing.of(session).open(project.ca_private_key).encode(), password=None
    )
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return x509.load_pem_x509_certificate(pem.encode()), key


def server_names(service: Service, connection_hosts: Iterable[str]) -> list[str]:
    """What a service's certificate covers: its nodes' hosts, and for each connection its
    name and every name below it (its nodes', its AZs')."""
    direct = {catalog.node(n)[0].lower() for nodes in service.components.values() for n in nodes}
    names = set(direct)
    for host in connection_hosts:
        names |= {host, f"*.{host}"}
    return sorted(names)


def ensure_server_certificate(
    session: Session, service: Service, connection_hosts: Iterable[str]
) -> bool:
    """Issue the service's certificate again if the names it must cover changed; whether
    it was issued."""
    names = server_names(service, connection_hosts)
    if service.tls_certificate is not None and service.tls_names == names:
        return False
    ca, ca_key = _ca(session, service.project)
    key = ec.generate_private_key(ec.SECP256R1())
    service.tls_certificate = _issue(
        ca, ca_key, key, f"{service.name}.{service.project.name}", names, server=True
    )
    service.tls_private_key = sealing.of(session).seal(_key_pem(key))
    service.tls_names = names
    return True


def server_certificate(
    session: Session, service: Service, connection_hosts: Sequence[str]
) -> ServerCertificate:
    ensure_server_certificate(session, service, connection_hosts)
    assert service.tls_certificate is not None
    assert service.tls_private_key is not None
    return ServerCertificate(
        certificate=service.tls_certificate,
        private_key=sealing.of(session).open(service.tls_private_key),
        ca=project_ca(session, service.project),
        names=list(service.tls_names),
    )


def client_certificate(session: Session, service: Service, username: str) -> tuple[str, str]:
    """(certificate, key) a client presents as `username` to `service` (Kafka's
    `certificate` authentication): the user's name is the certificate's subject."""
    ca, ca_key = _ca(session, service.project)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _issue(ca, ca_key, key, username, [], server=False)
    return cert, _key_pem(key)


def fill_client_certificates(session: Session) -> int:
    """Give every service user made before client certificates existed one (at start);
    how many were issued."""
    sealer = sealing.of(session)
    issued = 0
    for service in session.scalars(select(Service)):
        users = [dict(user) for user in service.users]
        missing = [user for user in users if "access_cert" not in user]
        for user in missing:
            cert, key = client_certificate(session, service, user["username"])
            user["access_cert"], user["access_key"] = cert, sealer.seal(key)
        if missing:
            service.users = users
            issued += len(missing)
    return issued


def _issue(
    ca: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    key: ec.EllipticCurvePrivateKey,
    common_name: str,
    names: Sequence[str],
    *,
    server: bool,
) -> str:
    now = utcnow()
    usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64])]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + (SERVER_VALIDITY if server else CLIENT_VALIDITY))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(ca=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
    )
    if names:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([_general_name(n) for n in names]), critical=False
        )
    return builder.sign(ca_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode()


def _key_usage(*, ca: bool) -> x509.KeyUsage:
    """A CA signs certificates; a leaf (EC key) signs and agrees keys in TLS."""
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=not ca,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _general_name(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def _self_signed(key: ec.EllipticCurvePrivateKey, common_name: str) -> str:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = utcnow()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_key_usage(ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()

"""The per-project CA certificate that connection info points clients at."""

from __future__ import annotations

from datetime import timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy.orm import Session

from privlink.store import sealing
from privlink.store.base import utcnow
from privlink.store.tables import Project

VALIDITY = timedelta(days=3650)


def project_ca(session: Session, project: Project) -> str:
    """The project's CA certificate (PEM), made on first use and kept; its private key is
    kept sealed (`store.sealing`), to sign the project's server certificates."""
    if project.ca_certificate is None:
        key = ec.generate_private_key(ec.SECP256R1())
        project.ca_certificate = _self_signed(key, f"privlink project CA {project.name}")
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        project.ca_private_key = sealing.of(session).seal(pem.decode())
        session.flush()
    return project.ca_certificate


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
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()

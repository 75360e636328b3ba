"""Secrets kept in the database (service passwords, project CA keys) are sealed: Fernet
(AES-128-CBC with an HMAC-SHA256), under keys that never enter the database.

The keys come from `PRIVLINK_SECRET_KEYS` or, unset, from `DATA_DIR/secret-key`, made on
first start (0600). The first key seals; every key opens, so a key is rotated by putting
a new one first, resealing (`privlink admin secret-key rotate`), then dropping the old.
A value without the `sealed:` prefix is from before sealing: it is read as it is and
sealed at the next start.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy.orm import Session

from privlink.settings import Settings, sealing_keys

PREFIX = "sealed:v1:"
KEY_FILE = "secret-key"


class Sealer:
    def __init__(self, keys: list[bytes]) -> None:
        self._fernet = MultiFernet([Fernet(key) for key in keys])

    def seal(self, text: str) -> str:
        return PREFIX + self._fernet.encrypt(text.encode()).decode()

    def open(self, value: str) -> str:
        if not value.startswith(PREFIX):
            return value  # stored before sealing; sealed at the next start
        try:
            return self._fernet.decrypt(value.removeprefix(PREFIX).encode()).decode()
        except InvalidToken:
            raise RuntimeError(
                "A sealed secret in the database opens with none of the secret keys: "
                "was PRIVLINK_SECRET_KEYS or DATA_DIR/secret-key changed without rotation?"
            ) from None

    def reseal(self, value: str) -> str:
        """Sealed under the first key (plain text sealed for the first time)."""
        if not value.startswith(PREFIX):
            return self.seal(value)
        return PREFIX + self._fernet.rotate(value.removeprefix(PREFIX).encode()).decode()


def key_file(settings: Settings) -> Path:
    return settings.data_dir / KEY_FILE


def load(settings: Settings) -> Sealer:
    """The install's sealer: keys from the setting, else from the key file (made if missing)."""
    if settings.secret_keys is not None:
        return Sealer(sealing_keys(settings.secret_keys.get_secret_value()))
    path = key_file(settings)
    if not path.exists():
        write_keys(path, [Fernet.generate_key()])
    try:
        return Sealer(sealing_keys(path.read_text()))
    except ValueError as error:
        raise RuntimeError(f"{path}: {error}") from None


def write_keys(path: Path, keys: list[bytes]) -> None:
    """Replace the key file at once (readable by its owner only)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".new")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("".join(key.decode() + "\n" for key in keys))
    os.replace(partial, path)


def of(session: Session) -> Sealer:
    """The sealer of the sessionmaker that made `session` (see `db.make_sessionmaker`)."""
    found = session.info.get("sealer")
    if not isinstance(found, Sealer):
        raise RuntimeError("This database session has no sealer: pass one to make_sessionmaker")
    return found

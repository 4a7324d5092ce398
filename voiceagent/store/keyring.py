"""The keyring: data keys (one active) and the blind-index key, from env or a file.

Format (JSON)::

    {"active": "k2", "keys": {"k1": "<base64 32 bytes>", "k2": "..."},
     "index_key": "<base64 32 bytes>", "development": false}

Keys never live in the database. Old keys stay in the keyring until ``voiceagent keys
rotate`` has re-encrypted every value under the active one.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import secrets
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from voiceagent.logs import get_logger
from voiceagent.store.errors import KeyringError, MissingKeyError

log = get_logger(__name__)

KEY_BYTES = 32
KEY_ID_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,40}$")


@dataclass(frozen=True, repr=False)
class Keyring:
    active: str
    keys: Mapping[str, bytes]
    index_key: bytes
    development: bool = False
    _aead: dict[str, AESGCM] = field(default_factory=dict, init=False, compare=False)

    def __post_init__(self) -> None:
        if not self.keys:
            raise KeyringError("the keyring holds no data keys")
        for key_id, key in self.keys.items():
            if not KEY_ID_PATTERN.match(key_id):
                raise KeyringError(
                    f"key id {key_id!r} is invalid: use 1-40 letters, digits, '_', '-' or '.'"
                )
            if len(key) != KEY_BYTES:
                raise KeyringError(f"key {key_id!r} must be {KEY_BYTES} bytes (AES-256)")
        if self.active not in self.keys:
            raise KeyringError(f"the active key {self.active!r} is not among the keyring's keys")
        if len(self.index_key) != KEY_BYTES:
            raise KeyringError(f"the index key must be {KEY_BYTES} bytes")
        if any(secrets.compare_digest(self.index_key, key) for key in self.keys.values()):
            raise KeyringError("the index key must differ from every data key")
        for key_id, key in self.keys.items():
            self._aead[key_id] = AESGCM(key)

    def __repr__(self) -> str:  # never print key material
        return (
            f"Keyring(active={self.active!r}, keys={sorted(self.keys)!r}, dev={self.development})"
        )

    def aead(self, key_id: str, where: str) -> AESGCM:
        try:
            return self._aead[key_id]
        except KeyError:
            raise MissingKeyError(key_id, where) from None

    def with_new_key(self, key_id: str | None = None, *, activate: bool = True) -> Keyring:
        key_id = key_id or new_key_id()
        if key_id in self.keys:
            raise KeyringError(f"key id {key_id!r} is already in the keyring")
        keys = {**self.keys, key_id: secrets.token_bytes(KEY_BYTES)}
        return Keyring(
            active=key_id if activate else self.active,
            keys=keys,
            index_key=self.index_key,
            development=self.development,
        )

    def to_json(self) -> str:
        return json.dumps(
            {
                "active": self.active,
                "keys": {kid: _b64(key) for kid, key in self.keys.items()},
                "index_key": _b64(self.index_key),
                "development": self.development,
            },
            indent=2,
        )


def new_key_id() -> str:
    return f"k{datetime.now(UTC):%Y%m%d}-{secrets.token_hex(2)}"


def generate_keyring(*, development: bool = False, key_id: str | None = None) -> Keyring:
    return Keyring(
        active=(kid := key_id or new_key_id()),
        keys={kid: secrets.token_bytes(KEY_BYTES)},
        index_key=secrets.token_bytes(KEY_BYTES),
        development=development,
    )


def parse_keyring(text: str, source: str = "keyring") -> Keyring:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise KeyringError(f"{source}: not valid JSON (line {exc.lineno})") from None
    if not isinstance(data, dict):
        raise KeyringError(f"{source}: expected a JSON object")
    missing = [k for k in ("active", "keys", "index_key") if k not in data]
    if missing:
        raise KeyringError(f"{source}: missing {', '.join(missing)}")
    if not isinstance(data["keys"], dict):
        raise KeyringError(f"{source}: 'keys' must map key ids to base64 keys")
    keys = {
        str(kid): _unb64(value, f"{source}: key {kid!r}") for kid, value in data["keys"].items()
    }
    try:
        return Keyring(
            active=str(data["active"]),
            keys=keys,
            index_key=_unb64(data["index_key"], f"{source}: index_key"),
            development=bool(data.get("development", False)),
        )
    except KeyringError as exc:
        raise KeyringError(f"{source}: {exc}") from None


def load_keyring(value: str | os.PathLike[str]) -> Keyring:
    """Load a keyring from inline JSON or from a file path (``VOICEAGENT_KEYRING``)."""
    text = str(value).strip()
    if text.startswith("{"):
        keyring = parse_keyring(text, "VOICEAGENT_KEYRING (inline JSON)")
    else:
        path = Path(text).expanduser()
        if not path.is_file():
            raise KeyringError(
                f"keyring file {path} not found; create one with "
                f"`voiceagent keys generate --out {path}` (add --dev for development)"
            )
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            log.warning("keyring_file_permissions", path=str(path), mode=oct(mode), want="0o600")
        keyring = parse_keyring(path.read_text(encoding="utf-8"), str(path))
    if keyring.development:
        log.warning(
            "DEVELOPMENT KEYRING IN USE - generated for development, not for real patient data; "
            "generate a production keyring with `voiceagent keys generate --out PATH`",
            keys=sorted(keyring.keys),
        )
    return keyring


def write_keyring(
    path: str | os.PathLike[str], keyring: Keyring, *, overwrite: bool = False
) -> None:
    """Write ``keyring`` to ``path`` with mode 0600 (never readable by others, even briefly)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = (keyring.to_json() + "\n").encode()
    if not overwrite:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise KeyringError(f"{path} already exists; refusing to overwrite a keyring") from None
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        return
    # Replace atomically: a crash mid-write must not leave a truncated keyring behind.
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def ensure_dev_keyring(path: str | os.PathLike[str]) -> bool:
    """Create a development keyring at ``path`` (mode 0600) unless one exists; True if created."""
    path = Path(path)
    if path.exists():
        return False
    try:
        write_keyring(path, generate_keyring(development=True))
    except KeyringError:  # created concurrently by another process: fine, it exists now
        return False
    log.warning("development_keyring_created", path=str(path))
    return True


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _unb64(value: Any, what: str) -> bytes:
    if not isinstance(value, str):
        raise KeyringError(f"{what} must be a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise KeyringError(f"{what} is not valid base64") from None

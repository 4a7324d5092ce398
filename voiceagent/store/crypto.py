"""AES-256-GCM envelopes bound to the row they belong to.

Envelope (bytes, stored in a binary column)::

    b"v1:" + key_id + b":" + nonce (12 random bytes) + ciphertext-with-tag

The key id travels with each value so rotation can find values under old keys with a
prefix comparison, and reading knows which key to use. The associated data is
``"{table}.{column}:{row_id}"``: a ciphertext copied into another row or column fails
authentication instead of decrypting to someone else's data.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag

from voiceagent.store.errors import DecryptionError
from voiceagent.store.keyring import Keyring

VERSION = b"v1"
NONCE_BYTES = 12
TAG_BYTES = 16


def aad_for(table: str, column: str, row_id: str) -> str:
    return f"{table}.{column}:{row_id}"


def key_prefix(key_id: str) -> bytes:
    """The bytes every envelope under ``key_id`` starts with."""
    return VERSION + b":" + key_id.encode("ascii") + b":"


def seal(keyring: Keyring, plaintext: bytes, aad: str) -> bytes:
    key_id = keyring.active
    nonce = os.urandom(NONCE_BYTES)
    ciphertext = keyring.aead(key_id, aad).encrypt(nonce, plaintext, aad.encode())
    return key_prefix(key_id) + nonce + ciphertext


def envelope_key_id(envelope: bytes, where: str = "value") -> str:
    key_id, _ = _split(envelope, where)
    return key_id


def open_envelope(keyring: Keyring, envelope: bytes, aad: str) -> bytes:
    """Decrypt; ``aad`` doubles as the location named in errors (never the plaintext)."""
    key_id, body = _split(envelope, aad)
    aead = keyring.aead(key_id, aad)  # MissingKeyError names key id and location
    nonce, ciphertext = body[:NONCE_BYTES], body[NONCE_BYTES:]
    try:
        return aead.decrypt(nonce, ciphertext, aad.encode())
    except InvalidTag:
        raise DecryptionError(
            aad,
            key_id,
            "authentication failed: the value was altered, or belongs to another row or column",
        ) from None


def _split(envelope: bytes, where: str) -> tuple[str, bytes]:
    envelope = bytes(envelope)
    version, sep, rest = envelope.partition(b":")
    if version != VERSION or not sep:
        raise DecryptionError(where, None, "not an encrypted value (unknown envelope version)")
    raw_id, sep, body = rest.partition(b":")
    if not sep or len(body) < NONCE_BYTES + TAG_BYTES:
        raise DecryptionError(where, None, "truncated or malformed envelope")
    try:
        key_id = raw_id.decode("ascii")
    except UnicodeDecodeError:
        raise DecryptionError(where, None, "malformed key id in envelope") from None
    return key_id, body

"""Errors the store raises.

Messages name tables, columns, row ids and key ids, never a decrypted value: they end up in
logs and on terminals.
"""

from __future__ import annotations


class StoreError(Exception):
    """Base class: a problem the operator or caller can act on (no traceback needed)."""


class KeyringError(StoreError):
    """The keyring is missing, malformed or does not hold a key that is needed."""


class MissingKeyError(KeyringError):
    """A value was encrypted under a key id the keyring does not have."""

    def __init__(self, key_id: str, where: str) -> None:
        self.key_id = key_id
        self.where = where
        super().__init__(
            f"key {key_id!r} is not in the keyring; it is needed to decrypt {where}. "
            "Add the old key back to the keyring (keep it until `voiceagent keys rotate` "
            "has re-encrypted everything)."
        )


class DecryptionError(StoreError):
    """A ciphertext failed authentication: tampered with, or moved from another row."""

    def __init__(self, where: str, key_id: str | None, problem: str) -> None:
        self.where = where
        self.key_id = key_id
        super().__init__(f"cannot decrypt {where} (key {key_id!r}): {problem}")


class SchemaNotReady(StoreError):
    """The database is not at the migration revision this code expects."""


class NotFound(StoreError):
    def __init__(self, record_type: str, record_id: str) -> None:
        self.record_type = record_type
        self.record_id = record_id
        super().__init__(f"{record_type} {record_id!r} not found")


class SlotTaken(StoreError):
    """Someone else holds (part of) this provider's time: the booking lost the race."""

    def __init__(self, provider_id: str, start_utc: object) -> None:
        self.provider_id = provider_id
        self.start_utc = start_utc
        super().__init__(f"the slot of {provider_id} at {start_utc} is already booked")


class SlotUnavailable(StoreError):
    """The requested time is not an opening in the schedule (closed, blocked, off-grid)."""


class InvalidTransition(StoreError):
    """A status change that the record's current status does not allow."""


class FixtureError(StoreError):
    """A clinic fixture failed validation; ``problems`` are ``file:line: path: message``."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))

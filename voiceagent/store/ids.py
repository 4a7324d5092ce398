"""Row ids and clock helpers shared by the models and repositories."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime


def new_id() -> str:
    """A client-side row id, known before INSERT so it can be bound into ciphertexts."""
    return uuid.uuid4().hex


def utcnow() -> datetime:
    return datetime.now(UTC)

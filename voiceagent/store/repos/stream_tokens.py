"""Single-use tokens for a call's media websocket, shared by all replicas via the database.

Only the SHA-256 of a token is stored. Consuming is one conditional UPDATE; its row count
decides, so two replicas presented with the same token cannot both accept it.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from voiceagent.store.models import StreamToken

_TOKENS = StreamToken.__table__


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_stream_token(
    session: Session, call_sid: str, *, now: datetime, ttl_seconds: int = 60
) -> str:
    token = secrets.token_urlsafe(32)
    session.add(
        StreamToken(
            token_hash=_hash(token),
            call_sid=call_sid,
            created_at=now,
            expires_at=now + timedelta(seconds=ttl_seconds),
        )
    )
    session.flush()
    return token


def consume_stream_token(session: Session, token: str, call_sid: str, *, now: datetime) -> bool:
    """True exactly once for a valid, unexpired token issued for ``call_sid``."""
    result = session.execute(
        update(_TOKENS)
        .where(
            _TOKENS.c.token_hash == _hash(token),
            _TOKENS.c.call_sid == call_sid,
            _TOKENS.c.used_at.is_(None),
            _TOKENS.c.expires_at > now,
        )
        .values(used_at=now)
    )
    return result.rowcount == 1


def purge_stream_tokens(session: Session, *, now: datetime) -> int:
    """Delete expired tokens; returns how many."""
    result = session.execute(delete(_TOKENS).where(_TOKENS.c.expires_at <= now))
    return result.rowcount

"""Who is asking: staff sign-in sessions (a cookie) and API bearer tokens.

A session is a random 256-bit id in an HttpOnly cookie; the database keeps only its SHA-256,
so a copy of the database opens no session. Each request checks, in the database (any
replica can answer): the account is still active, the session is younger than the absolute
timeout and was used within the idle timeout. A new id is issued at every sign-in.

The CSRF token is an HMAC of the session id: every replica can check it without storing
it, it changes with the session, and it cannot be derived from the database.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from voiceagent.config import Settings
from voiceagent.store import Actor, Database
from voiceagent.store.repos import staff as staff_repo

PLAIN_COOKIE = "va_session"
# The __Host- prefix makes browsers refuse the cookie unless it is Secure, host-only and
# for path /, so a sibling subdomain cannot plant or shadow it.
HTTPS_COOKIE = "__Host-va_session"
LOGIN_COOKIE = "va_login"  # the sign-in form's double-submit token (no session yet)


@dataclass(frozen=True)
class Principal:
    """A signed-in staff member or an API token, with what it may do."""

    kind: Literal["staff", "api"]
    id: str  # staff user id or API token id
    username: str | None
    role: str
    session_secret: str | None = None
    idle_seconds: int | None = None

    @property
    def actor(self) -> Actor:
        return (
            Actor.staff(self.username)
            if self.kind == "staff" and self.username
            else (Actor.api(self.id))
        )

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def label(self) -> str:
        """How the store names this actor in ``claimed_by`` / ``done_by`` columns."""
        return f"{self.actor.type}:{self.actor.id}"

    @property
    def csrf_token(self) -> str | None:
        return csrf_token_for(self.session_secret) if self.session_secret else None


def csrf_token_for(session_secret: str) -> str:
    return hmac.new(session_secret.encode(), b"voiceagent-csrf-v1", hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class SessionPolicy:
    idle: timedelta
    absolute: timedelta
    secure: bool

    @classmethod
    def from_settings(cls, settings: Settings) -> SessionPolicy:
        return cls(
            idle=timedelta(seconds=settings.session_idle_timeout_seconds),
            absolute=timedelta(seconds=settings.session_absolute_timeout_seconds),
            secure=settings.public_base_url.lower().startswith("https://"),
        )

    @property
    def cookie_name(self) -> str:
        return HTTPS_COOKIE if self.secure else PLAIN_COOKIE

    def cookie_options(self) -> dict[str, object]:
        # SameSite=Strict: the browser never sends the session on a request started by
        # another site (forms, images, links); the CSRF token is the second line.
        return {
            "httponly": True,
            "secure": self.secure,
            "samesite": "strict",
            "path": "/",
            "max_age": int(self.absolute.total_seconds()),
        }


@dataclass(frozen=True)
class SessionCheck:
    principal: Principal | None
    expired: bool = False  # there was a session, and it ended (timeout, disabled account)
    seconds_left: float | None = None  # until the idle timeout, for streams that wait


def check_session(
    db: Database,
    policy: SessionPolicy,
    secret: str | None,
    *,
    now: datetime,
    touch: bool = True,
) -> SessionCheck:
    """The principal for a session cookie. ``touch`` counts this request as activity (page
    views and form posts do; the live queue's push stream does not)."""
    if not secret:
        return SessionCheck(None)
    with db.session() as session:
        found = staff_repo.load_session(session, secret)
        if found is None:
            return SessionCheck(None)
        row, user = found
        idle_ends = row.last_seen_at + policy.idle
        if not user.active or row.expires_at <= now or idle_ends <= now:
            session.delete(row)
            return SessionCheck(None, expired=True)
        if touch:
            row.last_seen_at = now
            idle_ends = now + policy.idle
        principal = Principal(
            kind="staff",
            id=user.id,
            username=user.username,
            role=user.role,
            session_secret=secret,
            idle_seconds=int(policy.idle.total_seconds()),
        )
        left = (min(idle_ends, row.expires_at) - now).total_seconds()
        return SessionCheck(principal, seconds_left=left)


def token_expiry(
    settings: Settings, now: datetime, days: int | None, *, never: bool = False
) -> datetime | None:
    """When a new API token expires: after ``days`` if given, else the configured default.
    ``never`` (None) only when the server's operator asks for it in so many words."""
    if never:
        return None
    return now + timedelta(days=days or settings.api_token_default_days)


def check_token(db: Database, secret: str, *, now: datetime) -> Principal | None:
    with db.session() as session:
        token = staff_repo.find_token(session, secret, now=now)
        if token is None:
            return None
        staff_repo.note_token_use(token, now)
        return Principal(kind="api", id=token.id, username=None, role=token.role)

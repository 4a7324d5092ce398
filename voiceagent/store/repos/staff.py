"""Staff accounts, API tokens, sign-in sessions and the sign-in throttle.

Secrets are never stored: passwords as argon2id hashes, API tokens and session ids as
SHA-256 digests (they are long random strings, so a fast hash is enough and lookups stay
indexed). Every change to an account or a token is audited.

The sign-in throttle counts failed sign-ins in the audit log itself (two entries per
failure: one keyed by a digest of the username and the client address, one by the address,
both on the indexed ``record_type``/``record_id`` pair). Failed sign-ins must be audited
anyway, and the log is in the shared database, so the limit holds across replicas with no
extra table. Each failure carries the runtime's clock (``clock_at``): the log stamps entries
with the real time, which a moved development clock does not follow.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from datetime import datetime, timedelta
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from voiceagent.store import audit
from voiceagent.store.actor import Actor
from voiceagent.store.errors import NotFound, StoreError
from voiceagent.store.models import ROLES, ApiToken, AuditEntry, StaffSession, StaffUser

TOKEN_PREFIX = "vat_"  # noqa: S105 - a marker, not a secret
USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
LOGIN_BY_PAIR = "login_pair"  # a (username, client address) pair
LOGIN_BY_ADDRESS = "login_address"
LOGIN_OK = "staff.login"
LOGIN_FAILED = "staff.login_failed"

_HASHER = PasswordHasher()  # argon2id with the library's (RFC 9106) defaults


class AccountError(StoreError):
    """An account change that cannot be made (taken username, weak password, last admin)."""


# --- helpers -------------------------------------------------------------------------------


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def normalize_username(username: str) -> str:
    return username.strip().lower()


def username_key(username: str) -> str:
    """What the throttle records for a typed username: a digest, since people sometimes
    type their password into the username field."""
    return digest("username:" + normalize_username(username))


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _HASHER.hash(secrets.token_urlsafe(16))


def password_problem(username: str, password: str, min_length: int) -> str | None:
    """Why a new password is refused, or None. Length over composition rules (NIST 800-63B)."""
    if len(password) < min_length:
        return f"the password must be at least {min_length} characters"
    if len(password) > 1024:
        return "the password is too long"
    if normalize_username(username) in password.lower():
        return "the password must not contain the username"
    if len(set(password)) < 4:
        return "the password is too repetitive"
    return None


def check_password(session: Session, user: StaffUser | None, password: str) -> bool:
    """Verify ``password``; with no user, a dummy hash is checked so the time taken does
    not tell whether the username exists. Old parameters are upgraded on success."""
    stored = user.password_hash if user is not None else _dummy_hash()
    try:
        _HASHER.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    if user is None:
        return False
    if _HASHER.check_needs_rehash(stored):
        user.password_hash = _HASHER.hash(password)
        session.flush()
    return True


# --- staff users ---------------------------------------------------------------------------


def get_user(session: Session, user_id: str) -> StaffUser:
    user = session.get(StaffUser, user_id)
    if user is None:
        raise NotFound("staff user", user_id)
    return user


def find_user(session: Session, username: str) -> StaffUser | None:
    return session.scalars(
        select(StaffUser).where(StaffUser.username == normalize_username(username))
    ).first()


def list_users(session: Session) -> list[StaffUser]:
    return list(session.scalars(select(StaffUser).order_by(StaffUser.username)))


def create_user(
    session: Session,
    actor: Actor,
    *,
    username: str,
    password: str,
    role: str = "staff",
    min_length: int = 12,
) -> StaffUser:
    name = normalize_username(username)
    if not USERNAME_PATTERN.match(name):
        raise AccountError(
            "usernames are 2-64 characters: letters, digits, dot, dash or underscore"
        )
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")
    if find_user(session, name) is not None:
        raise AccountError(f"the username {name!r} is taken")
    if problem := password_problem(name, password, min_length):
        raise AccountError(problem)
    user = StaffUser(username=name, password_hash=_HASHER.hash(password), role=role, active=True)
    session.add(user)
    session.flush()
    audit.record(session, actor, "staff_user.create", "staff_user", user.id, role=role)
    return user


def _active_admins(session: Session) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(StaffUser)
            .where(StaffUser.active, StaffUser.role == "admin")
        )
        or 0
    )


def set_user_active(session: Session, actor: Actor, user_id: str, active: bool) -> StaffUser:
    """Enable or disable an account; disabling ends its sessions at once."""
    user = get_user(session, user_id)
    if not active and user.active and user.role == "admin" and _active_admins(session) <= 1:
        raise AccountError("the last active admin cannot be disabled")
    user.active = active
    if not active:
        end_user_sessions(session, user.id)
    session.flush()
    action = "staff_user.enable" if active else "staff_user.disable"
    audit.record(session, actor, action, "staff_user", user.id)
    return user


def set_user_role(session: Session, actor: Actor, user_id: str, role: str) -> StaffUser:
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")
    user = get_user(session, user_id)
    if user.role == "admin" and role != "admin" and user.active and _active_admins(session) <= 1:
        raise AccountError("the last active admin must stay an admin")
    previous, user.role = user.role, role
    session.flush()
    audit.record(
        session, actor, "staff_user.role", "staff_user", user.id, role=role, previous=previous
    )
    return user


def set_password(
    session: Session, actor: Actor, user_id: str, password: str, *, min_length: int = 12
) -> StaffUser:
    """A new password; every session of the account ends (sign in again with it)."""
    user = get_user(session, user_id)
    if problem := password_problem(user.username, password, min_length):
        raise AccountError(problem)
    user.password_hash = _HASHER.hash(password)
    end_user_sessions(session, user.id)
    session.flush()
    audit.record(session, actor, "staff_user.password", "staff_user", user.id)
    return user


# --- API tokens ----------------------------------------------------------------------------


def create_token(
    session: Session,
    actor: Actor,
    *,
    role: str,
    label: str | None = None,
    created_by: str | None = None,
    expires_at: datetime | None = None,
) -> tuple[ApiToken, str]:
    """A new bearer token; the secret is returned once and only its digest is kept."""
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        token_hash=digest(secret),
        name=(label or "").strip()[:100] or None,
        role=role,
        created_by=created_by,
        expires_at=expires_at,
    )
    session.add(token)
    session.flush()
    audit.record(session, actor, "api_token.create", "api_token", token.id, role=role)
    return token, secret


def token_by_secret(session: Session, secret: str) -> ApiToken | None:
    """The token row for a secret, live or not (to revoke it); never use it to let in."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    return session.scalars(select(ApiToken).where(ApiToken.token_hash == digest(secret))).first()


def find_token(session: Session, secret: str, *, now: datetime) -> ApiToken | None:
    """The live token for a presented secret (not revoked, not expired, its creator still
    allowed to make it), or None."""
    token = token_by_secret(session, secret)
    if token is None or token.revoked_at is not None:
        return None
    if token.expires_at is not None and token.expires_at <= now:
        return None
    if creator_problem(session, token) is not None:
        return None
    return token


def creator_problem(session: Session, token: ApiToken) -> str | None:
    """Why a dashboard-made token no longer works, or None. Such a token acts with its
    creator's authority, so it lapses when that admin is disabled or is no longer an admin
    (enabling or promoting them again revives it; revoke it to end it for good).
    Command-line tokens (no creator) come from the server's operator and are unaffected."""
    if token.created_by is None:
        return None
    creator = session.get(StaffUser, token.created_by)
    if creator is None:
        return "creator gone"
    if not creator.active:
        return "creator disabled"
    if creator.role != "admin":
        return "creator not an admin"
    return None


def token_state(session: Session, token: ApiToken, *, now: datetime) -> str:
    """How lists show a token: revoked, expired, why its creator stops it, or active."""
    if token.revoked_at is not None:
        return "revoked"
    if token.expires_at is not None and token.expires_at <= now:
        return "expired"
    return creator_problem(session, token) or "active"


def note_token_use(token: ApiToken, now: datetime, every: timedelta = timedelta(minutes=1)) -> None:
    """Record when a token was last used, at most once a minute (no write per request)."""
    if token.last_used_at is None or now - token.last_used_at >= every:
        token.last_used_at = now


def list_tokens(session: Session) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).order_by(ApiToken.created_at.desc())))


def revoke_token(session: Session, actor: Actor, token_id: str, *, now: datetime) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound("API token", token_id)
    if token.revoked_at is None:
        token.revoked_at = now
        session.flush()
        audit.record(session, actor, "api_token.revoke", "api_token", token.id)
    return token


def find_tokens_by_label(session: Session, label: str) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).where(ApiToken.name == label)))


# --- sessions ------------------------------------------------------------------------------


def open_session(session: Session, user: StaffUser, *, lifetime: timedelta, now: datetime) -> str:
    """Start a sign-in session; returns the cookie value (only its digest is stored)."""
    secret = secrets.token_urlsafe(32)
    session.add(
        StaffSession(
            id_hash=digest(secret),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + lifetime,
        )
    )
    user.last_login_at = now
    session.flush()
    return secret


def load_session(session: Session, secret: str) -> tuple[StaffSession, StaffUser] | None:
    if not secret or len(secret) > 200:
        return None
    row = session.get(StaffSession, digest(secret))
    if row is None:
        return None
    user = session.get(StaffUser, row.user_id)
    return (row, user) if user is not None else None


def end_session(session: Session, secret: str) -> None:
    session.execute(delete(StaffSession).where(StaffSession.id_hash == digest(secret)))


def end_user_sessions(session: Session, user_id: str) -> None:
    session.execute(delete(StaffSession).where(StaffSession.user_id == user_id))


def purge_sessions(session: Session, *, idle: timedelta, now: datetime) -> int:
    """Delete sessions past their absolute end or idle for longer than ``idle``."""
    result = session.execute(
        delete(StaffSession).where(
            (StaffSession.expires_at <= now) | (StaffSession.last_seen_at <= now - idle)
        )
    )
    return int(result.rowcount or 0)


def count_sessions(session: Session, user_id: str) -> int:
    return (
        session.scalar(
            select(func.count()).select_from(StaffSession).where(StaffSession.user_id == user_id)
        )
        or 0
    )


# --- the sign-in throttle ------------------------------------------------------------------


def pair_key(username: str, address: str) -> str:
    """What the throttle records for a typed username signing in from an address."""
    return digest(username_key(username) + "@" + address)


def _failure_times(
    session: Session,
    record_type: str,
    key: str,
    *,
    now: datetime,
    window: timedelta,
    limit: int,
    after_seq: int = 0,
) -> list[datetime]:
    rows = session.execute(
        select(AuditEntry.at, AuditEntry.details)
        .where(
            AuditEntry.record_type == record_type,
            AuditEntry.record_id == key,
            AuditEntry.action == LOGIN_FAILED,
            AuditEntry.seq > after_seq,
        )
        .order_by(AuditEntry.seq.desc())
        .limit(limit)
    )
    times = [_clock_at(details) or at for at, details in rows]
    # Both ways: a stamp far in the future is from a development clock started later.
    return [at for at in times if abs(now - at) < window]


def _clock_at(details: str) -> datetime | None:
    """The runtime's time of a failure (entries from before it was recorded have none)."""
    try:
        at = datetime.fromisoformat(json.loads(details)["clock_at"])
    except (ValueError, KeyError, TypeError):
        return None
    return at if at.tzinfo is not None else None


def pair_failures(
    session: Session, username: str, address: str, *, now: datetime, window: timedelta, limit: int
) -> list[datetime]:
    """When the latest (at most ``limit``) failed sign-ins of ``username`` from ``address``
    happened on the runtime's clock, newest first: within ``window`` of ``now`` and after the
    pair's last successful sign-in."""
    key = pair_key(username, address)
    last_ok = session.scalar(
        select(func.max(AuditEntry.seq)).where(
            AuditEntry.record_type == LOGIN_BY_PAIR,
            AuditEntry.record_id == key,
            AuditEntry.action == LOGIN_OK,
        )
    )
    return _failure_times(
        session, LOGIN_BY_PAIR, key, now=now, window=window, limit=limit, after_seq=last_ok or 0
    )


def address_failures(
    session: Session, address: str, *, now: datetime, window: timedelta, limit: int
) -> list[datetime]:
    """The same for every username tried from ``address``; a success clears nothing here
    (one account of their own must not let a sprayer start again)."""
    return _failure_times(
        session, LOGIN_BY_ADDRESS, address[:64], now=now, window=window, limit=limit
    )


def record_login_failure(
    session: Session, *, username: str, ip: str, user_id: str | None, why: str, now: datetime
) -> None:
    actor = Actor.system("staff-login")
    details = {"user_id": user_id, "why": why, "ip": ip, "clock_at": now.isoformat()}
    audit.record(session, actor, LOGIN_FAILED, LOGIN_BY_PAIR, pair_key(username, ip), **details)
    audit.record(session, actor, LOGIN_FAILED, LOGIN_BY_ADDRESS, ip[:64], **details)


def record_login(session: Session, user: StaffUser, *, ip: str) -> None:
    """Audited, keyed by the pair: it clears that pair's failures, no other address's."""
    audit.record(
        session,
        Actor.staff(user.username),
        LOGIN_OK,
        LOGIN_BY_PAIR,
        pair_key(user.username, ip),
        user_id=user.id,
        ip=ip,
    )

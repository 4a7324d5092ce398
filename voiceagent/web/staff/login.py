"""Sign in, sign out, and the activity ping.

Sign-in is throttled, never locked: after a few failures of one username from one client
address, each further try from there waits 1, 2, 4 ... seconds (capped) after the last
failure and is answered 429 without the password being checked, so guessing from one place
slows to a crawl while the user, from anywhere else, still signs in. A much higher ceiling
per address catches spraying many usernames. Failures are counted in the database (see
:mod:`voiceagent.store.repos.staff`) on the runtime's clock, so the limits hold across
replicas. Every sign-in issues a fresh session id and ends the one the browser had (no
session fixation).
"""

from __future__ import annotations

import hmac
import math
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import RedirectResponse
from prometheus_client import Counter
from sqlalchemy.orm import Session

from voiceagent.config import Settings
from voiceagent.logs import get_logger
from voiceagent.store import audit
from voiceagent.store.repos import staff as staff_repo
from voiceagent.web.auth import StaffPost, StaffUser
from voiceagent.web.client_address import client_address
from voiceagent.web.pages import safe_next
from voiceagent.web.sessions import LOGIN_COOKIE, check_session
from voiceagent.web.state import WebState, web_state

log = get_logger(__name__)
router = APIRouter()

SIGN_INS = Counter("voiceagent_staff_sign_ins_total", "Staff sign-in attempts", ["result"])
WRONG = "Wrong username or password."


@dataclass(frozen=True)
class Attempt:
    result: str  # ok | wrong | throttled
    secret: str | None = None
    retry_after: int = 0  # seconds, when throttled


def delay_after(failures: int, *, free: int, cap: int) -> int:
    """Seconds a (username, address) pair waits after its latest failure before the next
    check: none for the first ``free`` failures, then 1, 2, 4 ... up to ``cap``."""
    if failures < free:
        return 0
    return min(cap, 2 ** min(failures - free, 30))


def _since(now: datetime, at: datetime) -> timedelta:
    return max(timedelta(0), now - at)


def throttle_wait(
    session: Session, settings: Settings, username: str, ip: str, now: datetime
) -> int:
    """Whole seconds before this username may be tried from this address (0: now)."""
    window = timedelta(seconds=settings.login_window_seconds)
    free, cap = settings.login_free_failures, settings.login_max_delay_seconds
    waits = [timedelta(0)]
    # Past free + bit_length(cap) failures the delay is at its cap: no need to count on.
    pair = staff_repo.pair_failures(
        session, username, ip, now=now, window=window, limit=free + cap.bit_length()
    )
    if pair:
        delay = timedelta(seconds=delay_after(len(pair), free=free, cap=cap))
        waits.append(delay - _since(now, pair[0]))
    ceiling = settings.login_max_failures_per_ip
    spray = staff_repo.address_failures(session, ip, now=now, window=window, limit=ceiling)
    if len(spray) >= ceiling:  # open again when the oldest of them leaves the window
        waits.append(window - _since(now, spray[-1]))
    return max(0, math.ceil(max(waits).total_seconds()))


class InFlight:
    """Pairs whose password is being checked in this process. Parallel guesses would all
    read the failure count before any of them is recorded; one check per pair at a time
    keeps the delays real (across replicas, one per replica)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: set[str] = set()

    @contextmanager
    def claim(self, key: str) -> Iterator[bool]:
        with self._lock:
            won = key not in self._keys
            self._keys.add(key)
        try:
            yield won
        finally:
            if won:
                with self._lock:
                    self._keys.discard(key)


_CHECKING = InFlight()


def _wait_text(seconds: int) -> str:
    if seconds >= 120:
        return f"{math.ceil(seconds / 60)} minutes"
    return "1 second" if seconds == 1 else f"{seconds} seconds"


def _login_page(
    request: Request,
    web: WebState,
    *,
    next_path: str,
    error: str | None = None,
    username: str = "",
    status_code: int = 200,
    signed_in_as: str | None = None,
) -> Response:
    token = secrets.token_urlsafe(24)
    response = web.page(
        request,
        "login.html",
        None,
        status_code=status_code,
        login_token=token,
        next_path=next_path,
        error=error,
        username=username,
        signed_in_as=signed_in_as,
    )
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        max_age=3600,
        path="/staff/login",
        httponly=True,
        secure=web.policy.secure,
        samesite="strict",
    )
    return response


@router.get("/staff/login")
def login_form(
    request: Request,
    web: Annotated[WebState, Depends(web_state)],
    next: str | None = None,
) -> Response:
    # Signed in already? The form still shows: on a shared front-desk PC the next person
    # signs in over the last one (whose session then ends).
    current = check_session(
        web.db,
        web.policy,
        request.cookies.get(web.policy.cookie_name),
        now=web.now(),
        touch=False,
    )
    signed_in_as = current.principal.username if current.principal else None
    return _login_page(request, web, next_path=safe_next(next), signed_in_as=signed_in_as)


def _attempt(web: WebState, username: str, password: str, ip: str, old: str | None) -> Attempt:
    with _CHECKING.claim(staff_repo.pair_key(username, ip)) as mine:
        if not mine:
            return Attempt("throttled", retry_after=1)
        return _check(web, username, password, ip, old)


def _check(web: WebState, username: str, password: str, ip: str, old: str | None) -> Attempt:
    now = web.now()  # failures are recorded and aged on this one clock
    with web.db.session() as session:
        if wait := throttle_wait(session, web.settings, username, ip, now):
            return Attempt("throttled", retry_after=wait)
        user = staff_repo.find_user(session, username)
        if not staff_repo.check_password(session, user, password) or user is None:
            why = "unknown_user" if user is None else "wrong_password"
            staff_repo.record_login_failure(
                session,
                username=username,
                ip=ip,
                user_id=user.id if user else None,
                why=why,
                now=now,
            )
            return Attempt("wrong")
        if not user.active:
            staff_repo.record_login_failure(
                session, username=username, ip=ip, user_id=user.id, why="disabled", now=now
            )
            return Attempt("wrong")
        if old:
            staff_repo.end_session(session, old)
        staff_repo.purge_sessions(session, idle=web.policy.idle, now=now)
        secret = staff_repo.open_session(session, user, lifetime=web.policy.absolute, now=now)
        staff_repo.record_login(session, user, ip=ip)
        return Attempt("ok", secret)


@router.post("/staff/login")
def login(
    request: Request,
    web: Annotated[WebState, Depends(web_state)],
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    login_token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/staff",
) -> Response:
    next_path = safe_next(next)
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not expected or not hmac.compare_digest(expected, login_token):
        # No matching form cookie: a stale tab, or a form posted from another site.
        return _login_page(
            request,
            web,
            next_path=next_path,
            error="The sign-in form expired. Please try again.",
            username=username,
            status_code=400,
        )
    if not username or not password:
        return _login_page(
            request, web, next_path=next_path, error=WRONG, username=username, status_code=401
        )
    old = request.cookies.get(web.policy.cookie_name)
    ip = client_address(request, web.settings.trusted_proxies)
    attempt = _attempt(web, username, password, ip, old)
    SIGN_INS.labels(result=attempt.result).inc()
    if attempt.result == "throttled":
        log.warning("sign_in_throttled", retry_after=attempt.retry_after)
        page = _login_page(
            request,
            web,
            next_path=next_path,
            error=f"Too many failed sign-ins. Wait {_wait_text(attempt.retry_after)}, "
            "then try again.",
            username=username,
            status_code=429,
        )
        page.headers["Retry-After"] = str(attempt.retry_after)
        return page
    if attempt.result != "ok" or attempt.secret is None:
        return _login_page(
            request, web, next_path=next_path, error=WRONG, username=username, status_code=401
        )
    response = RedirectResponse(next_path, status_code=303)
    response.set_cookie(web.policy.cookie_name, attempt.secret, **web.policy.cookie_options())
    response.delete_cookie(LOGIN_COOKIE, path="/staff/login")
    return response


@router.post("/staff/logout")
def logout(
    request: Request, principal: StaffPost, web: Annotated[WebState, Depends(web_state)]
) -> Response:
    with web.db.session() as session:
        if principal.session_secret:
            staff_repo.end_session(session, principal.session_secret)
        audit.record(session, principal.actor, "staff.logout", "staff_user", principal.id)
    response = RedirectResponse("/staff/login?msg=logged_out", status_code=303)
    response.delete_cookie(web.policy.cookie_name, path="/")
    return response


@router.get("/staff/session/ping")
def ping(principal: StaffUser) -> Response:
    """The page saw the user type or click: count it as activity (the idle timeout)."""
    return Response(status_code=204)

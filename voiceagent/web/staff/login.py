"""Sign in, sign out, and the activity ping.

Sign-in is throttled per username and per client address, counted in the database (see
:mod:`voiceagent.store.repos.staff`), so the limits hold across replicas. Every sign-in
issues a fresh session id and ends the one the browser had (no session fixation).
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import RedirectResponse
from prometheus_client import Counter

from voiceagent.logs import get_logger
from voiceagent.store import audit
from voiceagent.store.repos import staff as staff_repo
from voiceagent.web.auth import StaffPost, StaffUser
from voiceagent.web.pages import safe_next
from voiceagent.web.sessions import LOGIN_COOKIE, check_session
from voiceagent.web.state import WebState, web_state

log = get_logger(__name__)
router = APIRouter()

SIGN_INS = Counter("voiceagent_staff_sign_ins_total", "Staff sign-in attempts", ["result"])
WRONG = "Wrong username or password."


@dataclass(frozen=True)
class Attempt:
    result: str  # ok | wrong | locked
    secret: str | None = None


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


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
    settings = web.settings
    now = web.now()
    since = now - timedelta(seconds=settings.login_window_seconds)
    with web.db.session() as session:
        by_ip = staff_repo.recent_failures(session, staff_repo.LOGIN_BY_ADDRESS, ip[:64], since)
        by_user = staff_repo.recent_failures(
            session, staff_repo.LOGIN_BY_USER, staff_repo.username_key(username), since
        )
        if by_ip >= settings.login_max_failures_per_ip or by_user >= settings.login_max_failures:
            return Attempt("locked")
        user = staff_repo.find_user(session, username)
        if not staff_repo.check_password(session, user, password) or user is None:
            why = "unknown_user" if user is None else "wrong_password"
            staff_repo.record_login_failure(
                session, username=username, ip=ip, user_id=user.id if user else None, why=why
            )
            return Attempt("wrong")
        if not user.active:
            staff_repo.record_login_failure(
                session, username=username, ip=ip, user_id=user.id, why="disabled"
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
    attempt = _attempt(web, username, password, _client_ip(request), old)
    SIGN_INS.labels(result=attempt.result).inc()
    if attempt.result == "locked":
        minutes = max(1, web.settings.login_window_seconds // 60)
        log.warning("sign_in_locked")
        return _login_page(
            request,
            web,
            next_path=next_path,
            error=f"Too many failed sign-ins. Wait {minutes} minutes or ask an administrator.",
            username=username,
            status_code=429,
        )
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

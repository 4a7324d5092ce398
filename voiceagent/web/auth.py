"""FastAPI dependencies that let a request in (or not): staff pages, admin pages, the API,
and CSRF checks on everything that changes state.

Failures raise the exceptions below; :mod:`voiceagent.web.errors` turns them into a
redirect to the sign-in page (pages) or a JSON error (API).
"""

from __future__ import annotations

import hmac
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from voiceagent.web.sessions import Principal, check_session, check_token
from voiceagent.web.state import WebState, web_state


class LoginRequired(Exception):
    """No valid session (or token, for the API)."""

    def __init__(self, *, expired: bool = False) -> None:
        super().__init__("sign-in required")
        self.expired = expired


class Forbidden(Exception):
    """Signed in, but the role does not allow this."""


class CsrfFailed(Exception):
    """A state-changing request without this session's CSRF token, or from another site."""


def _session_principal(request: Request, web: WebState) -> Principal:
    """The signed-in staff member; this request counts as activity (idle timeout)."""
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    secret = request.cookies.get(web.policy.cookie_name)
    result = check_session(web.db, web.policy, secret, now=web.now())
    if result.principal is None:
        raise LoginRequired(expired=result.expired)
    request.state.principal = result.principal
    return result.principal


def staff_user(request: Request, web: Annotated[WebState, Depends(web_state)]) -> Principal:
    """A signed-in staff member (any role); the request counts as activity."""
    return _session_principal(request, web)


def admin_user(principal: Annotated[Principal, Depends(staff_user)]) -> Principal:
    if not principal.is_admin:
        raise Forbidden()
    return principal


_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="token",
    description="A token from `voiceagent staff token create` (or a staff session cookie).",
)


# A bearer token if one was sent (None otherwise: the route decides what else will do).
BearerCredentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def api_client(
    request: Request,
    web: Annotated[WebState, Depends(web_state)],
    credentials: BearerCredentials,
) -> Principal:
    """A bearer token, or else a staff session (the dashboard's own calls)."""
    if credentials is not None:
        principal = check_token(web.db, credentials.credentials, now=web.now())
        if principal is None:
            raise LoginRequired()
        request.state.principal = principal
        return principal
    return _session_principal(request, web)


def api_admin(principal: Annotated[Principal, Depends(api_client)]) -> Principal:
    if not principal.is_admin:
        raise Forbidden()
    return principal


def _same_origin(request: Request, web: WebState) -> bool:
    """Browsers say where a request comes from; it must be one of our pages. No headers at
    all: not a browser (or a very old one); the token check still applies."""
    site = request.headers.get("sec-fetch-site")
    if site == "cross-site":
        return False
    origin = request.headers.get("origin")
    if origin is None:
        return True
    if origin == "null":  # privacy settings hide the origin; the fetch metadata does not
        return site == "same-origin"
    own = f"{request.url.scheme}://{request.url.netloc}"
    return origin in {own, _origin(web.settings.public_base_url)}


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


async def csrf_checked(
    request: Request,
    principal: Annotated[Principal, Depends(staff_user)],
    web: Annotated[WebState, Depends(web_state)],
) -> Principal:
    """A staff member posting a form (or fetch with X-CSRF-Token) from one of our pages."""
    sent = request.headers.get("x-csrf-token")
    if sent is None:
        form = await request.form()
        value = form.get("csrf_token")
        sent = value if isinstance(value, str) else None
    expected = principal.csrf_token
    if not sent or not expected or not hmac.compare_digest(sent, expected):
        raise CsrfFailed()
    if not _same_origin(request, web):
        raise CsrfFailed()
    return principal


async def admin_csrf_checked(
    principal: Annotated[Principal, Depends(csrf_checked)],
) -> Principal:
    if not principal.is_admin:
        raise Forbidden()
    return principal


StaffUser = Annotated[Principal, Depends(staff_user)]
AdminUser = Annotated[Principal, Depends(admin_user)]
StaffPost = Annotated[Principal, Depends(csrf_checked)]
AdminPost = Annotated[Principal, Depends(admin_csrf_checked)]
ApiClient = Annotated[Principal, Depends(api_client)]
ApiAdmin = Annotated[Principal, Depends(api_admin)]

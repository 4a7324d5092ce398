"""API tokens: create (the secret is shown once, on the response page) and revoke."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from voiceagent.store.errors import NotFound
from voiceagent.store.models import ROLES
from voiceagent.store.repos import staff as staff_repo
from voiceagent.web.auth import AdminPost, AdminUser
from voiceagent.web.pages import back_to
from voiceagent.web.sessions import Principal, token_expiry
from voiceagent.web.state import WebState, web_state

router = APIRouter()


def _page(
    request: Request,
    web: WebState,
    principal: Principal,
    *,
    new_secret: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    now = web.now()
    with web.db.session() as session:
        tokens = staff_repo.list_tokens(session)
        users = {u.id: u.username for u in staff_repo.list_users(session)}
        states = {t.id: staff_repo.token_state(session, t, now=now) for t in tokens}
    return web.page(
        request,
        "admin/tokens.html",
        principal,
        status_code=status_code,
        tokens=tokens,
        users=users,
        states=states,
        default_days=web.settings.api_token_default_days,
        roles=ROLES,
        new_secret=new_secret,
        error=error,
    )


@router.get("/staff/admin/tokens")
def tokens_page(
    request: Request, principal: AdminUser, web: Annotated[WebState, Depends(web_state)]
) -> Response:
    return _page(request, web, principal)


@router.post("/staff/admin/tokens")
def create_token(
    request: Request,
    principal: AdminPost,
    web: Annotated[WebState, Depends(web_state)],
    role: Annotated[str, Form(max_length=16)],
    label: Annotated[str, Form(max_length=100)] = "",
    expires_days: Annotated[str, Form(max_length=5, pattern=r"^\d{0,4}$")] = "",
) -> Response:
    # Empty (or 0) is the default lifetime: a token made in the browser always expires.
    expires = token_expiry(web.settings, web.now(), int(expires_days) if expires_days else None)
    try:
        with web.db.session() as session:
            _token, secret = staff_repo.create_token(
                session,
                principal.actor,
                role=role,
                label=label,
                created_by=principal.id,
                expires_at=expires,
            )
    except staff_repo.AccountError as exc:
        return _page(request, web, principal, error=str(exc), status_code=422)
    # Shown on this response only (never stored, never in a URL; the page is no-store).
    return _page(request, web, principal, new_secret=secret)


@router.post("/staff/admin/tokens/{token_id}/revoke")
def revoke_token(
    token_id: str, principal: AdminPost, web: Annotated[WebState, Depends(web_state)]
) -> Response:
    try:
        with web.db.session() as session:
            staff_repo.revoke_token(session, principal.actor, token_id, now=web.now())
    except NotFound:
        return back_to("/staff/admin/tokens", "not_found")
    return back_to("/staff/admin/tokens", "token_revoked")

"""Staff accounts: add, change role, disable / enable, reset password."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from voiceagent.store.errors import NotFound
from voiceagent.store.models import ROLES
from voiceagent.store.repos import staff as staff_repo
from voiceagent.web.auth import AdminPost, AdminUser
from voiceagent.web.pages import back_to
from voiceagent.web.sessions import Principal
from voiceagent.web.state import WebState, web_state

router = APIRouter()

PASSWORD = Annotated[str, Form(max_length=1024)]


def _page(
    request: Request,
    web: WebState,
    principal: Principal,
    *,
    error: str | None = None,
    status_code: int = 200,
    form: dict[str, str] | None = None,
) -> Response:
    with web.db.session() as session:
        users = [
            (user, staff_repo.count_sessions(session, user.id))
            for user in staff_repo.list_users(session)
        ]
    return web.page(
        request,
        "admin/users.html",
        principal,
        status_code=status_code,
        users=users,
        roles=ROLES,
        error=error,
        form=form or {},
        min_length=web.settings.staff_password_min_length,
    )


@router.get("/staff/admin/users")
def users_page(
    request: Request, principal: AdminUser, web: Annotated[WebState, Depends(web_state)]
) -> Response:
    return _page(request, web, principal)


@router.post("/staff/admin/users")
def create_user(
    request: Request,
    principal: AdminPost,
    web: Annotated[WebState, Depends(web_state)],
    username: Annotated[str, Form(max_length=64)],
    role: Annotated[str, Form(max_length=16)],
    password: PASSWORD,
    password_again: PASSWORD,
) -> Response:
    form = {"username": username, "role": role}
    if password != password_again:
        return _page(
            request, web, principal, error="The passwords do not match.", status_code=422, form=form
        )
    try:
        with web.db.session() as session:
            staff_repo.create_user(
                session,
                principal.actor,
                username=username,
                password=password,
                role=role,
                min_length=web.settings.staff_password_min_length,
            )
    except staff_repo.AccountError as exc:
        return _page(request, web, principal, error=str(exc), status_code=422, form=form)
    return back_to("/staff/admin/users", "user_created")


@router.post("/staff/admin/users/{user_id}/role")
def change_role(
    user_id: str,
    request: Request,
    principal: AdminPost,
    web: Annotated[WebState, Depends(web_state)],
    role: Annotated[str, Form(max_length=16)],
) -> Response:
    try:
        with web.db.session() as session:
            staff_repo.set_user_role(session, principal.actor, user_id, role)
    except staff_repo.AccountError as exc:
        return _page(request, web, principal, error=str(exc), status_code=422)
    except NotFound:
        return back_to("/staff/admin/users", "not_found")
    return back_to("/staff/admin/users", "user_updated")


@router.post("/staff/admin/users/{user_id}/active")
def set_active(
    user_id: str,
    request: Request,
    principal: AdminPost,
    web: Annotated[WebState, Depends(web_state)],
    active: Annotated[str, Form(pattern="^(yes|no)$")],
) -> Response:
    if user_id == principal.id and active == "no":
        return _page(
            request,
            web,
            principal,
            error="You cannot disable your own account; ask another admin.",
            status_code=422,
        )
    try:
        with web.db.session() as session:
            staff_repo.set_user_active(session, principal.actor, user_id, active == "yes")
    except staff_repo.AccountError as exc:
        return _page(request, web, principal, error=str(exc), status_code=422)
    except NotFound:
        return back_to("/staff/admin/users", "not_found")
    return back_to("/staff/admin/users", "user_updated")


@router.post("/staff/admin/users/{user_id}/password")
def reset_password(
    user_id: str,
    request: Request,
    principal: AdminPost,
    web: Annotated[WebState, Depends(web_state)],
    password: PASSWORD,
) -> Response:
    try:
        with web.db.session() as session:
            staff_repo.set_password(
                session,
                principal.actor,
                user_id,
                password,
                min_length=web.settings.staff_password_min_length,
            )
    except staff_repo.AccountError as exc:
        return _page(request, web, principal, error=str(exc), status_code=422)
    except NotFound:
        return back_to("/staff/admin/users", "not_found")
    if user_id == principal.id:  # your own sessions ended too, this one included
        return back_to("/staff/login", "password_set")
    return back_to("/staff/admin/users", "password_set")

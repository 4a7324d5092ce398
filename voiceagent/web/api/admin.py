"""Admin-only API reads (an admin token or an admin's session): accounts, tokens, flows."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from voiceagent.dialog.versions import history, managed_files
from voiceagent.store.repos import staff as staff_repo
from voiceagent.web.api import schemas
from voiceagent.web.auth import ApiAdmin
from voiceagent.web.errors import API_ERRORS
from voiceagent.web.state import WebState, web_state

router = APIRouter(prefix="/api/admin", tags=["admin"], responses=API_ERRORS)
Web = Annotated[WebState, Depends(web_state)]


@router.get("/staff-users", response_model=list[schemas.StaffUserOut], summary="Staff accounts")
def staff_users(client: ApiAdmin, web: Web) -> list[schemas.StaffUserOut]:
    with web.db.session() as session:
        return [schemas.StaffUserOut.of(u) for u in staff_repo.list_users(session)]


@router.get("/tokens", response_model=list[schemas.TokenOut], summary="API tokens (no secrets)")
def tokens(client: ApiAdmin, web: Web) -> list[schemas.TokenOut]:
    with web.db.session() as session:
        return [schemas.TokenOut.of(t) for t in staff_repo.list_tokens(session)]


@router.get(
    "/flows", response_model=list[schemas.FlowFileOut], summary="Dialogs files and live versions"
)
def flows(client: ApiAdmin, web: Web) -> list[schemas.FlowFileOut]:
    root = web.settings.dialogs_dir
    active = {v.name: v for v in history(web.db) if v.active}
    result = []
    for path in managed_files(root):
        name = path.relative_to(root).as_posix()
        version = active.get(name)
        result.append(
            schemas.FlowFileOut(
                name=name,
                version=version.version if version else None,
                author=version.author if version else None,
                updated_at=version.created_at if version else None,
            )
        )
    return result

"""Flows and policy: list, view, validate, edit (problems shown at their lines), save as a
new version, history with diffs, roll back.

Saving goes through :func:`voiceagent.dialog.versions.write_version`, which validates the
whole dialogs directory with the edit first: a broken edit is never written. The running
server reloads at once (other replicas' watchers pick up the file).
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from voiceagent.dialog.versions import (
    POLICY_FILE,
    VersionInfo,
    history,
    managed_files,
    propose,
    rollback,
    validate_dialogs,
    write_version,
)
from voiceagent.logs import get_logger
from voiceagent.store import audit
from voiceagent.web.auth import AdminPost, AdminUser
from voiceagent.web.pages import back_to
from voiceagent.web.sessions import Principal
from voiceagent.web.state import WebState, web_state
from voiceagent.yamlsource import MAX_FILE_CHARS, Problem

log = get_logger(__name__)
router = APIRouter()

NEW_FILE = re.compile(r"^(flows|patterns)/[a-z0-9][a-z0-9_-]{0,60}\.yaml$")
# Only against abuse of the form: a file past MAX_FILE_CHARS is refused by validation with
# a problem the editor shows, which this leaves room for.
MAX_YAML = 5 * MAX_FILE_CHARS
TEXT = Annotated[str, Form(max_length=MAX_YAML)]
NAME = Annotated[str, Form(max_length=200)]
CONTEXT_LINES = 2


@dataclass(frozen=True)
class ShownProblem:
    """A problem as the editor shows it, with the lines around it when it is in this file."""

    file: str
    line: int
    column: int
    message: str
    excerpt: list[tuple[int, str, bool]]  # (line number, text, is the problem line)


def _dialogs(web: WebState) -> Path:
    return web.settings.dialogs_dir


def _names(web: WebState) -> list[str]:
    root = _dialogs(web)
    return [p.relative_to(root).as_posix() for p in managed_files(root)]


def _check_name(web: WebState, name: str, *, allow_new: bool = False) -> str:
    name = name.strip()
    if name in _names(web) or (allow_new and NEW_FILE.match(name)):
        return name
    raise _BadName()


class _BadName(Exception):
    pass


def _relative(web: WebState, file: str) -> str:
    try:
        return Path(file).resolve().relative_to(_dialogs(web).resolve()).as_posix()
    except ValueError:
        return Path(file).name


def show_problems(
    web: WebState, name: str, text: str, problems: list[Problem]
) -> list[ShownProblem]:
    lines = text.splitlines()
    shown = []
    for problem in problems:
        file = _relative(web, problem.file)
        excerpt: list[tuple[int, str, bool]] = []
        if file == name and lines:
            first = max(1, problem.line - CONTEXT_LINES)
            last = min(len(lines), problem.line + CONTEXT_LINES)
            excerpt = [(n, lines[n - 1], n == problem.line) for n in range(first, last + 1)]
        shown.append(ShownProblem(file, problem.line, problem.column, problem.message, excerpt))
    return shown


def _versions(web: WebState, name: str) -> list[VersionInfo]:
    return sorted(history(web.db, name), key=lambda v: v.version, reverse=True)


def _editor(
    request: Request,
    web: WebState,
    principal: Principal,
    name: str,
    text: str,
    *,
    problems: list[Problem] | None = None,
    checked: bool = False,
    is_new: bool = False,
    save_refused: bool = False,
    status_code: int = 200,
) -> Response:
    versions = _versions(web, name)
    return web.page(
        request,
        "admin/flow_edit.html",
        principal,
        status_code=status_code,
        name=name,
        text=text,
        problems=show_problems(web, name, text, problems or []),
        checked=checked,
        is_new=is_new,
        save_refused=save_refused,
        active=next((v for v in versions if v.active), None),
        is_policy=name == POLICY_FILE,
    )


def _not_a_file(request: Request, web: WebState, principal: Principal) -> Response:
    return web.page(
        request,
        "error.html",
        principal,
        status_code=404,
        title="No such file",
        text="That is not one of the dialogs files (new files go under flows/ or patterns/ "
        "and end in .yaml).",
    )


def _reload(web: WebState) -> list[Problem]:
    problems = web.runtime.dialogs.reload()
    web.runtime.dialog_problems = problems
    return problems


def _audit(web: WebState, principal: Principal, action: str, name: str, **details: object) -> None:
    with web.db.session() as session:
        audit.record(session, principal.actor, action, "dialogs_file", name[:64], **details)


@router.get("/staff/admin/flows")
def flows_page(
    request: Request, principal: AdminUser, web: Annotated[WebState, Depends(web_state)]
) -> Response:
    latest = {v.name: v for v in history(web.db) if v.active}
    files = [(name, latest.get(name)) for name in _names(web)]
    rejected = [
        ShownProblem(_relative(web, p.file), p.line, p.column, p.message, [])
        for p in web.runtime.dialog_problems
    ]
    return web.page(request, "admin/flows.html", principal, files=files, rejected=rejected)


@router.post("/staff/admin/flows/validate")
def validate_all(
    request: Request, principal: AdminPost, web: Annotated[WebState, Depends(web_state)]
) -> Response:
    problems = validate_dialogs(_dialogs(web))
    latest = {v.name: v for v in history(web.db) if v.active}
    files = [(name, latest.get(name)) for name in _names(web)]
    shown = [
        ShownProblem(_relative(web, p.file), p.line, p.column, p.message, []) for p in problems
    ]
    return web.page(
        request,
        "admin/flows.html",
        principal,
        files=files,
        rejected=[],
        validated=shown,
        checked=True,
    )


@router.get("/staff/admin/policy")
def policy_page(
    request: Request, principal: AdminUser, web: Annotated[WebState, Depends(web_state)]
) -> Response:
    return flow_page(request, principal, web, POLICY_FILE)


@router.get("/staff/admin/flow")
def flow_page(
    request: Request,
    principal: AdminUser,
    web: Annotated[WebState, Depends(web_state)],
    name: str = "",
) -> Response:
    try:
        name = _check_name(web, name, allow_new=True)
    except _BadName:
        return _not_a_file(request, web, principal)
    path = _dialogs(web) / name
    is_new = not path.exists()
    text = "" if is_new else path.read_text(encoding="utf-8")
    if is_new and name.startswith("flows/"):
        stem = Path(name).stem
        text = f"flow: {stem}\ndescription: \nsteps:\n  - end: \nintent:\n  examples:\n    - \n"
    return _editor(request, web, principal, name, text, is_new=is_new)


@router.post("/staff/admin/flow/validate")
def flow_validate(
    request: Request,
    principal: AdminPost,
    web: Annotated[WebState, Depends(web_state)],
    name: NAME,
    text: TEXT,
) -> Response:
    try:
        name = _check_name(web, name, allow_new=True)
    except _BadName:
        return _not_a_file(request, web, principal)
    text = _normalise(text)
    problems = propose(_dialogs(web), name, text)
    return _editor(
        request,
        web,
        principal,
        name,
        text,
        problems=problems,
        checked=True,
        is_new=not (_dialogs(web) / name).exists(),
        status_code=422 if problems else 200,
    )


@router.post("/staff/admin/flow/save")
async def flow_save(
    request: Request,
    principal: AdminPost,
    web: Annotated[WebState, Depends(web_state)],
    name: NAME,
    text: TEXT,
) -> Response:
    try:
        name = _check_name(web, name, allow_new=True)
    except _BadName:
        return _not_a_file(request, web, principal)
    text = _normalise(text)
    author = principal.username or principal.id
    problems = await asyncio.to_thread(write_version, web.db, _dialogs(web), name, text, author)
    if problems:
        return _editor(
            request,
            web,
            principal,
            name,
            text,
            problems=problems,
            checked=True,
            is_new=not (_dialogs(web) / name).exists(),
            save_refused=True,
            status_code=422,
        )
    await asyncio.to_thread(_reload, web)
    await asyncio.to_thread(_audit, web, principal, "dialogs.save", name)
    log.info("dialogs_saved", file=name)
    return back_to("/staff/admin/flow", "saved", f"name={name}")


@router.get("/staff/admin/flow/history")
def flow_history(
    request: Request,
    principal: AdminUser,
    web: Annotated[WebState, Depends(web_state)],
    name: str = "",
) -> Response:
    try:
        name = _check_name(web, name)
    except _BadName:
        return _not_a_file(request, web, principal)
    return web.page(
        request, "admin/flow_history.html", principal, name=name, versions=_versions(web, name)
    )


@router.post("/staff/admin/flow/rollback")
async def flow_rollback(
    request: Request,
    principal: AdminPost,
    web: Annotated[WebState, Depends(web_state)],
    name: NAME,
    version: Annotated[int, Form(ge=1)],
) -> Response:
    try:
        name = _check_name(web, name)
    except _BadName:
        return _not_a_file(request, web, principal)
    author = principal.username or principal.id
    problems = await asyncio.to_thread(rollback, web.db, _dialogs(web), name, version, author)
    if problems:
        text = (_dialogs(web) / name).read_text(encoding="utf-8")
        return _editor(
            request,
            web,
            principal,
            name,
            text,
            problems=problems,
            checked=True,
            save_refused=True,
            status_code=422,
        )
    await asyncio.to_thread(_reload, web)
    await asyncio.to_thread(_audit, web, principal, "dialogs.rollback", name, version=version)
    return back_to("/staff/admin/flow/history", "rolled_back", f"name={name}")


def _normalise(text: str) -> str:
    """Browsers send CRLF from a textarea; files keep LF and end with a newline."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text if text.endswith("\n") else text + "\n"

"""Work queues: callbacks (done with a note), refill requests (approve / deny / needs a
visit) and insurance changes (verify / reject), each filterable by status and date."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from voiceagent.store.errors import InvalidTransition, NotFound
from voiceagent.store.models import CALLBACK_STATUSES, INSURANCE_CHANGE_STATUSES, REFILL_STATUSES
from voiceagent.store.repos import callbacks as callback_repo
from voiceagent.store.repos import insurance as insurance_repo
from voiceagent.store.repos import refills as refill_repo
from voiceagent.web import views
from voiceagent.web.auth import StaffPost, StaffUser
from voiceagent.web.filters import FilterError, choice, date_range
from voiceagent.web.pages import back_to, filter_query
from voiceagent.web.sessions import Principal
from voiceagent.web.state import WebState, web_state

router = APIRouter()

NOTE = Annotated[str, Form(max_length=2000)]
BACK = Annotated[str, Form(max_length=500)]


def _list_page(
    request: Request,
    web: WebState,
    principal: Principal,
    *,
    template: str,
    statuses: tuple[str, ...],
    default_status: str,
    load: Callable[..., list[Any]],
) -> Response:
    params = request.query_params
    status_param = params.get("status", default_status)
    since_text, until_text = params.get("since", ""), params.get("until", "")
    error: str | None = None
    rows: list[Any] = []
    try:
        status = choice(status_param, statuses, field="status")
        since, until = date_range(since_text, until_text, web.clinic().zone)
    except FilterError as exc:
        error = f"{exc.field}: {exc.problem}"
    else:
        rows = _load(web, principal, load, status, since, until)
    return web.page(
        request,
        template,
        principal,
        status_code=400 if error else 200,
        rows=rows,
        error=error,
        statuses=statuses,
        status=status_param,
        since=since_text,
        until=until_text,
        back=filter_query(str(request.url.query)),
    )


def _load(
    web: WebState,
    principal: Principal,
    load: Callable[..., list[Any]],
    status: str | None,
    since: datetime | None,
    until: datetime | None,
) -> list[Any]:
    with web.db.session() as session:
        return load(session, principal.actor, status=status, since=since, until=until)


def _decide(
    web: WebState, page: str, saved: str, back: str, change: Callable[[Session], object]
) -> Response:
    """One staff decision in one transaction; a record already worked (by someone else, in
    another tab) or gone comes back to the list with a message, never an error page."""
    try:
        with web.db.session() as session:
            change(session)
    except InvalidTransition:
        return back_to(page, "already_done", back)
    except NotFound:
        return back_to(page, "not_found", back)
    return back_to(page, saved, back)


# --- callbacks -------------------------------------------------------------------------------


@router.get("/staff/callbacks")
def callbacks_page(
    request: Request, principal: StaffUser, web: Annotated[WebState, Depends(web_state)]
) -> Response:
    return _list_page(
        request,
        web,
        principal,
        template="callbacks.html",
        statuses=CALLBACK_STATUSES,
        default_status="open",
        load=views.callbacks,
    )


@router.post("/staff/callbacks/{callback_id}/done")
def callback_done(
    callback_id: str,
    principal: StaffPost,
    web: Annotated[WebState, Depends(web_state)],
    note: NOTE = "",
    back: BACK = "",
) -> Response:
    def change(session: Session) -> object:
        return callback_repo.complete_callback(
            session, principal.actor, callback_id, now=web.now(), note=note.strip() or None
        )

    return _decide(web, "/staff/callbacks", "callback_done", back, change)


# --- refill requests -------------------------------------------------------------------------


@router.get("/staff/refills")
def refills_page(
    request: Request, principal: StaffUser, web: Annotated[WebState, Depends(web_state)]
) -> Response:
    return _list_page(
        request,
        web,
        principal,
        template="refills.html",
        statuses=REFILL_STATUSES,
        default_status="pending",
        load=views.refills,
    )


@router.post("/staff/refills/{request_id}")
def refill_decide(
    request_id: str,
    principal: StaffPost,
    web: Annotated[WebState, Depends(web_state)],
    decision: Annotated[str, Form(pattern="^(approved|denied|needs_visit)$")],
    note: NOTE = "",
    back: BACK = "",
) -> Response:
    def change(session: Session) -> object:
        return refill_repo.update_refill_request(
            session,
            principal.actor,
            request_id,
            now=web.now(),
            status=decision,
            staff_note=note.strip() or None,
        )

    return _decide(web, "/staff/refills", "refill_saved", back, change)


# --- insurance changes -----------------------------------------------------------------------


@router.get("/staff/insurance")
def insurance_page(
    request: Request, principal: StaffUser, web: Annotated[WebState, Depends(web_state)]
) -> Response:
    return _list_page(
        request,
        web,
        principal,
        template="insurance.html",
        statuses=INSURANCE_CHANGE_STATUSES,
        default_status="pending",
        load=views.insurance_changes,
    )


@router.post("/staff/insurance/{change_id}")
def insurance_decide(
    change_id: str,
    principal: StaffPost,
    web: Annotated[WebState, Depends(web_state)],
    decision: Annotated[str, Form(pattern="^(verified|rejected)$")],
    note: NOTE = "",
    back: BACK = "",
) -> Response:
    def change(session: Session) -> object:
        return insurance_repo.decide_insurance_change(
            session,
            principal.actor,
            change_id,
            now=web.now(),
            status=decision,
            staff_note=note.strip() or None,
        )

    return _decide(web, "/staff/insurance", "insurance_saved", back, change)

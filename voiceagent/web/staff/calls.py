"""Call history: outcome, intent, transfer reason and response-gap statistics per call;
the transcript only on the call's own page (a separate, audited read)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import select

from voiceagent.handoff.summary import HandoffSummary
from voiceagent.store.models import Call, Transfer
from voiceagent.store.repos import calls as call_repo
from voiceagent.store.repos import transfers as transfer_repo
from voiceagent.web.auth import StaffUser
from voiceagent.web.filters import FilterError, choice, date_range
from voiceagent.web.state import WebState, web_state
from voiceagent.web.views import PAGE_SIZE

router = APIRouter()


@router.get("/staff/calls")
def calls_page(
    request: Request, principal: StaffUser, web: Annotated[WebState, Depends(web_state)]
) -> Response:
    params = request.query_params
    since_text, until_text = params.get("since", ""), params.get("until", "")
    patient_id = params.get("patient_id", "").strip()[:64]
    transferred = params.get("transferred", "")
    error: str | None = None
    rows: list[Call] = []
    try:
        which = choice(transferred, ("yes", "no"), field="transferred")
        since, until = date_range(since_text, until_text, web.clinic().zone)
    except FilterError as exc:
        error = f"{exc.field}: {exc.problem}"
    else:
        with web.db.session() as session:
            rows = call_repo.list_calls(
                session,
                principal.actor,
                patient_id=patient_id or None,
                since=since,
                until=until,
                limit=PAGE_SIZE,
            )
        if which is not None:
            rows = [c for c in rows if c.transferred == (which == "yes")]
    return web.page(
        request,
        "calls.html",
        principal,
        status_code=400 if error else 200,
        rows=rows,
        error=error,
        since=since_text,
        until=until_text,
        patient_id=patient_id,
        transferred=transferred,
    )


@router.get("/staff/calls/{call_sid}")
def call_page(
    call_sid: str,
    request: Request,
    principal: StaffUser,
    web: Annotated[WebState, Depends(web_state)],
) -> Response:
    with web.db.session() as session:
        call = call_repo.get_call(session, principal.actor, call_sid)  # audited: call.read
        turns = [
            {
                "seq": t.seq,
                "speaker": t.speaker,
                "text": t.text,
                "at": t.at,
                "gap": t.response_gap_ms,
                "intent": t.intent,
                "confidence": t.asr_confidence,
            }
            for t in call.turns
        ]
        caller = call.caller_number
        handoffs: list[dict[str, Any]] = []
        for transfer_id in session.scalars(
            select(Transfer.id).where(Transfer.call_id == call.id).order_by(Transfer.created_at)
        ):
            transfer = transfer_repo.get_transfer(session, principal.actor, transfer_id)
            summary = HandoffSummary.from_dict(transfer.summary or {})
            handoffs.append({"transfer": transfer, "summary": summary})
    return web.page(
        request,
        "call.html",
        principal,
        call=call,
        caller=caller,
        turns=turns,
        handoffs=handoffs,
    )

"""Twilio's callbacks during a warm transfer: the whisper for staff, and how the dial ended.

Both are signed webhooks. The handoff id travels in the query string of URLs we built
(``?handoff=...``), which Twilio includes in the signed URL.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, HTTPException, Query, Response

from telephony.twilio.routes import (
    CALL_FIELDS,
    PLAIN_ERROR,
    TWIML,
    WEBHOOK_ERRORS,
    RuntimeDep,
    SignedForm,
    webhook_openapi,
)
from telephony.twilio.transfer_twiml import (
    BRIDGED_STATUSES,
    HANDOFF_PARAMETER,
    RESULT_PATH,
    WHISPER_PATH,
    transfer_result_twiml,
    whisper_twiml,
)
from voiceagent.logs import get_logger

log = get_logger(__name__)
router = APIRouter(tags=["twilio"])
HandoffId = Query(alias=HANDOFF_PARAMETER, min_length=1, max_length=64)
# Without a stored summary (the database was down) the dial result carries no handoff.
OptionalHandoffId = Query(None, alias=HANDOFF_PARAMETER, min_length=1, max_length=64)


def _xml(document: str) -> Response:
    return Response(document, media_type="application/xml")


@router.post(
    WHISPER_PATH,
    summary="Whisper the call summary to staff before bridging",
    response_class=Response,
    responses={
        200: TWIML,
        404: {"description": "Unknown handoff", **PLAIN_ERROR},
        **WEBHOOK_ERRORS,
    },
    openapi_extra=webhook_openapi(*CALL_FIELDS),
)
async def whisper(form: SignedForm, runtime: RuntimeDep, handoff: str = HandoffId) -> Response:
    text = await asyncio.to_thread(runtime.desk.whisper, handoff)
    if text is None:
        raise HTTPException(status_code=404, detail="Unknown handoff")
    return _xml(whisper_twiml(text))


@router.post(
    RESULT_PATH,
    summary="How the transfer's dial ended",
    response_class=Response,
    responses={200: TWIML, **WEBHOOK_ERRORS},
    openapi_extra=webhook_openapi(
        *CALL_FIELDS, "DialCallStatus", "DialCallSid", "DialCallDuration"
    ),
)
async def transfer_result(
    form: SignedForm, runtime: RuntimeDep, handoff: str | None = OptionalHandoffId
) -> Response:
    status = form.get("DialCallStatus", "").strip().lower()
    if handoff is None:
        log.warning("transfer_result_without_summary", dial_status=status)
    elif status in BRIDGED_STATUSES:
        await asyncio.to_thread(runtime.desk.transfer_answered, handoff)
    else:
        callback_id = await asyncio.to_thread(runtime.desk.transfer_unanswered, handoff, status)
        log.warning("transfer_unanswered", dial_status=status, callback_id=callback_id)
    message = runtime.dialogs.services.policy.render_message(
        "messages.transfer_failed", now=runtime.clock()
    )
    return _xml(transfer_result_twiml(status, message))

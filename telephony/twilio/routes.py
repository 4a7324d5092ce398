"""Twilio's HTTP and websocket entry points."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response, WebSocket

from telephony.twilio import twiml
from telephony.twilio.media import serve_media_stream
from telephony.twilio.signature import SIGNATURE_HEADER, SignatureChecker
from voiceagent.logs import get_logger
from voiceagent.metrics import WEBHOOKS_REJECTED
from voiceagent.runtime import Runtime

log = get_logger(__name__)

router = APIRouter(prefix="/twilio", tags=["twilio"])
MEDIA_PATH = "/twilio/media"
RESTARTING = "Please hold while I connect you with our front desk."


def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


async def signed_form(request: Request) -> dict[str, str]:
    """The webhook's form fields, once X-Twilio-Signature proves Twilio sent them."""
    runtime: Runtime = request.app.state.runtime
    settings = runtime.settings
    checker = SignatureChecker(settings.twilio_auth_token_value, settings.public_base_url)
    form = {key: str(value) for key, value in (await request.form()).multi_items()}
    url = checker.http_url(request.url.path, request.url.query)
    route = request.url.path.rsplit("/", 1)[-1]
    if not checker.valid(url, form, request.headers.get(SIGNATURE_HEADER)):
        WEBHOOKS_REJECTED.labels(route=route, reason="bad_signature").inc()
        log.warning("webhook_rejected", route=route, reason="bad_signature")
        raise HTTPException(status_code=403, detail="Invalid Twilio signature")
    if form.get("AccountSid") != settings.twilio_account_sid:
        WEBHOOKS_REJECTED.labels(route=route, reason="wrong_account").inc()
        raise HTTPException(status_code=403, detail="Unknown Twilio account")
    return form


SignedForm = Annotated[dict[str, str], Depends(signed_form)]
RuntimeDep = Annotated[Runtime, Depends(get_runtime)]

TWIML = {"description": "TwiML", "content": {"application/xml": {"schema": {"type": "string"}}}}
PLAIN_ERROR = {
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {"detail": {"type": "string"}},
                "required": ["detail"],
            }
        }
    }
}
WEBHOOK_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"description": "No valid X-Twilio-Signature, or another Twilio account", **PLAIN_ERROR}
}


def webhook_openapi(*fields: str) -> dict[str, Any]:
    """The form Twilio posts and its signature header, for the OpenAPI document.

    :func:`signed_form` reads the form whole (every field Twilio sends is signed, not only
    the ones we use), so the fields are declared here rather than as ``Form`` parameters.
    """
    return {
        "parameters": [
            {
                "name": SIGNATURE_HEADER,
                "in": "header",
                "required": True,
                "description": "HMAC-SHA1 of the public URL and the form, by the auth token",
                "schema": {"type": "string"},
            }
        ],
        "requestBody": {
            "required": True,
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "properties": {name: _FIELD_SCHEMAS.get(name, TEXT) for name in fields},
                        "required": ["AccountSid", "CallSid"],
                        "additionalProperties": {"type": "string"},
                    }
                }
            },
        },
    }


CALL_FIELDS = ("AccountSid", "CallSid", "From", "To", "CallStatus", "Direction", "ApiVersion")
TEXT = {"type": "string"}
SECONDS = {"type": "string", "pattern": "^[0-9]+$", "description": "Whole seconds"}
_FIELD_SCHEMAS = {"CallDuration": SECONDS, "DialCallDuration": SECONDS}
MAX_DURATION_DIGITS = 7  # 115 days: anything longer is not a phone call


def seconds(value: str | None) -> int | None:
    """A duration Twilio reports, or None when it is missing or not a sane number."""
    if not value or not value.isascii() or not value.isdigit():
        return None
    return int(value) if len(value) <= MAX_DURATION_DIGITS else None


@router.post(
    "/voice",
    summary="Incoming call: answer with a media stream",
    response_class=Response,
    responses={
        200: TWIML,
        400: {"description": "No CallSid in the form", **PLAIN_ERROR},
        **WEBHOOK_ERRORS,
    },
    openapi_extra=webhook_openapi(*CALL_FIELDS),
)
async def incoming_call(form: SignedForm, runtime: RuntimeDep) -> Response:
    call_sid = form.get("CallSid", "")
    if not call_sid:
        raise HTTPException(status_code=400, detail="CallSid missing")
    if runtime.draining:
        document = twiml.straight_to_front_desk(RESTARTING, runtime.dialogs.front_desk)
        return Response(document, media_type="application/xml")
    token = await runtime.calls.open_call(
        call_sid=call_sid, caller=form.get("From", ""), called=form.get("To", "")
    )
    if token is None:  # a replayed webhook of a call that has ended: no new stream
        return Response(twiml.hang_up(), media_type="application/xml")
    checker = SignatureChecker(
        runtime.settings.twilio_auth_token_value, runtime.settings.public_base_url
    )
    document = twiml.connect_stream(checker.ws_url(MEDIA_PATH), token, runtime.settings.disclosure)
    return Response(document, media_type="application/xml")


@router.post(
    "/status",
    summary="Call status callback",
    status_code=204,
    response_class=Response,
    responses={204: {"description": "Recorded"}, **WEBHOOK_ERRORS},
    openapi_extra=webhook_openapi(*CALL_FIELDS, "CallDuration", "Timestamp"),
)
async def call_status(form: SignedForm, runtime: RuntimeDep) -> Response:
    await runtime.calls.record_status(
        call_sid=form.get("CallSid", ""),
        status=form.get("CallStatus", ""),
        duration_s=seconds(form.get("CallDuration")),
    )
    return Response(status_code=204)


@router.websocket("/media")
async def media_stream(websocket: WebSocket) -> None:
    await serve_media_stream(websocket, websocket.app.state.runtime)

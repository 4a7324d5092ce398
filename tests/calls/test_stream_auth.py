"""Only Twilio, for a call it announced, gets a media stream: signatures and tokens."""

from __future__ import annotations

import json
import secrets
import xml.etree.ElementTree as ET

import httpx
import numpy as np
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from telephony.twilio.signature import SIGNATURE_HEADER, SignatureChecker
from voiceagent.simulate.sandbox import Sandbox
from voiceagent.speech.codec import ulaw_encode
from voiceagent.store.repos import stream_tokens

POLICY_VIOLATION = 1008


def new_call_sid() -> str:
    return "CA" + secrets.token_hex(16)


def signer(sandbox: Sandbox) -> SignatureChecker:
    return SignatureChecker(sandbox.settings.twilio_auth_token_value, sandbox.url)


def voice_form(sandbox: Sandbox, call_sid: str) -> dict[str, str]:
    return {
        "CallSid": call_sid,
        "AccountSid": sandbox.settings.twilio_account_sid,
        "From": "+15551234567",
        "To": "+15557654321",
        "CallStatus": "ringing",
    }


async def post_voice(
    sandbox: Sandbox, form: dict[str, str], signature: str | None
) -> httpx.Response:
    headers = {SIGNATURE_HEADER: signature} if signature is not None else {}
    async with httpx.AsyncClient() as client:
        return await client.post(f"{sandbox.url}/twilio/voice", data=form, headers=headers)


async def answered_call(sandbox: Sandbox) -> tuple[str, str, str]:
    """A signed webhook for a new call: (call_sid, stream url, token)."""
    call_sid = new_call_sid()
    form = voice_form(sandbox, call_sid)
    url = f"{sandbox.url}/twilio/voice"
    response = await post_voice(sandbox, form, signer(sandbox).sign(url, form))
    assert response.status_code == 200
    stream = ET.fromstring(response.text).find("Connect/Stream")  # noqa: S314 - our own TwiML
    assert stream is not None
    token = stream.find("Parameter").get("value")
    return call_sid, stream.get("url"), token


def start_message(sandbox: Sandbox, call_sid: str, token: str | None) -> str:
    params = {"token": token} if token is not None else {}
    return json.dumps(
        {
            "event": "start",
            "sequenceNumber": "1",
            "start": {
                "streamSid": "MZ" + secrets.token_hex(16),
                "accountSid": sandbox.settings.twilio_account_sid,
                "callSid": call_sid,
                "tracks": ["inbound"],
                "customParameters": params,
                "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
            },
        }
    )


async def open_stream(
    sandbox: Sandbox, stream_url: str, call_sid: str, token: str | None
) -> tuple[int | None, list[dict[str, object]]]:
    """Send start (+ some audio) and collect what the server sends until it closes."""
    received: list[dict[str, object]] = []
    speechlike = ulaw_encode((np.sin(np.arange(160) * 0.2) * 8000).astype(np.int16))
    headers = {SIGNATURE_HEADER: signer(sandbox).sign(stream_url, {})}  # as Twilio signs it
    async with connect(stream_url, additional_headers=headers) as ws:
        await ws.send(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
        await ws.send(start_message(sandbox, call_sid, token))
        try:
            for _ in range(25):
                media = {"event": "media", "media": {"payload": _b64(speechlike)}}
                await ws.send(json.dumps(media))
            async for raw in ws:
                received.append(json.loads(raw))
                if len(received) >= 3:
                    break
        except ConnectionClosed:
            pass
        return ws.close_code, received


def _b64(data: bytes) -> str:
    import base64

    return base64.b64encode(data).decode()


# --- webhooks ----------------------------------------------------------------------------
async def test_unsigned_webhook_is_forbidden(sandbox: Sandbox) -> None:
    response = await post_voice(sandbox, voice_form(sandbox, new_call_sid()), None)
    assert response.status_code == 403


async def test_wrongly_signed_webhook_is_forbidden(sandbox: Sandbox) -> None:
    form = voice_form(sandbox, new_call_sid())
    wrong_key = SignatureChecker("not-the-auth-token", sandbox.url)
    response = await post_voice(sandbox, form, wrong_key.sign(f"{sandbox.url}/twilio/voice", form))
    assert response.status_code == 403


async def test_signature_over_other_parameters_is_forbidden(sandbox: Sandbox) -> None:
    form = voice_form(sandbox, new_call_sid())
    signature = signer(sandbox).sign(f"{sandbox.url}/twilio/voice", form)
    form["From"] = "+15550000000"  # tampered after signing
    assert (await post_voice(sandbox, form, signature)).status_code == 403


async def test_webhook_answers_absolute_stream_url_with_token_parameter(sandbox: Sandbox) -> None:
    _call_sid, stream_url, token = await answered_call(sandbox)
    assert stream_url == sandbox.url.replace("http://", "ws://") + "/twilio/media"
    assert "?" not in stream_url  # Twilio drops query strings on stream URLs
    assert len(token) >= 32


async def test_signature_checks_use_the_public_url_behind_a_proxy(sandbox: Sandbox) -> None:
    """Signed for the URL the server sees, not the configured public one: refused."""
    form = voice_form(sandbox, new_call_sid())
    internal = SignatureChecker(sandbox.settings.twilio_auth_token_value, "http://internal:9")
    signature = internal.sign("http://internal:9/twilio/voice", form)
    assert (await post_voice(sandbox, form, signature)).status_code == 403


# --- stream tokens -----------------------------------------------------------------------
async def test_valid_token_starts_the_call(sandbox: Sandbox) -> None:
    call_sid, stream_url, token = await answered_call(sandbox)
    _code, received = await open_stream(sandbox, stream_url, call_sid, token)
    assert any(message["event"] == "media" for message in received)  # the greeting


@pytest.mark.parametrize("token", [None, "", "forged-token-value"])
async def test_missing_or_wrong_token_closes_without_audio(
    sandbox: Sandbox, token: str | None
) -> None:
    call_sid, stream_url, _real = await answered_call(sandbox)
    code, received = await open_stream(sandbox, stream_url, call_sid, token)
    assert code == POLICY_VIOLATION
    assert received == []
    # No session for this call (another test's call may still be closing its record).
    assert call_sid not in sandbox.runtime.live_call_sids


async def test_reused_token_is_refused(sandbox: Sandbox) -> None:
    call_sid, stream_url, token = await answered_call(sandbox)
    _first_code, first = await open_stream(sandbox, stream_url, call_sid, token)
    assert first  # the first use works
    code, received = await open_stream(sandbox, stream_url, call_sid, token)
    assert code == POLICY_VIOLATION and received == []


async def test_token_for_another_call_is_refused(sandbox: Sandbox) -> None:
    _call_a, stream_url, token_a = await answered_call(sandbox)
    call_b, _url, _token_b = await answered_call(sandbox)
    code, received = await open_stream(sandbox, stream_url, call_b, token_a)
    assert code == POLICY_VIOLATION and received == []


async def test_expired_token_is_refused(sandbox: Sandbox) -> None:
    call_sid, stream_url, _token = await answered_call(sandbox)
    with sandbox.runtime.db.session() as session:
        expired = stream_tokens.issue_stream_token(
            session, call_sid, now=sandbox.runtime.clock(), ttl_seconds=-1
        )
    code, received = await open_stream(sandbox, stream_url, call_sid, expired)
    assert code == POLICY_VIOLATION and received == []


async def test_bad_upgrade_signature_is_refused_before_accepting(sandbox: Sandbox) -> None:
    call_sid, stream_url, token = await answered_call(sandbox)
    headers = {SIGNATURE_HEADER: "bm90IGEgc2lnbmF0dXJl"}
    with pytest.raises(Exception) as refused:  # the handshake itself fails (HTTP 403)
        async with connect(stream_url, additional_headers=headers) as ws:
            await ws.send(start_message(sandbox, call_sid, token))
            await ws.recv()
    assert "403" in str(refused.value)
    # The token was not spent by the refused attempt.
    _code, received = await open_stream(sandbox, stream_url, call_sid, token)
    assert received


async def test_unsigned_upgrade_is_refused_before_accepting(sandbox: Sandbox) -> None:
    call_sid, stream_url, token = await answered_call(sandbox)
    with pytest.raises(Exception) as refused:  # the handshake itself fails (HTTP 403)
        async with connect(stream_url) as ws:
            await ws.send(start_message(sandbox, call_sid, token))
            await ws.recv()
    assert "403" in str(refused.value)
    _code, received = await open_stream(sandbox, stream_url, call_sid, token)
    assert received  # the token was not spent by the refused attempt


async def test_a_replayed_webhook_of_an_ended_call_gets_no_stream(sandbox: Sandbox) -> None:
    call_sid, _stream_url, _token = await answered_call(sandbox)
    status = {**voice_form(sandbox, call_sid), "CallStatus": "completed", "CallDuration": "30"}
    status_url = f"{sandbox.url}/twilio/status"
    async with httpx.AsyncClient() as client:
        response = await client.post(
            status_url,
            data=status,
            headers={SIGNATURE_HEADER: signer(sandbox).sign(status_url, status)},
        )
    assert response.status_code < 300
    form = voice_form(sandbox, call_sid)
    replay = await post_voice(
        sandbox, form, signer(sandbox).sign(f"{sandbox.url}/twilio/voice", form)
    )
    assert replay.status_code == 200
    assert "<Hangup" in replay.text and "<Stream" not in replay.text


async def test_good_upgrade_signature_is_accepted(sandbox: Sandbox) -> None:
    call_sid, stream_url, token = await answered_call(sandbox)
    headers = {SIGNATURE_HEADER: signer(sandbox).sign(stream_url, {})}
    async with connect(stream_url, additional_headers=headers) as ws:
        await ws.send(start_message(sandbox, call_sid, token))
        first = json.loads(await ws.recv())
    assert first["event"] == "media"

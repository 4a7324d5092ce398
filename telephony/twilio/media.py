"""The Media Streams websocket: Twilio's wire protocol on one side, a CallSession on the other.

Bad input never ends a call: a malformed, unknown, oversized or out-of-order message is
logged (its kind, never its content) and skipped. Only authentication failures close the
socket (1008), before any audio is processed.
"""

from __future__ import annotations

import asyncio
import contextlib

import numpy as np
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from telephony.twilio import protocol
from telephony.twilio.signature import SIGNATURE_HEADER, SignatureChecker
from telephony.twilio.twiml import STREAM_TOKEN_PARAMETER
from voiceagent.call import CallSession, Transport
from voiceagent.dialog.base import Transfer
from voiceagent.logs import get_logger
from voiceagent.metrics import MEDIA_MESSAGES_SKIPPED, STREAMS_REJECTED
from voiceagent.runtime import Runtime
from voiceagent.speech.codec import ulaw_decode, ulaw_encode

log = get_logger(__name__)

POLICY_VIOLATION = 1008
START_TIMEOUT_SECONDS = 10.0
FRAME_SAMPLES = 160


class TwilioTransport(Transport):
    """Sends agent audio, marks and clears as Media Streams messages on one socket."""

    def __init__(self, websocket: WebSocket, stream_sid: str, call_sid: str, runtime: Runtime):
        self._ws = websocket
        self._stream_sid = stream_sid
        self._call_sid = call_sid
        self._runtime = runtime
        self._send_lock = asyncio.Lock()

    async def _send(self, text: str) -> None:
        if self._ws.application_state is not WebSocketState.CONNECTED:
            return
        async with self._send_lock:
            with contextlib.suppress(WebSocketDisconnect, RuntimeError):
                await self._ws.send_text(text)

    async def send_audio(self, pcm: np.ndarray) -> None:
        await self._send(protocol.media_message(self._stream_sid, ulaw_encode(pcm)))

    async def send_mark(self, name: str) -> None:
        await self._send(protocol.mark_message(self._stream_sid, name))

    async def clear(self) -> None:
        await self._send(protocol.clear_message(self._stream_sid))

    async def transfer(self, transfer: Transfer) -> bool:
        control = self._runtime.call_control
        if control is None:
            log.warning(
                "transfer_unavailable", call_sid=self._call_sid, reason=transfer.reason_code
            )
            return False
        if transfer.handoff_id is None:
            # The summary could not be stored; a person still takes the call.
            log.warning("transfer_without_summary", call_sid=self._call_sid)
        return await control.warm_transfer(self._call_sid, transfer.handoff_id)

    async def hangup(self) -> None:
        # <Connect><Stream> is the last TwiML verb, so closing the stream ends the call.
        if self._ws.application_state is WebSocketState.CONNECTED:
            with contextlib.suppress(RuntimeError):
                await self._ws.close(code=1000)


class FrameAssembler:
    """Re-cuts incoming mu-law of any length into exact 20 ms PCM frames."""

    def __init__(self) -> None:
        self._pending = np.zeros(0, dtype=np.int16)

    def push(self, mulaw: bytes) -> list[np.ndarray]:
        pcm = np.concatenate([self._pending, ulaw_decode(mulaw)])
        whole = len(pcm) - len(pcm) % FRAME_SAMPLES
        self._pending = pcm[whole:]
        return [pcm[i : i + FRAME_SAMPLES] for i in range(0, whole, FRAME_SAMPLES)]


async def serve_media_stream(websocket: WebSocket, runtime: Runtime) -> None:
    checker = SignatureChecker(
        runtime.settings.twilio_auth_token_value, runtime.settings.public_base_url
    )
    # Twilio signs the upgrade; an unsigned one is refused like a badly signed one, before
    # any message is read (the browser softphone has its own, session-checked path).
    signature = websocket.headers.get(SIGNATURE_HEADER)
    if not checker.valid(checker.ws_url(websocket.url.path, websocket.url.query), {}, signature):
        reason = "no_signature" if signature is None else "bad_signature"
        STREAMS_REJECTED.labels(reason=reason).inc()
        log.warning("stream_rejected", reason=reason)
        await websocket.close(code=POLICY_VIOLATION)
        return
    await websocket.accept()
    stream = _MediaStream(websocket, runtime)
    try:
        await stream.run()
    finally:
        await stream.finish()


class _MediaStream:
    def __init__(self, websocket: WebSocket, runtime: Runtime) -> None:
        self._ws = websocket
        self._runtime = runtime
        self._session: CallSession | None = None
        self._transport: TwilioTransport | None = None
        self._frames = FrameAssembler()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + START_TIMEOUT_SECONDS
        while True:
            timeout = None if self._session else max(0.0, deadline - loop.time())
            try:
                message = await asyncio.wait_for(self._ws.receive(), timeout)
            except TimeoutError:
                await self._reject("no_start")
                return
            if message["type"] == "websocket.disconnect":
                return
            raw = message.get("text") or message.get("bytes") or b""
            try:
                event = protocol.parse_message(raw)
            except protocol.ProtocolError as exc:
                self._skip(exc.kind, exc.detail)
                continue
            if not await self._dispatch(event):
                return

    async def _dispatch(self, event: object) -> bool:
        """Handle one message; False ends the stream."""
        match event:
            case protocol.Connected():
                return True
            case protocol.Start():
                if self._session is not None:
                    self._skip("duplicate_start")
                    return True
                return await self._start(event)
            case protocol.Stop() if self._session is not None:
                return False
        if self._session is None:
            # Out of order, like any other message before start: a stop here must not
            # end the stream, or the start that follows is never read and the call that
            # the webhook opened is never closed.
            self._skip("before_start", type(event).__name__.lower())
            return True
        match event:
            case protocol.Media():
                if event.media.track not in ("inbound", "inbound_track"):
                    return True
                try:
                    audio = event.audio()
                except protocol.ProtocolError as exc:
                    self._skip(exc.kind)
                    return True
                for frame in self._frames.push(audio):
                    self._session.feed_audio(frame)
            case protocol.Dtmf():
                self._session.feed_dtmf(event.dtmf.digit)
            case protocol.Mark():
                self._session.mark_received(event.mark.name)
        return True

    async def _start(self, event: protocol.Start) -> bool:
        info = event.start
        settings = self._runtime.settings
        token = info.custom_parameters.get(STREAM_TOKEN_PARAMETER, "")
        if info.account_sid != settings.twilio_account_sid:
            await self._reject("wrong_account")
            return False
        if not token or not await self._runtime.calls.consume_stream_token(token, info.call_sid):
            await self._reject("bad_token")
            return False
        self._transport = TwilioTransport(self._ws, info.stream_sid, info.call_sid, self._runtime)
        self._session = await self._runtime.open_session(info.call_sid, self._transport)
        await self._session.start()
        log.info("stream_started", call_sid=info.call_sid, stream_sid=info.stream_sid)
        return True

    async def _reject(self, reason: str) -> None:
        STREAMS_REJECTED.labels(reason=reason).inc()
        log.warning("stream_rejected", reason=reason)
        with contextlib.suppress(RuntimeError):
            await self._ws.close(code=POLICY_VIOLATION)

    def _skip(self, kind: str, detail: str = "") -> None:
        MEDIA_MESSAGES_SKIPPED.labels(kind=kind).inc()
        call_sid = self._session.call_sid if self._session else None
        log.warning("media_message_skipped", kind=kind, detail=detail, call_sid=call_sid)

    async def finish(self) -> None:
        if self._session is None:
            return
        # After our hang-up or a warm transfer the stream ends too; the session knows it
        # planned that and records it so, rather than as the caller hanging up.
        await self._session.end("caller")
        self._runtime.close_session(self._session)

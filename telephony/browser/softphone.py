"""The try-call websocket: a signed-in admin's browser on one side, a CallSession on the other.

Only an admin's session, from one of our own pages, with that session's CSRF token gets a
call; everyone else is refused with 1008 before any audio is read. Like the Twilio adapter,
a bad, unknown or oversized message is logged (its kind, never its content) and skipped.
Each try-call is a real call record ("BR" + 32 hex, called number ``browser-test``), so its
transcript and outcome appear in call history, marked as a test.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import secrets
from urllib.parse import urlsplit

from sqlalchemy.orm import Session
from starlette.websockets import WebSocket

from telephony.browser import protocol
from telephony.browser.audio import InboundAudio
from telephony.browser.transport import BrowserTransport
from voiceagent.call import CallSession
from voiceagent.callrecords import TEST_CALL_LINE
from voiceagent.logs import get_logger
from voiceagent.metrics import MEDIA_MESSAGES_SKIPPED, STREAMS_REJECTED
from voiceagent.runtime import Runtime
from voiceagent.store.repos import calls as call_repo
from voiceagent.web.sessions import Principal, check_session
from voiceagent.web.state import WebState

log = get_logger(__name__)

POLICY_VIOLATION = 1008
UNSUPPORTED_DATA = 1003
TRY_AGAIN_LATER = 1013
TEST_LINE = TEST_CALL_LINE  # calls.called_number of every try-call
# How often a live try-call re-checks the admin's session: signing out or losing the
# admin role ends the call within this time. Talking counts as activity.
RECHECK_SECONDS = 10.0


def new_call_sid() -> str:
    return "BR" + secrets.token_hex(16)


def caller_placeholder(principal: Principal) -> str:
    """Stands where a caller ID would be: who placed the test call (not a phone number)."""
    return f"try-call:{principal.username}"


def call_page(call_sid: str) -> str:
    return f"/staff/calls/{call_sid}"


class Refused(Exception):
    def __init__(self, code: int, reason: str, metric: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.metric = metric


async def admit(websocket: WebSocket, web: WebState) -> tuple[Principal, int]:
    """The admin placing the call and the page's sample rate, or :class:`Refused`."""
    if not _same_origin(websocket, web.settings.public_base_url):
        raise Refused(POLICY_VIOLATION, "foreign origin", "try_call_origin")
    secret = websocket.cookies.get(web.policy.cookie_name)
    check = await asyncio.to_thread(check_session, web.db, web.policy, secret, now=web.now())
    principal = check.principal
    if principal is None:
        raise Refused(POLICY_VIOLATION, "sign-in required", "try_call_login")
    if not principal.is_admin:
        raise Refused(POLICY_VIOLATION, "admins only", "try_call_role")
    sent = _offered_csrf(websocket)
    expected = principal.csrf_token
    if not sent or not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise Refused(POLICY_VIOLATION, "bad csrf token", "try_call_csrf")
    rate_text = websocket.query_params.get("rate", str(protocol.DEFAULT_RATE))
    rate = int(rate_text) if rate_text.isdigit() else 0
    if rate not in protocol.RATES:
        raise Refused(UNSUPPORTED_DATA, "unsupported sample rate", "try_call_rate")
    if web.runtime.draining:
        raise Refused(TRY_AGAIN_LATER, "server is restarting", "try_call_draining")
    return principal, rate


def _offered(websocket: WebSocket) -> list[str]:
    return [str(p) for p in websocket.scope.get("subprotocols", [])]


def _offered_csrf(websocket: WebSocket) -> str | None:
    for offered in _offered(websocket):
        if offered.startswith(protocol.CSRF_PREFIX):
            return offered.removeprefix(protocol.CSRF_PREFIX)
    return None


def _same_origin(websocket: WebSocket, public_base_url: str) -> bool:
    """Browsers always send Origin on a websocket upgrade: it must be one of our pages.
    No Origin at all is not a browser (so no cross-site request); the token still applies."""
    origin = websocket.headers.get("origin")
    if origin is None:
        return True
    scheme = {"ws": "http", "wss": "https"}.get(websocket.url.scheme, websocket.url.scheme)
    public = urlsplit(public_base_url)
    return origin in {f"{scheme}://{websocket.url.netloc}", f"{public.scheme}://{public.netloc}"}


async def serve_try_call(websocket: WebSocket, runtime: Runtime, web: WebState) -> None:
    # Accept first, then refuse: a browser sees the 1008 and its reason, where a refused
    # handshake would only show as a failed connection.
    offered = protocol.SUBPROTOCOL if protocol.SUBPROTOCOL in _offered(websocket) else None
    await websocket.accept(subprotocol=offered)
    try:
        principal, rate = await admit(websocket, web)
    except Refused as refused:
        STREAMS_REJECTED.labels(reason=refused.metric).inc()
        log.warning("try_call_refused", reason=refused.metric)
        with contextlib.suppress(RuntimeError):
            await websocket.close(code=refused.code, reason=refused.reason)
        return
    call = _TryCall(websocket, runtime, web, principal, rate)
    try:
        await call.run()
    finally:
        await call.finish()


class _TryCall:
    def __init__(
        self,
        websocket: WebSocket,
        runtime: Runtime,
        web: WebState,
        principal: Principal,
        rate: int,
    ) -> None:
        self._ws = websocket
        self._runtime = runtime
        self._web = web
        self._principal = principal
        self._rate = rate
        self._max_audio = protocol.max_audio_bytes(rate)
        self._call_sid = new_call_sid()
        self._audio = InboundAudio(rate)
        self._transport = BrowserTransport(websocket, self._call_sid, rate)
        self._session: CallSession | None = None

    async def run(self) -> None:
        await asyncio.to_thread(self._runtime.db.run, self._open_record)
        self._session = await self._runtime.open_session(self._call_sid, self._transport)
        await self._ws.send_text(
            protocol.ready_message(
                self._call_sid,
                self._rate,
                call_page(self._call_sid),
                self._runtime.settings.disclosure,
            )
        )
        await self._session.start()
        log.info("try_call_started", call_sid=self._call_sid, rate=self._rate)
        watcher = asyncio.create_task(self._watch(self._session))
        try:
            await self._receive(self._session)
        finally:
            watcher.cancel()

    def _open_record(self, session: Session) -> None:
        call_repo.open_call(
            session,
            self._principal.actor,
            call_sid=self._call_sid,
            caller_number=caller_placeholder(self._principal),
            called_number=TEST_LINE,
            started_at=self._web.now(),
        )

    async def _receive(self, session: CallSession) -> None:
        while True:
            message = await self._ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            data = message.get("bytes")
            if data is not None:
                self._on_audio(session, data)
                continue
            try:
                control = protocol.parse_control(message.get("text") or "")
            except protocol.ProtocolError as exc:
                self._skip(exc.kind, exc.detail)
                continue
            match control:
                case protocol.Dtmf():
                    session.feed_dtmf(control.digit)
                case protocol.Mark():
                    session.mark_received(control.name)
                case protocol.Hangup():
                    await self._transport.close("caller hung up")
                    return

    def _on_audio(self, session: CallSession, data: bytes) -> None:
        if len(data) > self._max_audio:
            self._skip("oversized", f"{len(data)} bytes")
        elif len(data) % 2:
            self._skip("odd_length", f"{len(data)} bytes")
        else:
            for frame in self._audio.push(data):
                session.feed_audio(frame)

    async def _watch(self, session: CallSession) -> None:
        """End the socket when the session ends on its own (server shutdown), and end the
        call when the admin is signed out or is no longer an admin."""
        closed = asyncio.create_task(session.wait_closed())
        try:
            while True:
                done, _ = await asyncio.wait([closed], timeout=RECHECK_SECONDS)
                if done:
                    await self._transport.close("call ended")
                    return
                secret = self._ws.cookies.get(self._web.policy.cookie_name)
                check = await asyncio.to_thread(
                    check_session, self._web.db, self._web.policy, secret, now=self._web.now()
                )
                if check.principal is None or not check.principal.is_admin:
                    log.info("try_call_signed_out", call_sid=self._call_sid)
                    await self._transport.close("signed out", POLICY_VIOLATION)
                    return
        finally:
            closed.cancel()

    def _skip(self, kind: str, detail: str = "") -> None:
        MEDIA_MESSAGES_SKIPPED.labels(kind=f"try_call_{kind}").inc()
        log.warning("try_call_message_skipped", kind=kind, detail=detail, call_sid=self._call_sid)

    async def finish(self) -> None:
        if self._session is None:
            return
        # The session keeps its own reason when it planned the end (agent hang-up, transfer).
        await self._session.end("caller")
        self._runtime.close_session(self._session)

"""Who knocks: the callers of the authorization matrix, and how each one sends a request over
a real socket (HTTP with httpx, websockets with the ``websockets`` client).

Each caller is a bundle of credentials; a request carries all of them at once and each route
looks only at the kind it understands (a session cookie, a bearer token, a Twilio signature,
a stream token). "forged" carries one of each kind, all wrong.
"""

from __future__ import annotations

import json
import secrets
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from functools import cache
from typing import Literal

import httpx
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from telephony.browser.protocol import CSRF_PREFIX, SUBPROTOCOL
from telephony.twilio.signature import SIGNATURE_HEADER, SignatureChecker
from tests.web.helpers import TESTS, add_user, csrf_of, sign_in
from voiceagent.simulate.sandbox import Sandbox
from voiceagent.store.repos import staff as staff_repo
from voiceagent.web.sessions import PLAIN_COOKIE

Signature = Literal["good", "bad"]
TIMEOUT = 15.0


@dataclass(frozen=True)
class Credentials:
    cookie: str | None = None  # a staff session id
    csrf: str | None = None  # that session's CSRF token (sent with every POST under /staff)
    bearer: str | None = None  # an API token
    signature: Signature | None = None  # X-Twilio-Signature, right or wrong
    stream_token: bool = False  # asks /twilio/voice for a real media-stream token first
    user: str | None = None  # who the session belongs to (to sign in afresh)


FORGED = Credentials(
    cookie="forged-session-" + "0" * 43,
    csrf="0" * 64,
    bearer="vat_" + "forged" * 7,
    signature="bad",
)


def new_session(clinic: Sandbox, username: str) -> Credentials:
    """Sign in through the form, as a browser does, and read the dashboard's CSRF token."""
    with httpx.Client(base_url=clinic.url, timeout=TIMEOUT) as client:
        assert sign_in(client, username).status_code == 303
        csrf = csrf_of(client.get("/staff").text)
        return Credentials(cookie=client.cookies[PLAIN_COOKIE], csrf=csrf, user=username)


def session_of(clinic: Sandbox, cookie: str) -> Credentials:
    """A session cookie a browser holds, with the CSRF token its pages carry."""
    page = send(clinic, Credentials(cookie=cookie), "GET", "/staff")
    assert page.status_code == 200
    return Credentials(cookie=cookie, csrf=csrf_of(page.text))


def new_token(clinic: Sandbox, role: str, *, revoked: bool = False, expired: bool = False) -> str:
    with clinic.runtime.db.session() as session:
        token, secret = staff_repo.create_token(
            session,
            TESTS,
            role=role,
            label=f"security {role}",
            expires_at=clinic.runtime.clock() - timedelta(seconds=1) if expired else None,
        )
        if revoked:
            staff_repo.revoke_token(session, TESTS, token.id, now=clinic.runtime.clock())
    return secret


def lapsed_token(clinic: Sandbox, username: str) -> str:
    """An admin token made in the dashboard by an admin who was then disabled."""
    user_id = add_user(clinic.runtime.db, username, "admin")
    with clinic.runtime.db.session() as session:
        _token, secret = staff_repo.create_token(
            session, TESTS, role="admin", label="security lapsed", created_by=user_id
        )
        staff_repo.set_user_active(session, TESTS, user_id, False)
    return secret


def disabled_session(clinic: Sandbox, username: str) -> Credentials:
    """An admin's live session whose account is then disabled (by another admin)."""
    user_id = add_user(clinic.runtime.db, username, "admin")
    credentials = new_session(clinic, username)
    with clinic.runtime.db.session() as session:
        staff_repo.set_user_active(session, TESTS, user_id, False)
    return replace(credentials, user=None)  # it cannot sign in again


def make_callers(clinic: Sandbox) -> dict[str, Credentials]:
    """The matrix's columns, in order."""
    db = clinic.runtime.db
    add_user(db, "matrix-staff", "staff")
    add_user(db, "matrix-admin", "admin")
    return {
        "anon": Credentials(),
        "forged": FORGED,
        "staff": new_session(clinic, "matrix-staff"),
        "admin": new_session(clinic, "matrix-admin"),
        "s-tok": Credentials(bearer=new_token(clinic, "staff")),
        "a-tok": Credentials(bearer=new_token(clinic, "admin")),
        "revoked": Credentials(bearer=new_token(clinic, "admin", revoked=True)),
        "expired": Credentials(bearer=new_token(clinic, "admin", expired=True)),
        "lapsed": Credentials(bearer=lapsed_token(clinic, "matrix-left")),
        "disabled": disabled_session(clinic, "matrix-gone"),
        "twilio": Credentials(signature="good", stream_token=True),
    }


def fresh(clinic: Sandbox, credentials: Credentials) -> Credentials:
    """The same caller with a new session (for requests that end the one they use)."""
    return credentials if credentials.user is None else new_session(clinic, credentials.user)


# --- HTTP ------------------------------------------------------------------------------------


def signer(clinic: Sandbox, signature: Signature) -> SignatureChecker:
    token = clinic.settings.twilio_auth_token_value if signature == "good" else "not-the-token"
    return SignatureChecker(token, clinic.url)


def request_parts(
    clinic: Sandbox,
    credentials: Credentials,
    method: str,
    target: str,
    form: Mapping[str, str] | None = None,
) -> tuple[str, dict[str, str], dict[str, str] | None]:
    """URL, headers and form body of a request as this caller would send it."""
    url = clinic.url + target
    headers: dict[str, str] = {}
    data = dict(form) if form is not None else ({} if method == "POST" else None)
    if credentials.cookie:
        headers["Cookie"] = f"{PLAIN_COOKIE}={credentials.cookie}"
    if credentials.bearer:
        headers["Authorization"] = f"Bearer {credentials.bearer}"
    if method == "POST" and credentials.csrf and target.startswith("/staff"):
        assert data is not None
        data["csrf_token"] = credentials.csrf
    if credentials.signature:
        headers[SIGNATURE_HEADER] = signer(clinic, credentials.signature).sign(url, data or {})
    return url, headers, data


def send(
    clinic: Sandbox,
    credentials: Credentials,
    method: str,
    target: str,
    form: Mapping[str, str] | None = None,
    extra_headers: Mapping[str, str] | None = None,
) -> httpx.Response:
    url, headers, data = request_parts(clinic, credentials, method, target, form)
    headers.update(extra_headers or {})
    http = client()
    try:
        return http.request(method, url, headers=headers, data=data, follow_redirects=False)
    finally:
        http.cookies.clear()  # no cookie carries one caller's session to the next


@cache
def client() -> httpx.Client:
    """One client for the whole run (making one costs more than a loopback request)."""
    return httpx.Client(timeout=TIMEOUT)


def outcome(response: httpx.Response) -> str:
    """How the matrix writes an answer: the status code, or ``login`` for a redirect to the
    sign-in page (the dashboard's way of saying 401)."""
    if response.status_code in (302, 303, 307):
        location = response.headers.get("location", "")
        if location.startswith("/staff/login") and "msg=logged_out" not in location:
            return "login"
    return str(response.status_code)


def event_stream(clinic: Sandbox, credentials: Credentials, target: str) -> tuple[str, str]:
    """Open the dashboard's server-sent events and read the first event: ``open`` when it
    streams the queue, ``ended`` when it only says the session is gone. Also the answer's
    Cache-Control."""
    kind, _data, cache_control = _first_event(clinic, credentials, target)
    return {"queue": "open", "stats": "open"}.get(kind, "ended"), cache_control


def first_event(
    clinic: Sandbox, credentials: Credentials, target: str, wanted: str
) -> dict[str, object]:
    """The data of the stream's first event, which must be of the kind ``wanted``."""
    kind, data, _ = _first_event(clinic, credentials, target)
    assert kind == wanted, kind
    return data


def _first_event(
    clinic: Sandbox, credentials: Credentials, target: str
) -> tuple[str, dict[str, object], str]:
    url, headers, _ = request_parts(clinic, credentials, "GET", target)
    with client().stream("GET", url, headers=headers) as response:
        assert response.status_code == 200
        cache_control = response.headers.get("cache-control", "")
        kind = "none"
        for line in response.iter_lines():
            if line.startswith("event: "):
                kind = line.removeprefix("event: ")
            elif line.startswith("data: ") and kind != "none":
                return kind, json.loads(line.removeprefix("data: ")), cache_control
    return "ended", {}, cache_control


# --- websockets --------------------------------------------------------------------------------


def ws_url(clinic: Sandbox, path: str) -> str:
    return clinic.url.replace("http://", "ws://") + path


def _stream_token(clinic: Sandbox, call_sid: str) -> str:
    """What Twilio learns from our TwiML: a token for this call's media stream."""
    form = {
        "CallSid": call_sid,
        "AccountSid": clinic.settings.twilio_account_sid,
        "From": "+15550001111",
        "To": "+15557654321",
        "CallStatus": "ringing",
    }
    response = send(clinic, Credentials(signature="good"), "POST", "/twilio/voice", form)
    assert response.status_code == 200
    stream = ET.fromstring(response.text).find("Connect/Stream")  # noqa: S314 - our own TwiML
    assert stream is not None
    parameter = stream.find("Parameter")
    assert parameter is not None
    return str(parameter.get("value"))


def _ws_headers(credentials: Credentials) -> dict[str, str]:
    headers = {}
    if credentials.cookie:
        headers["Cookie"] = f"{PLAIN_COOKIE}={credentials.cookie}"
    if credentials.bearer:
        headers["Authorization"] = f"Bearer {credentials.bearer}"
    return headers


def media_stream(clinic: Sandbox, credentials: Credentials, path: str) -> str:
    """Twilio's media stream: ``open`` when the greeting's audio comes, else how it was
    refused (the close code, or the HTTP status of a refused handshake)."""
    url = ws_url(clinic, path)
    call_sid = "CA" + secrets.token_hex(16)
    token = _stream_token(clinic, call_sid) if credentials.stream_token else None
    headers = _ws_headers(credentials)
    if credentials.signature:
        headers[SIGNATURE_HEADER] = signer(clinic, credentials.signature).sign(url, {})
    start = {
        "event": "start",
        "sequenceNumber": "1",
        "start": {
            "streamSid": "MZ" + secrets.token_hex(16),
            "accountSid": clinic.settings.twilio_account_sid,
            "callSid": call_sid,
            "tracks": ["inbound"],
            "customParameters": {"token": token} if token else {},
            "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
        },
    }
    try:
        with connect(url, additional_headers=headers, open_timeout=TIMEOUT) as ws:
            ws.send(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
            ws.send(json.dumps(start))
            try:
                first = json.loads(ws.recv(timeout=TIMEOUT))
            except ConnectionClosed:
                return str(ws.protocol.close_code)
            return "open" if first.get("event") == "media" else f"sent {first.get('event')}"
    except InvalidStatus as refused:
        return str(refused.response.status_code)


def try_call(clinic: Sandbox, credentials: Credentials, path: str) -> str:
    """The admins' browser softphone: ``open`` when the call is ready, else the close code."""
    protocols = [SUBPROTOCOL] + ([CSRF_PREFIX + credentials.csrf] if credentials.csrf else [])
    headers = {"Origin": clinic.url, **_ws_headers(credentials)}
    if credentials.signature:
        url = ws_url(clinic, path)
        headers[SIGNATURE_HEADER] = signer(clinic, credentials.signature).sign(url, {})
    try:
        with connect(
            ws_url(clinic, path),
            additional_headers=headers,
            subprotocols=protocols,  # type: ignore[arg-type]
            open_timeout=TIMEOUT,
        ) as ws:
            try:
                first = ws.recv(timeout=TIMEOUT)
            except ConnectionClosed:
                return str(ws.protocol.close_code)
            message = json.loads(first) if isinstance(first, str) else {}
            return "open" if message.get("type") == "ready" else f"sent {message.get('type')}"
    except InvalidStatus as refused:
        return str(refused.response.status_code)

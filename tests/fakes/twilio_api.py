"""A fake of the parts of Twilio's REST API that call control uses, on a real loopback socket.

Point the product at it with ``VOICEAGENT_TWILIO_API_URL=<fake.url>`` (or ``api_url=``): the
twilio SDK then talks HTTP to this server exactly as it would to api.twilio.com. The fake

- serves ``POST`` (update) and ``GET`` (fetch) on
  ``/2010-04-01/Accounts/{AccountSid}/Calls/{CallSid}.json`` and answers with a call resource
  shaped like Twilio's;
- checks HTTP Basic auth against its account SID and auth token (401, Twilio-style JSON);
- knows calls: unknown SIDs are created on first sight, or get a 404 with
  ``known_calls_only=True``; redirecting an ended call is refused like Twilio does (21220);
- checks every ``Twiml`` it receives (well-formed XML, ``<Response>`` root, known verbs, Dial
  nouns only inside ``<Dial>``, every URL absolute http(s), methods GET/POST) and refuses
  bad documents with a 400;
- records every request (method, path, auth user, form fields, time, answer) in a
  thread-safe list, and can fail (HTTP 500) or hang the next N requests for fault tests.

Use it as a context manager or through the ``fake_twilio_api`` fixture; in another test
package, re-export the fixture from that package's conftest.py::

    from tests.fakes.twilio_api import fake_twilio_api  # noqa: F401
"""

from __future__ import annotations

import base64
import binascii
import email.utils
import json
import secrets
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

DEFAULT_ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
DEFAULT_AUTH_TOKEN = "fake-twilio-auth-token-0123456789"
API_VERSION = "2010-04-01"
ENDED_STATUSES = frozenset({"completed", "canceled", "failed", "busy", "no-answer"})

# TwiML vocabulary: verbs allowed under <Response>, nouns allowed only under <Dial>.
VERBS = frozenset(
    {
        "Say", "Play", "Pause", "Dial", "Gather", "Record", "Hangup", "Reject", "Redirect",
        "Enqueue", "Leave", "Connect", "Start", "Stop", "Refer", "Pay", "Echo", "Sms",
    }
)  # fmt: skip
DIAL_NOUNS = frozenset({"Number", "Sip", "Client", "Conference", "Queue", "Application"})
WEBSOCKET_URL_ELEMENTS = frozenset({"Stream", "Siprec"})  # their url is ws(s)://
URL_TEXT_ELEMENTS = frozenset({"Play", "Redirect"})  # their text content is a URL
# Form parameters of the Calls update that carry URLs.
URL_PARAMETERS = ("Url", "FallbackUrl", "StatusCallback")


def _is_url_attribute(name: str) -> bool:
    lowered = name.lower()
    return lowered == "action" or lowered.endswith(("url", "callback"))


def _absolute(url: str, schemes: tuple[str, ...] = ("http", "https")) -> bool:
    parts = urlsplit(url.strip())
    return parts.scheme in schemes and bool(parts.netloc)


def parse_twiml(document: str) -> ET.Element:
    """Parse a TwiML document (raises ``xml.etree.ElementTree.ParseError``)."""
    # The input is TwiML the code under test produced, sent over loopback; not hostile XML.
    return ET.fromstring(document)  # noqa: S314


def twiml_problems(document: str) -> list[str]:
    """Everything Twilio would refuse or trip over in a TwiML document; empty when fine."""
    try:
        root = parse_twiml(document)
    except ET.ParseError as exc:
        return [f"not well-formed XML: {exc}"]
    if root.tag != "Response":
        return [f"root element is <{root.tag}>, not <Response>"]
    problems: list[str] = []
    for verb in root:
        if verb.tag not in VERBS:
            problems.append(f"<{verb.tag}> is not a TwiML verb")
    for parent in root.iter():
        for child in parent:
            if child.tag in DIAL_NOUNS and parent.tag != "Dial":
                problems.append(f"<{child.tag}> outside <Dial>")
    for element in root.iter():
        for name, value in element.attrib.items():
            if _is_url_attribute(name):
                schemes = ("ws", "wss") if element.tag in WEBSOCKET_URL_ELEMENTS else None
                if not _absolute(value, schemes or ("http", "https")):
                    problems.append(f"<{element.tag} {name}> is not an absolute URL: {value!r}")
            elif name.lower().endswith("method") and value.upper() not in ("GET", "POST"):
                problems.append(f"<{element.tag} {name}> must be GET or POST")
        text = (element.text or "").strip()
        if element.tag in URL_TEXT_ELEMENTS and text and not _absolute(text):
            problems.append(f"<{element.tag}> text is not an absolute URL")
        if element.tag == "Dial":
            bridge = element.get("answerOnBridge")
            if bridge is not None and bridge not in ("true", "false"):
                problems.append("<Dial answerOnBridge> must be true or false")
            ring = element.get("timeout")
            if ring is not None and not (ring.isdigit() and 5 <= int(ring) <= 600):
                problems.append("<Dial timeout> must be 5..600 seconds")
        if element.tag in DIAL_NOUNS - {"Client"} and not (element.text or "").strip():
            problems.append(f"<{element.tag}> is empty")
    return problems


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the fake saw it; ``status`` is None for a request left hanging."""

    method: str
    path: str
    auth_user: str | None
    form: dict[str, str]
    received_at: float  # time.time()
    status: int | None
    call_sid: str | None = None
    error_code: int | None = None
    error_message: str | None = None

    @property
    def twiml(self) -> str | None:
        return self.form.get("Twiml")


@dataclass
class FakeCall:
    """A call resource as the fake keeps it; ``twiml`` and ``urls`` list every redirect."""

    sid: str
    account_sid: str
    from_: str = "+15550100001"
    to: str = "+15550100002"
    status: str = "in-progress"
    direction: str = "inbound"
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    updated_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    ended_at: datetime | None = None
    twiml: list[str] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)

    def resource(self) -> dict[str, Any]:
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Calls/{self.sid}"
        duration = (
            str(int((self.ended_at - self.created_at).total_seconds())) if self.ended_at else None
        )
        return {
            "sid": self.sid,
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "annotation": None,
            "answered_by": None,
            "caller_name": None,
            "date_created": email.utils.format_datetime(self.created_at),
            "date_updated": email.utils.format_datetime(self.updated_at),
            "start_time": email.utils.format_datetime(self.created_at),
            "end_time": email.utils.format_datetime(self.ended_at) if self.ended_at else None,
            "direction": self.direction,
            "duration": duration,
            "forwarded_from": None,
            "from": self.from_,
            "from_formatted": self.from_,
            "to": self.to,
            "to_formatted": self.to,
            "group_sid": None,
            "parent_call_sid": None,
            "phone_number_sid": "PN" + "0" * 32,
            "price": None,
            "price_unit": "USD",
            "queue_time": "0",
            "status": self.status,
            "trunk_sid": None,
            "uri": f"{uri}.json",
            "subresource_uris": {
                name: f"{uri}/{name.title().replace('_', '')}.json"
                for name in ("notifications", "recordings", "payments", "events", "siprec")
            },
        }


class _TwilioError(Exception):
    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def body(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "more_info": f"https://www.twilio.com/docs/errors/{self.code}",
            "status": self.status,
        }


@dataclass
class _Fault:
    kind: str  # "fail" or "hang"
    remaining: int
    status: int = 500
    seconds: float = 30.0


class FakeTwilioApi:
    """Twilio's Calls resource on ``http://127.0.0.1:<port>``, recording what it is sent."""

    def __init__(
        self,
        account_sid: str = DEFAULT_ACCOUNT_SID,
        auth_token: str = DEFAULT_AUTH_TOKEN,
        *,
        known_calls_only: bool = False,
        host: str = "127.0.0.1",
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.known_calls_only = known_calls_only
        self._host = host
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._calls: dict[str, FakeCall] = {}
        self._faults: list[_Fault] = []
        self._release = threading.Event()  # set on stop: hanging handlers give up
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> FakeTwilioApi:
        if self._server is not None:
            raise RuntimeError("already started")
        self._release.clear()
        server = ThreadingHTTPServer((self._host, 0), _Handler)
        server.daemon_threads = True
        server.block_on_close = False  # keep-alive connections must not stall stop()
        server.fake = self  # type: ignore[attr-defined]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> FakeTwilioApi:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL to use as ``VOICEAGENT_TWILIO_API_URL``."""
        if self._server is None:
            raise RuntimeError("not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # --- what happened --------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def calls(self) -> dict[str, FakeCall]:
        """Snapshots of the calls the fake knows."""
        with self._lock:
            return {
                sid: replace(call, twiml=list(call.twiml), urls=list(call.urls))
                for sid, call in self._calls.items()
            }

    def call_updates(self, call_sid: str | None = None) -> list[RecordedRequest]:
        """POSTs to a call resource (optionally one call), answered or not."""
        return [
            r
            for r in self.requests
            if r.method == "POST"
            and r.call_sid is not None
            and (call_sid is None or r.call_sid == call_sid)
        ]

    def wait_for_requests(self, count: int, timeout: float = 5.0) -> list[RecordedRequest]:
        """Block until at least ``count`` requests arrived (for callers that do not await)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            seen = self.requests
            if len(seen) >= count:
                return seen
            time.sleep(0.01)
        raise TimeoutError(f"{len(self.requests)} of {count} requests arrived")

    # --- arranging ------------------------------------------------------------------------

    def add_call(
        self,
        sid: str | None = None,
        *,
        status: str = "in-progress",
        from_: str = "+15550100001",
        to: str = "+15550100002",
    ) -> str:
        sid = sid or "CA" + secrets.token_hex(16)
        with self._lock:
            self._calls[sid] = FakeCall(sid, self.account_sid, from_, to, status)
            if status in ENDED_STATUSES:
                self._calls[sid].ended_at = datetime.now(UTC)
        return sid

    def end_call(self, sid: str, status: str = "completed") -> None:
        """The far end hung up: later redirects of this call are refused."""
        with self._lock:
            call = self._calls[sid]
            call.status = status
            call.ended_at = call.updated_at = datetime.now(UTC)

    def fail_next(self, count: int = 1, *, status: int = 500) -> None:
        """Answer the next ``count`` requests with an HTTP error (Twilio-style JSON body)."""
        with self._lock:
            self._faults.append(_Fault("fail", count, status=status))

    def hang_next(self, count: int = 1, *, seconds: float = 30.0) -> None:
        """Read the next ``count`` requests, then answer nothing for ``seconds`` and close."""
        with self._lock:
            self._faults.append(_Fault("hang", count, seconds=seconds))

    def reset(self) -> None:
        with self._lock:
            self._requests.clear()
            self._calls.clear()
            self._faults.clear()

    # --- serving (called from handler threads) --------------------------------------------

    def _take_fault(self) -> _Fault | None:
        with self._lock:
            while self._faults and self._faults[0].remaining <= 0:
                self._faults.pop(0)
            if not self._faults:
                return None
            self._faults[0].remaining -= 1
            return replace(self._faults[0])

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _authenticate(self, header: str | None) -> tuple[str | None, bool]:
        if not header or not header.startswith("Basic "):
            return None, False
        try:
            decoded = base64.b64decode(header[len("Basic ") :], validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None, False
        user, _, password = decoded.partition(":")
        ok = secrets.compare_digest(user, self.account_sid) and secrets.compare_digest(
            password, self.auth_token
        )
        return user, ok

    def _handle_call(self, method: str, call_sid: str, form: dict[str, str]) -> dict[str, Any]:
        with self._lock:
            call = self._calls.get(call_sid)
            if call is None:
                if self.known_calls_only or method == "GET":
                    raise _TwilioError(
                        404,
                        20404,
                        f"The requested resource /{API_VERSION}/Accounts/{self.account_sid}"
                        f"/Calls/{call_sid}.json was not found",
                    )
                call = self._calls[call_sid] = FakeCall(call_sid, self.account_sid)
            if method == "POST":
                self._update(call, form)
            return call.resource()

    def _update(self, call: FakeCall, form: dict[str, str]) -> None:
        twiml, url, status = form.get("Twiml"), form.get("Url"), form.get("Status")
        if twiml is None and url is None and status is None:
            raise _TwilioError(400, 20001, "One of Twiml, Url or Status is required")
        if twiml is not None and url is not None:
            raise _TwilioError(400, 20001, "Twiml and Url are mutually exclusive")
        for name in URL_PARAMETERS:
            if name in form and not _absolute(form[name]):
                raise _TwilioError(400, 21205, f"{name} is not a valid URL")
        if twiml is not None:
            problems = twiml_problems(twiml)
            if problems:
                code = 12100 if problems[0].startswith("not well-formed") else 12200
                raise _TwilioError(400, code, "Invalid TwiML: " + "; ".join(problems))
        if status is not None and status not in ("completed", "canceled"):
            raise _TwilioError(400, 20001, "Status must be completed or canceled")
        if call.status in ENDED_STATUSES:
            if twiml is not None or url is not None:
                raise _TwilioError(400, 21220, "Call is not in-progress. Cannot redirect.")
            return  # ending an ended call changes nothing
        now = datetime.now(UTC)
        call.updated_at = now
        if status == "completed" or (status == "canceled" and call.status in ("queued", "ringing")):
            call.status = status
            call.ended_at = now
            return
        if twiml is not None:
            call.twiml.append(twiml)
        if url is not None:
            call.urls.append(url)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like api.twilio.com; the SDK pools sessions
    timeout = 10  # idle keep-alive connections close on their own
    server_version = "FakeTwilio/1.0"

    @property
    def fake(self) -> FakeTwilioApi:
        return self.server.fake  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the recorded requests are the log."""

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def _serve(self, method: str) -> None:
        received_at = time.time()
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        form = {key: values[-1] for key, values in parse_qs(body, keep_blank_values=True).items()}
        path = urlsplit(self.path).path
        call_sid = _call_sid(path)
        user, authenticated = self.fake._authenticate(self.headers.get("Authorization"))

        def record(status: int | None, error: _TwilioError | None = None) -> None:
            self.fake._record(
                RecordedRequest(
                    method=method,
                    path=path,
                    auth_user=user,
                    form=form,
                    received_at=received_at,
                    status=status,
                    call_sid=call_sid,
                    error_code=error.code if error else None,
                    error_message=error.message if error else None,
                )
            )

        fault = self.fake._take_fault()
        if fault is not None and fault.kind == "hang":
            record(None)
            self.fake._release.wait(fault.seconds)
            self.close_connection = True
            return
        try:
            if fault is not None:
                raise _TwilioError(fault.status, 20500, "Internal Server Error")
            if not authenticated:
                raise _TwilioError(401, 20003, "Authentication Error - invalid username")
            account_sid = _account_sid(path)
            if account_sid is not None and account_sid != self.fake.account_sid:
                raise _TwilioError(401, 20003, "Authentication Error - account mismatch")
            if call_sid is None:
                raise _TwilioError(404, 20404, f"The requested resource {path} was not found")
            resource = self.fake._handle_call(method, call_sid, form)
        except _TwilioError as error:
            record(error.status, error)
            self._send_json(error.status, error.body())
            return
        record(200)
        self._send_json(200, resource)

    def _send_json(self, status: int, body: dict[str, Any]) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        if status == 401:
            self.send_header("WWW-Authenticate", 'Basic realm="Twilio API"')
        self.end_headers()
        self.wfile.write(payload)


def _account_sid(path: str) -> str | None:
    parts = path.strip("/").split("/")
    if len(parts) >= 3 and parts[0] == API_VERSION and parts[1] == "Accounts":
        return parts[2].removesuffix(".json")
    return None


def _call_sid(path: str) -> str | None:
    """The CallSid of ``/2010-04-01/Accounts/{AC}/Calls/{CA}.json``, else None."""
    parts = path.strip("/").split("/")
    if (
        len(parts) == 5
        and parts[0] == API_VERSION
        and parts[1] == "Accounts"
        and parts[3] == "Calls"
        and parts[4].endswith(".json")
        and len(parts[4]) > len(".json")
    ):
        return parts[4].removesuffix(".json")
    return None


@pytest.fixture
def fake_twilio_api() -> Iterator[FakeTwilioApi]:
    """A started fake with the default test credentials (``DEFAULT_ACCOUNT_SID`` / token)."""
    with FakeTwilioApi() as api:
        yield api

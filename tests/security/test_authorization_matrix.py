"""Who may reach what: every route of the real app against every kind of caller, over real
sockets, compared with one table.

The routes come from the app itself (``app.routes``, websockets and the mounted static files
included), so a route added later without a row in ``MATRIX`` fails
``test_every_route_has_a_row_and_a_probe``.

How to read an answer:

- a status code; ``login`` is a redirect to the sign-in page (the dashboard's 401);
  ``303`` is any other redirect (a form that posted to a record that does not exist, or
  sign-out's own redirect);
- websockets: ``open`` when the server starts talking (the greeting's audio, the try-call's
  ``ready``), ``1008`` when it closes the socket for policy, ``403`` when it refuses the
  handshake itself (a missing or bad X-Twilio-Signature on the upgrade);
- the dashboard's event stream always answers 200 (browsers' EventSource cannot read a
  status): ``open`` when it streams the queue, ``ended`` when its only event says the
  session is gone.

Callers (columns): ``anon`` nothing; ``forged`` a made-up session cookie, CSRF token,
bearer token and X-Twilio-Signature all at once; ``staff``/``admin`` signed-in sessions
(with their CSRF token on every POST); ``s-tok``/``a-tok`` API tokens of those roles;
``revoked`` and ``expired`` admin API tokens; ``lapsed`` an admin token made in the
dashboard by an admin whose account was then disabled; ``disabled`` the live session of an
admin whose account was then disabled; ``twilio`` requests signed with the account's auth
token (and, on the media stream, the token our TwiML handed out).

What anonymous callers may see, by decision: the sign-in page, the static files (no patient
data, no secrets) and ``/healthz`` (status and the names of its checks: a load balancer needs
it). ``/metrics`` needs a live API token, or a direct connection from loopback or a listed
network: the matrix asks it as a request from the internet through the reverse proxy does
(with ``X-Forwarded-For``), so only tokens pass; the loopback and address rules are in
``tests/web/test_metrics_access.py``. ``/openapi.json`` is not served in production (there
is no row: the route does not exist) and there are no interactive docs. Keep the server's
port off the public internet for all of these but the Twilio routes (see docs/deploy.md).

CSRF on every state-changing route is checked route by route in ``test_session_security``.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from starlette.routing import Mount, WebSocketRoute

from tests.security import callers
from tests.security.callers import Credentials
from tests.security.phi import leaks
from tests.web.helpers import make_call, make_transfer
from voiceagent.simulate.sandbox import Sandbox
from voiceagent.web.app import create_app

# fmt: off
MATRIX = """
route                                            anon   forged staff  admin  s-tok  a-tok  revoked expired lapsed disabled twilio
GET  /                                           303    303    303    303    303    303    303     303     303    303      303
GET  /healthz                                    200    200    200    200    200    200    200     200     200    200      200
GET  /metrics                                    401    401    401    401    200    200    401     401     401    401      401
GET  /staff/static/{path}                        200    200    200    200    200    200    200     200     200    200      200
POST /twilio/voice                               403    403    403    403    403    403    403     403     403    403      200
POST /twilio/status                              403    403    403    403    403    403    403     403     403    403      204
POST /twilio/transfer/whisper                    403    403    403    403    403    403    403     403     403    403      200
POST /twilio/transfer/result                     403    403    403    403    403    403    403     403     403    403      200
WS   /twilio/media                               403    403    403    403    403    403    403     403     403    403      open
GET  /staff/login                                200    200    200    200    200    200    200     200     200    200      200
POST /staff/login                                400    400    400    400    400    400    400     400     400    400      400
POST /staff/logout                               login  login  303    303    login  login  login   login   login  login    login
GET  /staff/session/ping                         login  login  204    204    login  login  login   login   login  login    login
GET  /staff                                      login  login  200    200    login  login  login   login   login  login    login
GET  /staff/events                               ended  ended  open   open   ended  ended  ended   ended   ended  ended    ended
POST /staff/transfers/{transfer_id}/claim        login  login  303    303    login  login  login   login   login  login    login
POST /staff/transfers/{transfer_id}/done         login  login  303    303    login  login  login   login   login  login    login
GET  /staff/callbacks                            login  login  200    200    login  login  login   login   login  login    login
POST /staff/callbacks/{callback_id}/done         login  login  303    303    login  login  login   login   login  login    login
GET  /staff/refills                              login  login  200    200    login  login  login   login   login  login    login
POST /staff/refills/{request_id}                 login  login  303    303    login  login  login   login   login  login    login
GET  /staff/insurance                            login  login  200    200    login  login  login   login   login  login    login
POST /staff/insurance/{change_id}                login  login  303    303    login  login  login   login   login  login    login
GET  /staff/calls                                login  login  200    200    login  login  login   login   login  login    login
GET  /staff/calls/{call_sid}                     login  login  200    200    login  login  login   login   login  login    login
GET  /staff/admin/flows                          login  login  403    200    login  login  login   login   login  login    login
POST /staff/admin/flows/validate                 login  login  403    200    login  login  login   login   login  login    login
GET  /staff/admin/policy                         login  login  403    200    login  login  login   login   login  login    login
GET  /staff/admin/flow                           login  login  403    200    login  login  login   login   login  login    login
POST /staff/admin/flow/validate                  login  login  403    200    login  login  login   login   login  login    login
POST /staff/admin/flow/save                      login  login  403    422    login  login  login   login   login  login    login
GET  /staff/admin/flow/history                   login  login  403    200    login  login  login   login   login  login    login
POST /staff/admin/flow/rollback                  login  login  403    422    login  login  login   login   login  login    login
GET  /staff/admin/users                          login  login  403    200    login  login  login   login   login  login    login
POST /staff/admin/users                          login  login  403    422    login  login  login   login   login  login    login
POST /staff/admin/users/{user_id}/role           login  login  403    303    login  login  login   login   login  login    login
POST /staff/admin/users/{user_id}/active         login  login  403    303    login  login  login   login   login  login    login
POST /staff/admin/users/{user_id}/password       login  login  403    303    login  login  login   login   login  login    login
GET  /staff/admin/tokens                         login  login  403    200    login  login  login   login   login  login    login
POST /staff/admin/tokens                         login  login  403    422    login  login  login   login   login  login    login
POST /staff/admin/tokens/{token_id}/revoke       login  login  403    303    login  login  login   login   login  login    login
GET  /staff/admin/try-call                       login  login  403    200    login  login  login   login   login  login    login
WS   /staff/admin/try-call/ws                    1008   1008   1008   open   1008   1008   1008    1008    1008   1008     1008
GET  /api/me                                     401    401    200    200    200    200    401     401     401    401      401
GET  /api/calls                                  401    401    200    200    200    200    401     401     401    401      401
GET  /api/calls/{call_sid}                       401    401    200    200    200    200    401     401     401    401      401
GET  /api/appointments                           401    401    200    200    200    200    401     401     401    401      401
GET  /api/refill-requests                        401    401    200    200    200    200    401     401     401    401      401
GET  /api/insurance-changes                      401    401    200    200    200    200    401     401     401    401      401
GET  /api/transfers                              401    401    200    200    200    200    401     401     401    401      401
GET  /api/callbacks                              401    401    200    200    200    200    401     401     401    401      401
GET  /api/admin/staff-users                      401    401    403    200    403    200    401     401     401    401      401
GET  /api/admin/tokens                           401    401    403    200    403    200    401     401     401    401      401
GET  /api/admin/flows                            401    401    403    200    403    200    401     401     401    401      401
"""  # noqa: E501
# fmt: on

COLUMNS = tuple(MATRIX.split("\n")[1].split()[1:])
Key = tuple[str, str]  # (method or "WS", path as the app declares it)


def expected_table() -> dict[Key, dict[str, str]]:
    table: dict[Key, dict[str, str]] = {}
    for line in MATRIX.strip().splitlines()[1:]:
        method, path, *answers = line.split()
        assert len(answers) == len(COLUMNS), line
        assert (method, path) not in table, f"two rows for {method} {path}"
        table[(method, path)] = dict(zip(COLUMNS, answers, strict=True))
    return table


def route_keys(app: FastAPI) -> set[Key]:
    """Every route the app serves, websockets and mounts included."""
    keys: set[Key] = set()
    for route in iter_route_contexts(app.routes):
        original = route.original_route
        if isinstance(original, Mount):
            keys.add(("GET", original.path + "/{path}"))
        elif isinstance(original, WebSocketRoute):
            keys.add(("WS", str(route.path)))
        else:
            methods = set(route.methods or ())
            if "GET" in methods:
                methods.discard("HEAD")  # HEAD mirrors GET where Starlette adds it
            keys |= {(method, str(route.path)) for method in methods}
    return keys


# --- probes: one concrete request per route -----------------------------------------------


Form = dict[str, str] | Callable[[], dict[str, str]] | None
MISSING = "0" * 32  # a record id that does not exist: authorised posts end at "not found"


@dataclass(frozen=True)
class Probe:
    target: str  # path and query
    form: Form = None
    kind: str = "http"  # http | events | media | try-call
    ends_session: bool = False  # sign-out: each session caller signs in afresh first
    headers: dict[str, str] = field(default_factory=dict)

    def body(self) -> dict[str, str] | None:
        return self.form() if callable(self.form) else self.form


def probes(clinic: Sandbox) -> dict[Key, Probe]:
    db = clinic.runtime.db
    call = make_call(db, transferred=True)
    transfer_id = make_transfer(db, call=call)
    account = clinic.settings.twilio_account_sid
    fax = (clinic.settings.dialogs_dir / "flows/clinic_fax.yaml").read_text()

    def twilio_call(**fields: str) -> Callable[[], dict[str, str]]:
        def form() -> dict[str, str]:
            sid = fields.get("CallSid") or "CA" + secrets.token_hex(16)
            base = {"AccountSid": account, "From": "+15550001111", "To": "+15557654321"}
            return {**base, "CallStatus": "ringing", **fields, "CallSid": sid}

        return form

    return {
        ("GET", "/"): Probe("/"),
        ("GET", "/healthz"): Probe("/healthz"),
        # As from the internet through the reverse proxy (which adds X-Forwarded-For).
        ("GET", "/metrics"): Probe("/metrics", headers={"X-Forwarded-For": "203.0.113.9"}),
        ("GET", "/staff/static/{path}"): Probe("/staff/static/app.js"),
        ("POST", "/twilio/voice"): Probe("/twilio/voice", twilio_call()),
        ("POST", "/twilio/status"): Probe(
            "/twilio/status",
            twilio_call(CallSid=call.call_sid, CallStatus="completed", CallDuration="42"),
        ),
        ("POST", "/twilio/transfer/whisper"): Probe(
            f"/twilio/transfer/whisper?handoff={transfer_id}", twilio_call()
        ),
        ("POST", "/twilio/transfer/result"): Probe(
            f"/twilio/transfer/result?handoff={transfer_id}",
            twilio_call(DialCallStatus="completed"),
        ),
        ("WS", "/twilio/media"): Probe("/twilio/media", kind="media"),
        ("GET", "/staff/login"): Probe("/staff/login"),
        ("POST", "/staff/login"): Probe("/staff/login", {}),
        ("POST", "/staff/logout"): Probe("/staff/logout", {}, ends_session=True),
        ("GET", "/staff/session/ping"): Probe("/staff/session/ping"),
        ("GET", "/staff"): Probe("/staff"),
        ("GET", "/staff/events"): Probe("/staff/events", kind="events"),
        ("POST", "/staff/transfers/{transfer_id}/claim"): Probe(
            f"/staff/transfers/{MISSING}/claim", {}
        ),
        ("POST", "/staff/transfers/{transfer_id}/done"): Probe(
            f"/staff/transfers/{MISSING}/done", {"outcome": "done"}
        ),
        ("GET", "/staff/callbacks"): Probe("/staff/callbacks"),
        ("POST", "/staff/callbacks/{callback_id}/done"): Probe(
            f"/staff/callbacks/{MISSING}/done", {"note": "called back"}
        ),
        ("GET", "/staff/refills"): Probe("/staff/refills"),
        ("POST", "/staff/refills/{request_id}"): Probe(
            f"/staff/refills/{MISSING}", {"decision": "approved"}
        ),
        ("GET", "/staff/insurance"): Probe("/staff/insurance"),
        ("POST", "/staff/insurance/{change_id}"): Probe(
            f"/staff/insurance/{MISSING}", {"decision": "verified"}
        ),
        ("GET", "/staff/calls"): Probe("/staff/calls"),
        ("GET", "/staff/calls/{call_sid}"): Probe(f"/staff/calls/{call.call_sid}"),
        ("GET", "/staff/admin/flows"): Probe("/staff/admin/flows"),
        ("POST", "/staff/admin/flows/validate"): Probe("/staff/admin/flows/validate", {}),
        ("GET", "/staff/admin/policy"): Probe("/staff/admin/policy"),
        ("GET", "/staff/admin/flow"): Probe("/staff/admin/flow?name=flows/clinic_fax.yaml"),
        ("POST", "/staff/admin/flow/validate"): Probe(
            "/staff/admin/flow/validate", {"name": "flows/clinic_fax.yaml", "text": fax}
        ),
        # A broken edit: refused (422) and nothing written, whoever sends it.
        ("POST", "/staff/admin/flow/save"): Probe(
            "/staff/admin/flow/save", {"name": "flows/clinic_fax.yaml", "text": "flow: [\n"}
        ),
        ("GET", "/staff/admin/flow/history"): Probe(
            "/staff/admin/flow/history?name=flows/clinic_fax.yaml"
        ),
        ("POST", "/staff/admin/flow/rollback"): Probe(
            "/staff/admin/flow/rollback", {"name": "flows/clinic_fax.yaml", "version": "999"}
        ),
        ("GET", "/staff/admin/users"): Probe("/staff/admin/users"),
        ("POST", "/staff/admin/users"): Probe(
            "/staff/admin/users",
            {
                "username": "matrix-made",
                "role": "admin",
                "password": "a long enough password",
                "password_again": "a different password!",
            },
        ),
        ("POST", "/staff/admin/users/{user_id}/role"): Probe(
            f"/staff/admin/users/{MISSING}/role", {"role": "admin"}
        ),
        ("POST", "/staff/admin/users/{user_id}/active"): Probe(
            f"/staff/admin/users/{MISSING}/active", {"active": "yes"}
        ),
        ("POST", "/staff/admin/users/{user_id}/password"): Probe(
            f"/staff/admin/users/{MISSING}/password", {"password": "a long enough password"}
        ),
        ("GET", "/staff/admin/tokens"): Probe("/staff/admin/tokens"),
        ("POST", "/staff/admin/tokens"): Probe("/staff/admin/tokens", {"role": "root"}),
        ("POST", "/staff/admin/tokens/{token_id}/revoke"): Probe(
            f"/staff/admin/tokens/{MISSING}/revoke", {}
        ),
        ("GET", "/staff/admin/try-call"): Probe("/staff/admin/try-call"),
        ("WS", "/staff/admin/try-call/ws"): Probe("/staff/admin/try-call/ws", kind="try-call"),
        ("GET", "/api/me"): Probe("/api/me"),
        ("GET", "/api/calls"): Probe("/api/calls"),
        ("GET", "/api/calls/{call_sid}"): Probe(f"/api/calls/{call.call_sid}"),
        ("GET", "/api/appointments"): Probe("/api/appointments"),
        ("GET", "/api/refill-requests"): Probe("/api/refill-requests"),
        ("GET", "/api/insurance-changes"): Probe("/api/insurance-changes"),
        ("GET", "/api/transfers"): Probe("/api/transfers"),
        ("GET", "/api/callbacks"): Probe("/api/callbacks"),
        ("GET", "/api/admin/staff-users"): Probe("/api/admin/staff-users"),
        ("GET", "/api/admin/tokens"): Probe("/api/admin/tokens"),
        ("GET", "/api/admin/flows"): Probe("/api/admin/flows"),
    }


def _matches(template: str, target: str) -> bool:
    pattern = re.sub(r"\\\{path\\\}", ".+", re.escape(template))
    pattern = re.sub(r"\\\{\w+\\\}", "[^/]+", pattern)
    return re.fullmatch(pattern, urlsplit(target).path) is not None


# --- running it --------------------------------------------------------------------------------


@dataclass
class Answer:
    outcome: str
    response: httpx.Response | None = None  # plain HTTP answers, for the header checks


@dataclass
class Results:
    routes: set[Key]
    probes: dict[Key, Probe]
    answers: dict[tuple[Key, str], Answer]


def ask(clinic: Sandbox, key: Key, probe: Probe, credentials: Credentials) -> Answer:
    if probe.ends_session:
        credentials = callers.fresh(clinic, credentials)
    if probe.kind == "media":
        return Answer(callers.media_stream(clinic, credentials, probe.target))
    if probe.kind == "try-call":
        return Answer(callers.try_call(clinic, credentials, probe.target))
    if probe.kind == "events":
        kind, cache = callers.event_stream(clinic, credentials, probe.target)
        assert cache == "no-store"
        return Answer(kind)
    response = callers.send(
        clinic, credentials, key[0], probe.target, probe.body(), extra_headers=probe.headers
    )
    return Answer(callers.outcome(response), response)


@pytest.fixture(scope="module")
def results(clinic: Sandbox) -> Results:
    routes = route_keys(create_app(runtime=clinic.runtime))
    table = probes(clinic)
    columns = callers.make_callers(clinic)
    answers: dict[tuple[Key, str], Answer] = {}
    for key, probe in table.items():
        for name, credentials in columns.items():
            answers[(key, name)] = ask(clinic, key, probe, credentials)
    return Results(routes, table, answers)


def test_every_route_has_a_row_and_a_probe(results: Results) -> None:
    rows = set(expected_table())
    assert results.routes - rows == set(), "routes without a row in MATRIX"
    assert rows - results.routes == set(), "rows in MATRIX for routes the app does not have"
    assert set(results.probes) == rows
    for (method, path), probe in results.probes.items():
        assert _matches(path, probe.target), f"the probe of {method} {path} hits another route"


def test_only_the_intended_callers_pass(results: Results) -> None:
    wrong = [
        f"{key[0]} {key[1]} as {caller}: expected {want}, got {got}"
        for key, row in expected_table().items()
        for caller, want in row.items()
        if (got := results.answers[(key, caller)].outcome) != want
    ]
    assert wrong == []


def test_every_http_answer_carries_the_security_headers(results: Results) -> None:
    """Every page, API answer, webhook answer and error, for every caller: CSP with frame
    denial, nosniff, no-store (static files: no-cache), and no stack trace or patient value
    in any error."""
    problems: list[str] = []
    for (key, caller), answer in results.answers.items():
        response = answer.response
        if response is None:
            continue
        where = f"{key[0]} {key[1]} as {caller}"
        headers = response.headers
        csp = headers.get("content-security-policy", "")
        if "frame-ancestors 'none'" not in csp or "default-src 'self'" not in csp:
            problems.append(f"{where}: CSP {csp!r}")
        if headers.get("x-frame-options") != "DENY":
            problems.append(f"{where}: X-Frame-Options {headers.get('x-frame-options')!r}")
        if headers.get("x-content-type-options") != "nosniff":
            problems.append(f"{where}: no nosniff")
        cache = "no-cache" if key[1].startswith("/staff/static/") else "no-store"
        if headers.get("cache-control") != cache:
            problems.append(f"{where}: Cache-Control {headers.get('cache-control')!r}")
        if response.status_code >= 400 and (found := leaks(response.text)):
            problems.append(f"{where}: error body shows {found}")
    assert problems == []


def test_anonymous_health_shows_only_status_and_check_names(clinic: Sandbox) -> None:
    response = callers.send(clinic, Credentials(), "GET", "/healthz")
    body = response.json()
    assert set(body) == {"status", "checks"} and body["status"] == "ok"
    assert all(isinstance(value, bool) for value in body["checks"].values())
    assert set(body["checks"]) == {"database", "models"}


def test_metrics_hold_no_patient_data_after_calls(results: Results, clinic: Sandbox) -> None:
    """After the matrix's calls (webhooks from a patient's phone, media streams, a try-call,
    rejected signatures and tokens), nothing in /metrics names a patient, a number or a
    call."""
    db = clinic.runtime.db
    patient_phone = "+15551234567"  # Maria Gonzalez's, on file
    form = {
        "CallSid": "CA" + secrets.token_hex(16),
        "AccountSid": clinic.settings.twilio_account_sid,
        "From": patient_phone,
        "To": "+15557654321",
        "CallStatus": "ringing",
    }
    signed = Credentials(signature="good")
    assert callers.send(clinic, signed, "POST", "/twilio/voice", form).status_code == 200
    make_call(db, patient_id="p-001")
    body = callers.send(clinic, Credentials(), "GET", "/metrics").text
    for name in ("calls_started_total", "webhooks_rejected_total", "streams_rejected_total"):
        assert f"voiceagent_{name}" in body
    assert leaks(body) == []
    # Label values are fixed vocabularies: short words, never a number, an id or free text.
    values = re.findall(r'="([^"]*)"', "".join(re.findall(r"\{[^}]*\}", body)))
    assert values
    odd = [v for v in values if not re.fullmatch(r"[A-Za-z0-9_.+\-]{0,40}", v)]
    odd += [v for v in values if re.search(r"\d{7}|(CA|BR)[0-9a-f]{32}", v)]
    assert odd == [], f"{len(odd)} label values that are not from a fixed vocabulary"

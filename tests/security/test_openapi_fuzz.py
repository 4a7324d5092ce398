"""Every operation of the app's OpenAPI document fuzzed with schemathesis against the running
server: valid and invalid inputs generated from the document itself.

- JSON API and health: with an admin bearer token, so the handlers run and not only the
  auth check.
- Twilio webhooks, twice. Unsigned (whatever X-Twilio-Signature the fuzzer makes up):
  always 403. Signed with the account's auth token, as Twilio would sign them: the handlers
  see the fuzzed form, laid over with fields naming real records (a call, a handoff) and
  hostile values for the numeric fields, so the fuzz reaches past "unknown call".

Every answer: never 5xx; status, content type and body as the document declares them; no
error body with a stack trace or a seeded patient value. The run is deterministic
(``derandomize``) and bounded (``MAX_EXAMPLES`` per operation and mode).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import isolated_settings
from tests.security import callers
from tests.security.callers import Credentials
from tests.security.phi import leaks
from tests.web.helpers import make_call, make_transfer
from voiceagent.simulate.sandbox import Sandbox
from voiceagent.web.app import create_app

MAX_EXAMPLES = 30
# Not negative_data_rejection: unknown query parameters are ignored, as most HTTP APIs do,
# rather than refused; and the fuzzer's "no Authorization" cases get our token added.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]

# The document as the app builds it in-process (production settings do not serve it); the
# first test checks that it is the running server's own.
DOCUMENT: dict[str, Any] = create_app(isolated_settings()).openapi()
SCHEMA = schemathesis.openapi.from_dict(DOCUMENT)
OPERATIONS = {op.label: op for op in (result.ok() for result in SCHEMA.get_all_operations())}
WEBHOOKS = sorted(label for label in OPERATIONS if " /twilio/" in label)
OTHERS = sorted(label for label in OPERATIONS if label not in WEBHOOKS)

# What Twilio's fields could carry on a bad day: digits that ``str.isdigit`` accepts and
# ``int`` does not (superscripts, circled), other scripts' digits, signs, any size.
NUMBERS = st.one_of(
    st.text(alphabet="0123456789²³¹⁰⁹₀₂①٣९", min_size=1, max_size=8),
    st.integers(min_value=-(10**6), max_value=10**6).map(str),
    st.integers(min_value=10**9, max_value=10**40).map(str),
)
STATUSES = st.sampled_from(["completed", "busy", "no-answer", "failed", "answered", ""])
OPEN_CALL = "open-call"  # stands for a call just announced by /twilio/voice, still open
Overlay = tuple[dict[str, str], dict[str, str]]  # form fields, query parameters


def twilio_overlay(call_sid: str, handoff: str) -> st.SearchStrategy[Overlay]:
    form = st.fixed_dictionaries(
        {},
        optional={
            "CallSid": st.sampled_from([call_sid, OPEN_CALL]),
            "CallDuration": NUMBERS,
            "DialCallDuration": NUMBERS,
            "CallStatus": STATUSES,
            "DialCallStatus": STATUSES,
        },
    )
    query = st.fixed_dictionaries({}, optional={"handoff": st.just(handoff)})
    return st.tuples(form, query)


def _laid_over(case: Case, overlay: Overlay) -> Case:
    form, query = overlay
    case.body = {**(case.body if isinstance(case.body, dict) else {}), **form}
    case.query = {**(case.query or {}), **query}
    return case


def fuzz(
    operation: Any,
    attempt: Callable[[Case], None],
    overlay: st.SearchStrategy[Overlay] | None = None,
) -> None:
    """Run ``attempt`` on valid and invalid cases of one operation, reproducibly."""
    strategy = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )
    if overlay is not None:
        strategy = st.builds(_laid_over, strategy, overlay)

    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case: Case) -> None:
        attempt(case)

    run()


def no_leaks(response: httpx.Response | Any) -> None:
    if response.status_code >= 400:
        assert leaks(response.text) == [], f"the {response.status_code} body leaks"


@pytest.fixture(scope="module")
def admin_token(clinic: Sandbox) -> str:
    return callers.new_token(clinic, "admin")


@pytest.fixture(scope="module")
def records(clinic: Sandbox) -> tuple[str, str]:
    """A call and its handoff, so that fuzzed requests can name real records."""
    call = make_call(clinic.runtime.db, transferred=True)
    return call.call_sid, make_transfer(clinic.runtime.db, call=call)


def open_call(clinic: Sandbox) -> str:
    """A call Twilio has just announced (its stream not connected yet)."""
    call_sid = "CA" + secrets.token_hex(16)
    form = {"CallSid": call_sid, "AccountSid": clinic.settings.twilio_account_sid}
    response = callers.send(clinic, Credentials(signature="good"), "POST", "/twilio/voice", form)
    assert response.status_code == 200
    return call_sid


def test_the_fuzzed_document_is_the_running_servers_own(clinic: Sandbox) -> None:
    """The app the server runs (its settings, its routes) builds this document; it does not
    hand it out (production settings)."""
    assert create_app(runtime=clinic.runtime).openapi() == DOCUMENT
    assert callers.send(clinic, Credentials(), "GET", "/openapi.json").status_code == 404
    assert len(WEBHOOKS) == 4 and len(OTHERS) >= 13
    for label in WEBHOOKS:
        operation = DOCUMENT["paths"][label.split()[1]]["post"]
        assert "application/x-www-form-urlencoded" in operation["requestBody"]["content"]
        assert {p["name"] for p in operation["parameters"]} >= {callers.SIGNATURE_HEADER}
        assert "403" in operation["responses"]


@pytest.mark.parametrize("label", OTHERS)
def test_api_operation_survives_fuzzing(clinic: Sandbox, admin_token: str, label: str) -> None:
    headers = {"Authorization": f"Bearer {admin_token}"}

    def attempt(case: Case) -> None:
        response = case.call(base_url=clinic.url, headers=headers)
        case.validate_response(response, checks=CHECKS, headers=headers)
        no_leaks(response)

    fuzz(OPERATIONS[label], attempt)


@pytest.mark.parametrize("label", WEBHOOKS)
def test_unsigned_webhook_is_refused_whatever_it_carries(
    clinic: Sandbox, records: tuple[str, str], label: str
) -> None:
    def attempt(case: Case) -> None:
        response = case.call(base_url=clinic.url)
        assert response.status_code == 403, response.status_code
        case.validate_response(response, checks=CHECKS)
        no_leaks(response)

    fuzz(OPERATIONS[label], attempt, twilio_overlay(*records))


@pytest.mark.parametrize("label", WEBHOOKS)
def test_signed_webhook_never_fails_on_what_twilio_sends(
    clinic: Sandbox, records: tuple[str, str], label: str
) -> None:
    """Twilio's own requests (our account, a valid signature) with fuzzed fields."""
    account = clinic.settings.twilio_account_sid
    signer = callers.signer(clinic, "good")

    def attempt(case: Case) -> None:
        sent = case.as_transport_kwargs(base_url=clinic.url)
        body = case.body if isinstance(case.body, dict) else {}
        form = {str(k): v if isinstance(v, str) else str(v) for k, v in body.items()}
        form["AccountSid"] = account
        if form.get("CallSid") == OPEN_CALL:
            form["CallSid"] = open_call(clinic)
        url = str(httpx.URL(sent["url"], params=sent.get("params") or {}))
        headers = {callers.SIGNATURE_HEADER: signer.sign(url, form)}
        response = callers.client().post(url, data=form, headers=headers)
        assert response.status_code != 403, "the signature did not hold"
        assert response.status_code < 500, response.status_code
        no_leaks(response)

    fuzz(OPERATIONS[label], attempt, twilio_overlay(*records))

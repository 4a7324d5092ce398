"""Call control through the real twilio SDK, over real HTTP, against the fake REST API."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import pytest
import structlog

from telephony.twilio.control import TwilioCallControl
from telephony.twilio.transfer_twiml import HANDOFF_PARAMETER, RESULT_PATH, WHISPER_PATH
from tests.fakes.twilio_api import FakeTwilioApi, parse_twiml, twiml_problems
from voiceagent.config import Settings

FRONT_DESK = "+15557650000"
PUBLIC_BASE_URL = "https://clinic.example.org"
CALL_SID = "CA" + "ab" * 16
HANDOFF_ID = "hf-7f3c2a"
CALLER_MESSAGE = "Connecting you to the front desk now; they will have the details."


ControlFactory = Callable[..., TwilioCallControl]


@pytest.fixture
def make_control(fake_twilio_api: FakeTwilioApi) -> ControlFactory:
    """Builds call control against the fake; keyword arguments override the defaults."""

    def make(**overrides: object) -> TwilioCallControl:
        options: dict[str, object] = {
            "account_sid": fake_twilio_api.account_sid,
            "auth_token": fake_twilio_api.auth_token,
            "public_base_url": PUBLIC_BASE_URL,
            "front_desk": FRONT_DESK,
            "api_url": fake_twilio_api.url,
            "request_timeout": 2.0,
        }
        options.update(overrides)
        return TwilioCallControl(**options)  # type: ignore[arg-type]

    return make


def _handoff_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)[HANDOFF_PARAMETER][0]


def _rendered(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Log lines exactly as the product's handler writes them (JSON, after redaction)."""
    handler = next(
        h
        for h in logging.getLogger().handlers
        if isinstance(h.formatter, structlog.stdlib.ProcessorFormatter)
    )
    return [handler.format(record) for record in caplog.records]


def _failure_events(caplog: pytest.LogCaptureFixture) -> list[dict[str, object]]:
    return [
        record.msg
        for record in caplog.records
        if isinstance(record.msg, dict) and record.msg.get("event") == "twilio_call_update_failed"
    ]


def _assert_no_phone_or_content(caplog: pytest.LogCaptureFixture) -> None:
    digits = FRONT_DESK.lstrip("+")
    for line in [*_rendered(caplog), caplog.text]:
        assert digits not in line
        assert "front desk now" not in line
        assert "<Dial" not in line


async def test_warm_transfer_sends_one_redirect_with_dial_and_whisper(
    fake_twilio_api: FakeTwilioApi, make_control: ControlFactory
) -> None:
    control = make_control()

    assert await control.warm_transfer(CALL_SID, HANDOFF_ID, caller_message=CALLER_MESSAGE)

    [request] = fake_twilio_api.requests
    assert request.method == "POST"
    assert (
        request.path == f"/2010-04-01/Accounts/{fake_twilio_api.account_sid}/Calls/{CALL_SID}.json"
    )
    assert request.auth_user == fake_twilio_api.account_sid
    assert request.status == 200
    assert set(request.form) == {"Twiml"}
    assert request.twiml is not None
    assert twiml_problems(request.twiml) == []

    say, dial = list(parse_twiml(request.twiml))
    assert (say.tag, say.text) == ("Say", CALLER_MESSAGE)
    assert dial.tag == "Dial"
    assert dial.get("answerOnBridge") == "true"
    assert dial.get("timeout") == "20"
    assert dial.get("method") == "POST"
    action = dial.get("action", "")
    assert action.startswith(f"{PUBLIC_BASE_URL}{RESULT_PATH}?")
    assert _handoff_of(action) == HANDOFF_ID

    [number] = list(dial)
    assert number.tag == "Number"
    assert number.text == FRONT_DESK
    assert number.get("method") == "POST"
    whisper = number.get("url", "")
    assert whisper.startswith(f"{PUBLIC_BASE_URL}{WHISPER_PATH}?")
    assert _handoff_of(whisper) == HANDOFF_ID

    call = fake_twilio_api.calls[CALL_SID]
    assert call.twiml == [request.twiml]
    assert call.status == "in-progress"


async def test_without_caller_message_the_redirect_only_dials(
    fake_twilio_api: FakeTwilioApi, make_control: ControlFactory
) -> None:
    assert await make_control(ring_seconds=30).warm_transfer(CALL_SID, HANDOFF_ID)

    [request] = fake_twilio_api.requests
    [dial] = list(parse_twiml(request.twiml or ""))
    assert dial.tag == "Dial"
    assert dial.get("timeout") == "30"


async def test_handoff_id_is_encoded_into_the_callback_urls(
    fake_twilio_api: FakeTwilioApi, make_control: ControlFactory
) -> None:
    odd_id = "a b&c=d/é"
    assert await make_control().warm_transfer(CALL_SID, odd_id)

    [dial] = list(parse_twiml(fake_twilio_api.requests[0].twiml or ""))
    assert _handoff_of(dial.get("action", "")) == odd_id
    assert _handoff_of(dial[0].get("url", "")) == odd_id


@pytest.mark.parametrize(
    ("front_desk", "tag", "text"),
    [
        ("sip:frontdesk@pbx.clinic.example;transport=tls", "Sip",
         "sip:frontdesk@pbx.clinic.example;transport=tls"),
        ("client:front_desk", "Client", "front_desk"),
        ("+1 (555) 765-0000", "Number", FRONT_DESK),
    ],
)  # fmt: skip
async def test_front_desk_endpoint_kind_follows_the_configured_form(
    fake_twilio_api: FakeTwilioApi,
    make_control: ControlFactory,
    front_desk: str,
    tag: str,
    text: str,
) -> None:
    assert await make_control(front_desk=front_desk).warm_transfer(CALL_SID, HANDOFF_ID)

    twiml = fake_twilio_api.requests[0].twiml or ""
    assert twiml_problems(twiml) == []
    [dial] = list(parse_twiml(twiml))
    [endpoint] = list(dial)
    assert endpoint.tag == tag
    assert endpoint.text == text
    assert _handoff_of(endpoint.get("url", "")) == HANDOFF_ID
    assert endpoint.get("url", "").startswith(f"{PUBLIC_BASE_URL}{WHISPER_PATH}?")


async def test_hangup_completes_the_call(
    fake_twilio_api: FakeTwilioApi, make_control: ControlFactory
) -> None:
    fake_twilio_api.add_call(CALL_SID)

    assert await make_control().hangup(CALL_SID)

    [request] = fake_twilio_api.requests
    assert request.form == {"Status": "completed"}
    assert request.auth_user == fake_twilio_api.account_sid
    assert fake_twilio_api.calls[CALL_SID].status == "completed"


async def test_api_error_returns_false_and_logs_code_without_number(
    fake_twilio_api: FakeTwilioApi,
    make_control: ControlFactory,
    product_logging: pytest.LogCaptureFixture,
) -> None:
    fake_twilio_api.fail_next(1, status=500)

    ok = await make_control().warm_transfer(CALL_SID, HANDOFF_ID, caller_message=CALLER_MESSAGE)

    assert ok is False
    assert len(fake_twilio_api.requests) == 1  # a redirect is never retried
    [event] = _failure_events(product_logging)
    assert event["http_status"] == 500
    assert event["twilio_code"] == 20500
    assert event["operation"] == "warm_transfer"
    _assert_no_phone_or_content(product_logging)


async def test_timeout_returns_false_within_the_bound(
    fake_twilio_api: FakeTwilioApi,
    make_control: ControlFactory,
    product_logging: pytest.LogCaptureFixture,
) -> None:
    fake_twilio_api.hang_next(1, seconds=30)

    ok = await make_control(request_timeout=0.3).warm_transfer(
        CALL_SID, HANDOFF_ID, caller_message=CALLER_MESSAGE
    )

    assert ok is False
    [request] = fake_twilio_api.requests
    assert request.status is None  # the fake never answered
    [event] = _failure_events(product_logging)
    assert event["error"] in {"ReadTimeout", "TimeoutError"}
    _assert_no_phone_or_content(product_logging)


async def test_unknown_call_404_returns_false(
    fake_twilio_api: FakeTwilioApi,
    make_control: ControlFactory,
    product_logging: pytest.LogCaptureFixture,
) -> None:
    fake_twilio_api.known_calls_only = True

    assert await make_control().warm_transfer(CALL_SID, HANDOFF_ID) is False

    assert fake_twilio_api.requests[0].status == 404
    [event] = _failure_events(product_logging)
    assert (event["http_status"], event["twilio_code"]) == (404, 20404)
    _assert_no_phone_or_content(product_logging)


async def test_redirecting_an_ended_call_returns_false(
    fake_twilio_api: FakeTwilioApi, make_control: ControlFactory
) -> None:
    fake_twilio_api.add_call(CALL_SID)
    fake_twilio_api.end_call(CALL_SID)

    assert await make_control().warm_transfer(CALL_SID, HANDOFF_ID) is False
    assert fake_twilio_api.requests[0].error_code == 21220


async def test_wrong_auth_token_is_refused(
    fake_twilio_api: FakeTwilioApi, make_control: ControlFactory
) -> None:
    assert await make_control(auth_token="not-the-token").hangup(CALL_SID) is False

    [request] = fake_twilio_api.requests
    assert (request.status, request.error_code) == (401, 20003)
    assert request.auth_user == fake_twilio_api.account_sid
    assert CALL_SID not in fake_twilio_api.calls


async def test_unreachable_api_returns_false(
    make_control: ControlFactory, product_logging: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]

    control = make_control(api_url=f"http://127.0.0.1:{port}")

    assert await control.warm_transfer(CALL_SID, HANDOFF_ID) is False
    [event] = _failure_events(product_logging)
    assert event["error"] == "ConnectionError"


async def test_malformed_call_sid_or_missing_token_sends_nothing(
    fake_twilio_api: FakeTwilioApi, make_control: ControlFactory
) -> None:
    assert await make_control().warm_transfer("../../Accounts", HANDOFF_ID) is False
    assert await make_control(auth_token="").hangup(CALL_SID) is False
    assert fake_twilio_api.requests == []


async def test_edge_and_region_from_the_environment_do_not_divert_the_fake(
    fake_twilio_api: FakeTwilioApi,
    make_control: ControlFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TWILIO_EDGE", "sydney")
    monkeypatch.setenv("TWILIO_REGION", "au1")

    assert await make_control().hangup(CALL_SID)
    assert len(fake_twilio_api.requests) == 1


async def test_from_settings_uses_the_configured_api_url(fake_twilio_api: FakeTwilioApi) -> None:
    settings = Settings(
        twilio_account_sid=fake_twilio_api.account_sid,
        twilio_auth_token=fake_twilio_api.auth_token,
        twilio_api_url=fake_twilio_api.url + "/",
        public_base_url=PUBLIC_BASE_URL + "/",
    )
    control = TwilioCallControl.from_settings(settings, FRONT_DESK)

    assert await control.warm_transfer(CALL_SID, HANDOFF_ID)
    [dial] = list(parse_twiml(fake_twilio_api.requests[0].twiml or ""))
    assert dial.get("action", "").startswith(f"{PUBLIC_BASE_URL}{RESULT_PATH}?")


async def test_a_hanging_request_does_not_hold_up_another_call(
    fake_twilio_api: FakeTwilioApi, make_control: ControlFactory
) -> None:
    control = make_control(request_timeout=1.0)
    other_call = "CA" + "cd" * 16
    fake_twilio_api.hang_next(1, seconds=5)

    stuck = asyncio.create_task(control.warm_transfer(CALL_SID, HANDOFF_ID))
    await asyncio.to_thread(fake_twilio_api.wait_for_requests, 1)
    assert await control.hangup(other_call)  # answered while the first one still hangs
    assert not stuck.done()

    assert await stuck is False
    assert [r.call_sid for r in fake_twilio_api.requests] == [CALL_SID, other_call]


def test_invalid_front_desk_is_refused_without_echoing_it() -> None:
    with pytest.raises(ValueError) as raised:
        TwilioCallControl(
            account_sid="AC" + "0" * 32,
            auth_token="token",
            public_base_url=PUBLIC_BASE_URL,
            front_desk="555-0000 ext",
        )
    assert "555" not in str(raised.value)


@pytest.mark.parametrize(
    "overrides",
    [{"public_base_url": "/relative"}, {"ring_seconds": 2}, {"request_timeout": 0}],
)
def test_bad_configuration_fails_at_construction(overrides: dict[str, object]) -> None:
    options: dict[str, object] = {
        "account_sid": "AC" + "0" * 32,
        "auth_token": "token",
        "public_base_url": PUBLIC_BASE_URL,
        "front_desk": FRONT_DESK,
        **overrides,
    }
    with pytest.raises(ValueError):
        TwilioCallControl(**options)  # type: ignore[arg-type]

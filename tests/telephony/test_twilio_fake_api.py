"""The fake Twilio REST API itself, spoken to with a plain HTTP client (no twilio SDK)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.fakes.twilio_api import FakeTwilioApi, twiml_problems

CALL_SID = "CA" + "12" * 16
GOOD_TWIML = (
    '<?xml version="1.0" encoding="UTF-8"?><Response><Say>One moment.</Say>'
    '<Dial answerOnBridge="true" timeout="20" action="https://clinic.example/twilio/transfer/'
    'result?handoff=h1" method="POST"><Number url="https://clinic.example/twilio/transfer/'
    'whisper?handoff=h1" method="POST">+15557650000</Number></Dial></Response>'
)


def _client(fake: FakeTwilioApi, *, token: str | None = None, timeout: float = 5.0) -> httpx.Client:
    return httpx.Client(
        base_url=fake.url,
        auth=(fake.account_sid, fake.auth_token if token is None else token),
        timeout=timeout,
    )


def _call_path(fake: FakeTwilioApi, call_sid: str = CALL_SID) -> str:
    return f"/2010-04-01/Accounts/{fake.account_sid}/Calls/{call_sid}.json"


def test_update_with_valid_twiml_returns_a_call_resource(fake_twilio_api: FakeTwilioApi) -> None:
    with _client(fake_twilio_api) as client:
        started = time.time()
        response = client.post(_call_path(fake_twilio_api), data={"Twiml": GOOD_TWIML})

    assert response.status_code == 200
    body = response.json()
    assert body["sid"] == CALL_SID
    assert body["account_sid"] == fake_twilio_api.account_sid
    assert body["status"] == "in-progress"
    assert body["api_version"] == "2010-04-01"
    assert body["uri"] == _call_path(fake_twilio_api)
    [request] = fake_twilio_api.requests
    assert request.form == {"Twiml": GOOD_TWIML}
    assert request.auth_user == fake_twilio_api.account_sid
    assert request.received_at >= started - 1
    assert fake_twilio_api.calls[CALL_SID].twiml == [GOOD_TWIML]


@pytest.mark.parametrize("token", ["wrong-token", ""])
def test_bad_basic_auth_is_refused_twilio_style(fake_twilio_api: FakeTwilioApi, token: str) -> None:
    with _client(fake_twilio_api, token=token) as client:
        response = client.post(_call_path(fake_twilio_api), data={"Status": "completed"})

    assert response.status_code == 401
    assert response.json()["code"] == 20003
    assert response.json()["more_info"].endswith("/20003")
    assert "Basic" in response.headers["WWW-Authenticate"]
    assert fake_twilio_api.calls == {}


def test_missing_auth_is_refused_and_recorded_without_user(fake_twilio_api: FakeTwilioApi) -> None:
    response = httpx.post(fake_twilio_api.url + _call_path(fake_twilio_api), data={"Url": "x"})

    assert response.status_code == 401
    assert fake_twilio_api.requests[0].auth_user is None


def test_path_for_another_account_is_refused(fake_twilio_api: FakeTwilioApi) -> None:
    other = f"/2010-04-01/Accounts/AC{'9' * 32}/Calls/{CALL_SID}.json"
    with _client(fake_twilio_api) as client:
        assert client.post(other, data={"Status": "completed"}).status_code == 401


@pytest.mark.parametrize(
    ("twiml", "code", "complaint"),
    [
        ('<Response><Dial action="/twilio/transfer/result"><Number>+15557650000</Number>'
         "</Dial></Response>", 12200, "absolute"),
        ('<Response><Dial><Number url="whisper">+15557650000</Number></Dial></Response>',
         12200, "absolute"),
        ("<Response><Say>unclosed</Response>", 12100, "well-formed"),
        ("<Document><Say>hi</Say></Document>", 12200, "<Response>"),
        ("<Response><Number>+15557650000</Number></Response>", 12200, "outside <Dial>"),
        ('<Response><Dial method="PUT"><Number>+1</Number></Dial></Response>', 12200,
         "GET or POST"),
    ],
)  # fmt: skip
def test_bad_twiml_is_refused_and_the_call_left_alone(
    fake_twilio_api: FakeTwilioApi, twiml: str, code: int, complaint: str
) -> None:
    with _client(fake_twilio_api) as client:
        response = client.post(_call_path(fake_twilio_api), data={"Twiml": twiml})

    assert response.status_code == 400
    assert response.json()["code"] == code
    assert complaint in response.json()["message"]
    assert fake_twilio_api.requests[0].error_code == code
    assert (
        fake_twilio_api.calls.get(CALL_SID) is None or fake_twilio_api.calls[CALL_SID].twiml == []
    )


def test_relative_url_parameter_is_refused(fake_twilio_api: FakeTwilioApi) -> None:
    with _client(fake_twilio_api) as client:
        response = client.post(_call_path(fake_twilio_api), data={"Url": "/twilio/voice"})

    assert (response.status_code, response.json()["code"]) == (400, 21205)


def test_unknown_and_ended_calls(fake_twilio_api: FakeTwilioApi) -> None:
    fake_twilio_api.known_calls_only = True
    ended = fake_twilio_api.add_call(status="completed")
    with _client(fake_twilio_api) as client:
        unknown = client.post(_call_path(fake_twilio_api), data={"Twiml": GOOD_TWIML})
        redirect_ended = client.post(_call_path(fake_twilio_api, ended), data={"Twiml": GOOD_TWIML})
        hangup_ended = client.post(_call_path(fake_twilio_api, ended), data={"Status": "completed"})
        fetched = client.get(_call_path(fake_twilio_api, ended))

    assert (unknown.status_code, unknown.json()["code"]) == (404, 20404)
    assert (redirect_ended.status_code, redirect_ended.json()["code"]) == (400, 21220)
    assert hangup_ended.status_code == 200
    assert fetched.json()["status"] == "completed"
    assert fetched.json()["end_time"] is not None


def test_hangup_ends_the_call(fake_twilio_api: FakeTwilioApi) -> None:
    with _client(fake_twilio_api) as client:
        response = client.post(_call_path(fake_twilio_api), data={"Status": "completed"})

    assert response.json()["status"] == "completed"
    assert fake_twilio_api.calls[CALL_SID].status == "completed"


def test_fail_next_answers_with_errors_then_recovers(fake_twilio_api: FakeTwilioApi) -> None:
    fake_twilio_api.fail_next(2, status=503)
    with _client(fake_twilio_api) as client:
        codes = [
            client.post(_call_path(fake_twilio_api), data={"Twiml": GOOD_TWIML}).status_code
            for _ in range(3)
        ]

    assert codes == [503, 503, 200]
    assert [r.status for r in fake_twilio_api.requests] == [503, 503, 200]


def test_hang_next_leaves_the_client_waiting_then_recovers(fake_twilio_api: FakeTwilioApi) -> None:
    fake_twilio_api.hang_next(1, seconds=10)
    with _client(fake_twilio_api, timeout=0.2) as impatient, pytest.raises(httpx.ReadTimeout):
        impatient.post(_call_path(fake_twilio_api), data={"Status": "completed"})
    with _client(fake_twilio_api) as client:  # a normal timeout: only the first one hangs
        after = client.post(_call_path(fake_twilio_api), data={"Status": "completed"})

    assert after.status_code == 200
    assert [r.status for r in fake_twilio_api.requests] == [None, 200]


def test_unknown_path_is_a_twilio_404(fake_twilio_api: FakeTwilioApi) -> None:
    with _client(fake_twilio_api) as client:
        response = client.post(f"/2010-04-01/Accounts/{fake_twilio_api.account_sid}/Queues.json")

    assert (response.status_code, response.json()["code"]) == (404, 20404)


def test_concurrent_requests_are_all_recorded(fake_twilio_api: FakeTwilioApi) -> None:
    sids = [f"CA{n:032x}" for n in range(24)]

    def hang_up(client: httpx.Client, sid: str) -> int:
        return client.post(
            _call_path(fake_twilio_api, sid), data={"Status": "completed"}
        ).status_code

    with _client(fake_twilio_api) as client, ThreadPoolExecutor(max_workers=8) as pool:
        assert set(pool.map(lambda sid: hang_up(client, sid), sids)) == {200}

    assert sorted(r.call_sid for r in fake_twilio_api.requests) == sorted(sids)
    assert all(call.status == "completed" for call in fake_twilio_api.calls.values())


def test_stop_closes_the_socket() -> None:
    with FakeTwilioApi() as fake:
        url = fake.url
        assert httpx.get(url + "/").status_code == 401

    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "/", timeout=1)


def test_twiml_problems_accepts_websocket_streams_and_absolute_play() -> None:
    twiml = (
        '<Response><Connect><Stream url="wss://clinic.example/twilio/media"/></Connect>'
        "<Play>https://clinic.example/hold.wav</Play></Response>"
    )
    assert twiml_problems(twiml) == []
    assert twiml_problems("<Response><Play>hold.wav</Play></Response>") != []
    assert twiml_problems('<Response><Redirect method="POST">/next</Redirect></Response>') != []
    assert twiml_problems("<Response><Dance/></Response>") == ["<Dance> is not a TwiML verb"]

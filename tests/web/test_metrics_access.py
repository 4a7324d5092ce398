"""Who may read /metrics: a live API token, or a direct connection from loopback or a listed
network; never an address named by a proxy header. Each request comes from a chosen peer
address (Starlette's TestClient sets the ASGI ``client``, as uvicorn does from the socket)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import BASE_URL, StaffApp
from tests.web.helpers import TESTS, add_user
from voiceagent.store.repos import staff as staff_repo
from voiceagent.web.sessions import PLAIN_COOKIE

LAN_SCRAPER = "10.0.5.20"


def scrape(app: StaffApp, peer: str, headers: dict[str, str] | None = None) -> httpx.Response:
    client = TestClient(app.app, base_url=BASE_URL, client=(peer, 40000))
    return client.get("/metrics", headers=headers or {})


def token(app: StaffApp, role: str = "staff") -> dict[str, str]:
    with app.db.session() as session:
        _token, secret = staff_repo.create_token(session, TESTS, role=role, label="metrics")
    return {"Authorization": f"Bearer {secret}"}


def assert_refused(response: httpx.Response) -> None:
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.content == b""  # not a single sample, not even a metric's name


@pytest.mark.parametrize("peer", ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"])
def test_loopback_reads_metrics_without_a_token(staff_app: StaffApp, peer: str) -> None:
    response = scrape(staff_app, peer)
    assert response.status_code == 200
    assert "voiceagent_transfers_total" in response.text


@pytest.mark.parametrize("peer", [LAN_SCRAPER, "203.0.113.9", "2001:db8::1", "testclient"])
def test_other_addresses_need_a_token(staff_app: StaffApp, peer: str) -> None:
    assert_refused(scrape(staff_app, peer))
    for role in ("staff", "admin"):
        answer = scrape(staff_app, peer, token(staff_app, role))
        assert answer.status_code == 200 and "voiceagent_calls_started_total" in answer.text


def test_a_staff_session_is_not_a_metrics_credential(staff_app: StaffApp) -> None:
    user_id = add_user(staff_app.db, "ada", "admin")
    with staff_app.db.session() as session:
        user = staff_repo.get_user(session, user_id)
        secret = staff_repo.open_session(
            session, user, lifetime=timedelta(hours=1), now=staff_app.runtime.clock()
        )
    browser = TestClient(staff_app.app, base_url=BASE_URL, cookies={PLAIN_COOKIE: secret})
    assert browser.get("/api/me").json()["username"] == "ada"  # a live admin session
    assert_refused(browser.get("/metrics"))


def test_a_wrong_token_is_refused_even_from_loopback(staff_app: StaffApp) -> None:
    with staff_app.db.session() as session:
        row, secret = staff_repo.create_token(session, TESTS, role="admin")
        staff_repo.revoke_token(session, TESTS, row.id, now=staff_app.runtime.clock())
    for bearer in (secret, "vat_" + "made-up" * 6, "not-even-a-token"):
        assert_refused(scrape(staff_app, "127.0.0.1", {"Authorization": f"Bearer {bearer}"}))


@pytest.mark.parametrize(
    "header",
    [
        {"X-Forwarded-For": "127.0.0.1"},
        {"X-Forwarded-For": "10.0.5.20, 127.0.0.1"},
        {"Forwarded": "for=127.0.0.1"},
        {"X-Real-IP": "127.0.0.1"},
    ],
)
def test_a_proxied_request_is_never_let_in_by_address(
    make_app: Callable[..., StaffApp], header: dict[str, str]
) -> None:
    """A reverse proxy on this host connects from loopback: a request it forwards (it names
    the client) needs a token, and a forwarding header never lends an address either."""
    app = make_app(metrics_allow=LAN_SCRAPER)
    assert_refused(scrape(app, "127.0.0.1", header))
    assert_refused(scrape(app, LAN_SCRAPER, header))
    assert_refused(scrape(app, "203.0.113.9", header))
    assert scrape(app, "127.0.0.1", {**header, **token(app)}).status_code == 200


def test_listed_addresses_and_networks_read_without_a_token(
    make_app: Callable[..., StaffApp],
) -> None:
    app = make_app(metrics_allow=f"{LAN_SCRAPER}, 192.168.7.0/24,fd00:aa::/64")
    for peer in (LAN_SCRAPER, "192.168.7.200", "fd00:aa::5", "127.0.0.1"):
        assert scrape(app, peer).status_code == 200, peer
    for peer in ("10.0.5.21", "192.168.8.1", "fd00:ab::5"):
        assert_refused(scrape(app, peer))

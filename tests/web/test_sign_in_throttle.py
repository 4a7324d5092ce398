"""Sign-in throttling: progressive delays per (username, client address), a ceiling per
address, and which address a request comes from behind trusted proxies. The server's clock
is one the test moves (and far from the real time, as under a moved development clock), so
no test sleeps through a delay."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from ipaddress import ip_network

import httpx
from fastapi.testclient import TestClient

from tests.conftest import CLINIC_MONDAY
from tests.web.conftest import BASE_URL, StaffApp
from tests.web.helpers import PASSWORD, add_user, audit_entries, sign_in
from voiceagent.web.client_address import TrustedProxies
from voiceagent.web.sessions import PLAIN_COOKIE
from voiceagent.web.staff.login import InFlight, delay_after

WRONG = "wrong password!!"
ATTACKER, ALICE_DESK, PROXY = "203.0.113.66", "198.51.100.10", "172.30.80.1"


class MovableClock:
    """The server's clock; only the test moves it."""

    def __init__(self, start: datetime = CLINIC_MONDAY) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def browser_at(app: StaffApp, address: str) -> TestClient:
    """A browser connecting from ``address`` (the direct peer the server sees)."""
    return TestClient(app.app, base_url=BASE_URL, client=(address, 50000))


def throttled(response: httpx.Response) -> int:
    """The Retry-After of a throttled answer (the password was not even checked)."""
    assert response.status_code == 429, response.status_code
    assert "Too many failed sign-ins" in response.text
    assert PLAIN_COOKIE not in response.cookies
    return int(response.headers["retry-after"])


def test_delays_grow_per_pair_and_the_password_is_not_checked_meanwhile(
    make_app: Callable[..., StaffApp],
) -> None:
    clock = MovableClock()
    app = make_app(clock=clock)
    add_user(app.db, "alice")
    browser = browser_at(app, ATTACKER)
    for _ in range(3):  # the free tries: a person mistyping
        assert sign_in(browser, "alice", WRONG).status_code == 401
    waits = []
    for _ in range(8):
        wait = throttled(sign_in(browser, "alice"))  # the right password, unchecked
        clock.advance(wait - 1)
        if wait > 1:
            assert 0 < throttled(sign_in(browser, "alice", WRONG)) <= 1  # not recorded
        clock.advance(1)
        assert sign_in(browser, "alice", WRONG).status_code == 401  # checked, failed again
        waits.append(wait)
    assert waits == [1, 2, 4, 8, 16, 32, 60, 60]
    assert len(audit_entries(app.db, "staff.login_failed", record_type="login_pair")) == 11
    # Failures are forgotten after the window, on the same clock they were recorded with.
    clock.advance(app.settings.login_window_seconds)
    assert sign_in(browser, "alice").status_code == 303


def test_failures_from_elsewhere_do_not_lock_the_user_out(
    make_app: Callable[..., StaffApp],
) -> None:
    clock = MovableClock()
    app = make_app(clock=clock)
    add_user(app.db, "alice")
    attacker = browser_at(app, ATTACKER)
    for _ in range(12):  # guessing as fast as the delays allow
        response = sign_in(attacker, "alice", WRONG)
        if response.status_code == 429:
            clock.advance(int(response.headers["retry-after"]))
            response = sign_in(attacker, "alice", WRONG)
        assert response.status_code == 401
    assert throttled(sign_in(attacker, "alice")) == 60
    # Alice, at her desk, is let in at once, and a typo of hers costs no wait.
    desk = browser_at(app, ALICE_DESK)
    assert sign_in(desk, "alice", WRONG).status_code == 401
    assert sign_in(desk, "alice").status_code == 303
    assert throttled(sign_in(attacker, "alice")) == 60  # her sign-in freed nobody else


def test_failed_sign_ins_count_on_every_replica(make_app: Callable[..., StaffApp]) -> None:
    clock = MovableClock()
    first = make_app(clock=clock)
    second = make_app(replica_of=first, clock=clock)
    add_user(first.db, "alice")
    add_user(first.db, "carol")
    for app in (first, second, first):
        assert sign_in(app.client, "alice", WRONG).status_code == 401
    assert throttled(sign_in(second.client, "alice")) == 1  # the other replica knows
    assert sign_in(second.client, "carol").status_code == 303  # other accounts unaffected


def test_a_successful_sign_in_clears_the_pairs_count(make_app: Callable[..., StaffApp]) -> None:
    app = make_app(clock=MovableClock())  # time stands still: any delay would show
    add_user(app.db, "alice")
    for _ in range(2):
        for _ in range(2):
            assert sign_in(app.client, "alice", WRONG).status_code == 401
        assert sign_in(app.client, "alice").status_code == 303


def test_one_address_guessing_many_usernames_hits_its_ceiling(
    make_app: Callable[..., StaffApp],
) -> None:
    clock = MovableClock()
    app = make_app(clock=clock, login_max_failures_per_ip=4)
    add_user(app.db, "alice")
    sprayer = browser_at(app, ATTACKER)
    for name in ("amy", "ann", "abe", "ada"):
        assert sign_in(sprayer, name, "guessing-a-password").status_code == 401
        clock.advance(60)
    # Open again when the first of the four leaves the 15-minute window.
    assert throttled(sign_in(sprayer, "alice")) == 900 - 4 * 60
    assert "Wait 11 minutes" in sign_in(sprayer, "bob").text
    assert sign_in(browser_at(app, ALICE_DESK), "alice").status_code == 303
    clock.advance(900 - 4 * 60)
    assert sign_in(sprayer, "alice").status_code == 303


def test_forwarded_for_is_believed_only_from_a_trusted_proxy(
    make_app: Callable[..., StaffApp],
) -> None:
    """Behind docker-compose every request comes from the bridge's gateway."""
    app = make_app(clock=MovableClock(), trusted_proxies="172.30.80.0/24")
    add_user(app.db, "alice")
    proxy = browser_at(app, PROXY)

    def via_proxy(forwarded_for: str, password: str = WRONG) -> httpx.Response:
        proxy.headers["X-Forwarded-For"] = forwarded_for
        return sign_in(proxy, "alice", password)

    for _ in range(3):
        assert via_proxy(ATTACKER).status_code == 401
    assert throttled(via_proxy(ATTACKER, "any"))
    # Another client behind the same proxy is another pair; one that prepends a made-up
    # address of its own is still known by the hop the proxy appended.
    assert throttled(via_proxy(f"{ALICE_DESK}, {ATTACKER}"))
    assert via_proxy(f"{ATTACKER}, {ALICE_DESK}", PASSWORD).status_code == 303
    failures = audit_entries(app.db, "staff.login_failed", record_type="login_address")
    assert {f.record_id for f in failures} == {ATTACKER}
    # From anyone but the proxy the header is ignored: the attacker cannot step aside.
    direct = browser_at(app, ATTACKER)
    direct.headers["X-Forwarded-For"] = "192.0.2.77"
    assert throttled(sign_in(direct, "alice"))


def test_without_trusted_proxies_the_peer_is_the_client(
    make_app: Callable[..., StaffApp],
) -> None:
    app = make_app(clock=MovableClock())
    add_user(app.db, "alice")
    proxy = browser_at(app, PROXY)
    for forwarded in ("192.0.2.1", "192.0.2.2", "192.0.2.3"):
        proxy.headers["X-Forwarded-For"] = forwarded
        assert sign_in(proxy, "alice", WRONG).status_code == 401
    proxy.headers["X-Forwarded-For"] = "192.0.2.4"  # rotating the header does not help
    assert throttled(sign_in(proxy, "alice"))


def test_client_address_walks_forwarded_for_right_to_left() -> None:
    trusted = TrustedProxies((ip_network("172.30.80.0/24"), ip_network("10.1.2.3/32")))
    assert trusted.client("203.0.113.5", ["198.51.100.1"]) == "203.0.113.5"  # not a proxy
    assert trusted.client(PROXY) == PROXY  # no header: the proxy itself
    assert trusted.client(PROXY, ["198.51.100.1"]) == "198.51.100.1"
    assert trusted.client(PROXY, ["1.1.1.1, 198.51.100.1, 10.1.2.3"]) == "198.51.100.1"
    assert trusted.client(PROXY, ["1.1.1.1", "198.51.100.1,10.1.2.3"]) == "198.51.100.1"
    assert trusted.client(PROXY, ["10.1.2.3, 172.30.80.9"]) == "10.1.2.3"  # all ours
    assert trusted.client(PROXY, ["198.51.100.1:4711"]) == "198.51.100.1"
    assert trusted.client(PROXY, ["[2001:db8::1]:443"]) == "2001:db8::1"
    assert trusted.client("::ffff:172.30.80.1", ["198.51.100.1"]) == "198.51.100.1"
    assert trusted.client(PROXY, ["x" * 100]) == "x" * 64
    assert trusted.client(None) == "unknown"
    assert TrustedProxies().client(PROXY, ["198.51.100.1"]) == PROXY


def test_delay_schedule_and_one_check_per_pair_at_a_time() -> None:
    schedule = [delay_after(n, free=3, cap=60) for n in range(11)]
    assert schedule == [0, 0, 0, 1, 2, 4, 8, 16, 32, 60, 60]
    gate = InFlight()
    with gate.claim("alice@a") as first, gate.claim("alice@a") as second, gate.claim("b") as other:
        assert (first, second, other) == (True, False, True)
    with gate.claim("alice@a") as again:
        assert again

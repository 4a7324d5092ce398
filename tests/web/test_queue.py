"""The live queue: order, what a card shows, claiming (one winner) and closing, and the
event stream that pushes changes to open dashboards."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.web.conftest import StaffApp
from tests.web.helpers import (
    PASSWORD,
    add_user,
    audit_entries,
    login_token,
    make_call,
    make_transfer,
    signed_in,
)
from voiceagent.simulate.server import BackgroundServer, free_port
from voiceagent.store.models import Transfer
from voiceagent.store.repos import staff as staff_repo

CARD = re.compile(r'data-transfer-id="([0-9a-f]+)"')


def _card_ids(html: str) -> list[str]:
    return CARD.findall(html)


def test_most_urgent_first_then_newest(staff_app: StaffApp) -> None:
    add_user(staff_app.db, "alice")
    routine_old = make_transfer(staff_app.db, urgency="routine")
    emergency = make_transfer(staff_app.db, urgency="emergency", reason_code="emergency")
    urgent = make_transfer(staff_app.db, urgency="urgent", reason_code="test_results")
    routine_new = make_transfer(staff_app.db, urgency="routine")
    signed_in(staff_app.client, "alice")
    page = staff_app.client.get("/staff").text
    assert _card_ids(page) == [emergency, urgent, routine_new, routine_old]


def test_a_card_shows_the_whole_summary_and_viewing_it_is_audited(staff_app: StaffApp) -> None:
    add_user(staff_app.db, "alice")
    call = make_call(staff_app.db, transferred=True)
    transfer_id = make_transfer(staff_app.db, call=call, urgency="urgent")
    signed_in(staff_app.client, "alice")
    page = staff_app.client.get("/staff").text
    card = page[page.index(f'id="t-{transfer_id}"') :]
    card = card[: card.index("</article>")]
    for expected in (
        "Maria Gonzalez",  # who
        "verified",  # identity checked
        "refill request",  # intent
        "caller request",  # reason code
        "The caller asked to speak with a person.",  # reason
        "URGENT",
        "lisinopril",  # a collected detail
        "Can I talk to a real person?",  # last turns
        "Next step:",
        f"/staff/calls/{call.call_sid}",
        "+15551234567",
    ):
        assert expected in card, expected
    listed = audit_entries(staff_app.db, "transfer.list", actor_type="staff", actor_id="alice")
    assert listed and transfer_id in listed[0].details


def test_exactly_one_staff_member_wins_a_claim(staff_app: StaffApp) -> None:
    add_user(staff_app.db, "alice")
    add_user(staff_app.db, "bob")
    transfer_id = make_transfer(staff_app.db)
    bob = staff_app.new_client()
    alice_csrf = signed_in(staff_app.client, "alice")
    bob_csrf = signed_in(bob, "bob")
    url = f"/staff/transfers/{transfer_id}/claim"
    first = staff_app.client.post(url, data={"csrf_token": alice_csrf}, follow_redirects=False)
    second = bob.post(url, data={"csrf_token": bob_csrf}, follow_redirects=False)
    assert "msg=claimed" in first.headers["location"]
    assert "msg=taken" in second.headers["location"]
    with staff_app.db.session() as session:
        transfer = session.get(Transfer, transfer_id)
        assert (transfer.status, transfer.claimed_by) == ("claimed", "staff:alice")
    assert "Someone else already claimed that call." in bob.get(second.headers["location"]).text
    alice_view = staff_app.client.get("/staff").text
    assert "Claimed by <strong>you</strong>" in alice_view
    assert "Claimed by <strong>alice</strong>" in bob.get("/staff").text
    claims = audit_entries(staff_app.db, "transfer.claim")
    assert [e.actor_id for e in claims] == ["alice"]


def test_marking_done_takes_the_card_off_the_queue(staff_app: StaffApp) -> None:
    add_user(staff_app.db, "alice")
    transfer_id = make_transfer(staff_app.db)
    csrf = signed_in(staff_app.client, "alice")
    staff_app.client.post(f"/staff/transfers/{transfer_id}/claim", data={"csrf_token": csrf})
    done = staff_app.client.post(
        f"/staff/transfers/{transfer_id}/done",
        data={"csrf_token": csrf, "outcome": "done"},
        follow_redirects=False,
    )
    assert "msg=transfer_done" in done.headers["location"]
    assert _card_ids(staff_app.client.get("/staff").text) == []
    again = staff_app.client.post(
        f"/staff/transfers/{transfer_id}/done",
        data={"csrf_token": csrf, "outcome": "done"},
        follow_redirects=False,
    )
    assert "msg=already_done" in again.headers["location"]


def test_dashboard_numbers_for_today(staff_app: StaffApp) -> None:
    add_user(staff_app.db, "alice")
    make_call(staff_app.db)
    make_call(staff_app.db)
    transferred = make_call(staff_app.db, transferred=True)
    make_transfer(staff_app.db, call=transferred)
    signed_in(staff_app.client, "alice")
    page = staff_app.client.get("/staff").text
    assert re.search(r'data-kpi="calls">3<', page)
    assert re.search(r'data-kpi="containment">67%<', page)
    assert re.search(r'data-kpi="transferred">1<', page)
    assert re.search(r'data-kpi="avg_gap">0.64 s<', page)
    assert 'caller request</td><td class="num">1</td>' in page


# --- the event stream, over a real HTTP server -----------------------------------------------


class EventReader:
    def __init__(self, response: httpx.Response) -> None:
        self._lines: Iterator[str] = response.iter_lines()

    def next_event(self, wanted: str, deadline: float) -> dict[str, object]:
        event = None
        for line in self._lines:
            if line.startswith("event: "):
                event = line[len("event: ") :]
            elif line.startswith("data: ") and event == wanted:
                return json.loads(line[len("data: ") :])  # type: ignore[no-any-return]
            assert time.monotonic() < deadline, f"no {wanted} event in time"
        raise AssertionError("the stream ended")


def _http_sign_in(client: httpx.Client, username: str) -> None:
    form = client.get("/staff/login")
    response = client.post(
        "/staff/login",
        data={"username": username, "password": PASSWORD, "login_token": login_token(form.text)},
    )
    assert response.status_code == 303 and response.headers["location"] == "/staff"


def test_the_event_stream_pushes_new_cards_and_ends_with_the_session(
    staff_app: StaffApp,
) -> None:
    """Over a real server: the stream sends the queue, then a new transfer's card as soon
    as the database has it, and says ``expired`` when the account is disabled."""
    add_user(staff_app.db, "alice")
    port = free_port()
    with (
        BackgroundServer(staff_app.runtime, port) as url,
        httpx.Client(base_url=url, timeout=10) as client,
    ):
        _http_sign_in(client, "alice")
        with client.stream("GET", "/staff/events") as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            assert response.headers["cache-control"] == "no-store"
            events = EventReader(response)
            first = events.next_event("queue", time.monotonic() + 10)
            assert _card_ids(str(first["html"])) == []
            # A few polls with nothing new: the stream must not send the same queue again
            # (the next queue event below must be the new card, not a repeat).
            time.sleep(4 * staff_app.settings.live_queue_poll_seconds)
            transfer_id = make_transfer(staff_app.db, urgency="emergency")
            pushed = events.next_event("queue", time.monotonic() + 10)
            assert _card_ids(str(pushed["html"])) == [transfer_id]
            # The numbers follow on the next poll (a stats event may still be in flight).
            deadline = time.monotonic() + 10
            while events.next_event("stats", deadline)["counts"]["new_transfers"] != 1:  # type: ignore[index]
                pass
            with staff_app.db.session() as session:
                user = staff_repo.find_user(session, "alice")
                staff_repo.set_user_active(
                    session, staff_repo.Actor.system("tests"), user.id, False
                )
            expired = events.next_event("expired", time.monotonic() + 20)
            assert expired["login"] == "/staff/login?msg=expired"


def test_streams_end_when_the_server_winds_down(staff_app: StaffApp) -> None:
    """On SIGTERM the server lets dashboards go (they reconnect elsewhere) instead of
    holding its shutdown open."""
    add_user(staff_app.db, "alice")
    with (
        BackgroundServer(staff_app.runtime, free_port()) as url,
        httpx.Client(base_url=url, timeout=10) as client,
    ):
        _http_sign_in(client, "alice")
        with client.stream("GET", "/staff/events") as response:
            events = EventReader(response)
            events.next_event("queue", time.monotonic() + 10)
            asyncio.run(staff_app.runtime.wind_down(1.0))  # no calls: only stops taking them
            with pytest.raises(AssertionError, match="the stream ended"):
                events.next_event("never-sent", time.monotonic() + 10)

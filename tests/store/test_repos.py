"""Refills, insurance, calls, stream tokens, transfers and callbacks."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from voiceagent.store.actor import Actor
from voiceagent.store.db import Database
from voiceagent.store.errors import InvalidTransition, NotFound
from voiceagent.store.models import AuditEntry
from voiceagent.store.repos import (
    add_turn,
    claim_transfer,
    close_call,
    complete_callback,
    consume_stream_token,
    create_callback,
    create_refill_request,
    create_transfer,
    decide_insurance_change,
    find_calls_by_caller,
    finish_transfer,
    get_call,
    get_insurance,
    issue_stream_token,
    link_patient,
    list_callbacks,
    list_insurance_changes,
    list_medications,
    list_refill_requests,
    list_transfers,
    open_call,
    record_status,
    request_insurance_change,
    set_call_progress,
    update_refill_request,
)

from .helpers import NOW

AGENT = Actor.agent("CA100")
STAFF = Actor.staff("frontdesk")


def test_medications_and_refill_requests(seeded: Database) -> None:
    with seeded.session() as s:
        meds = list_medications(s, AGENT, "p-001")
        assert [(m.name, m.dose, m.refills_left, m.controlled) for m in meds] == [
            ("lisinopril", "10 mg daily", 2, False),
            ("oxycodone", "5 mg", 0, True),
        ]
        lisinopril = meds[0]
        request = create_refill_request(s, AGENT, patient_id="p-001", medication_id=lisinopril.id)
        assert request.pharmacy_id == "cvs-main" and request.status == "pending"
        other = create_refill_request(
            s, AGENT, patient_id="p-002", requested_medication="the blue water pill"
        )
        with pytest.raises(NotFound):  # someone else's medication
            create_refill_request(s, AGENT, patient_id="p-002", medication_id=lisinopril.id)
    with seeded.session() as s:
        assert {r.id for r in list_refill_requests(s, STAFF, status="pending")} == {
            request.id,
            other.id,
        }
        done = update_refill_request(
            s, STAFF, request.id, now=NOW, status="approved", staff_note="sent"
        )
        assert done.decided_by == "staff:frontdesk"
        with pytest.raises(InvalidTransition):
            update_refill_request(s, STAFF, request.id, now=NOW, status="denied")
    with seeded.session() as s:
        [mine] = list_refill_requests(s, STAFF, patient_id="p-002")
        assert mine.requested_medication == "the blue water pill"
        assert [r.staff_note for r in list_refill_requests(s, STAFF, status="approved")] == ["sent"]


def test_insurance_change_applies_only_when_verified(seeded: Database) -> None:
    with seeded.session() as s:
        [policy] = get_insurance(s, AGENT, "p-001")
        assert (policy.carrier, policy.member_id, policy.group_number) == (
            "Aetna",
            "W123456789",
            "88123",
        )
        change = request_insurance_change(
            s, AGENT, patient_id="p-001", carrier="Cigna", member_id="U99887766", group_number="551"
        )
        rejected = request_insurance_change(
            s, AGENT, patient_id="p-001", carrier="Medicare", member_id="1AB2CD3EF45"
        )
    with seeded.session() as s:
        assert get_insurance(s, AGENT, "p-001")[0].member_id == "W123456789"  # still pending
        pending = list_insurance_changes(s, STAFF, status="pending")
        assert {c.id for c in pending} == {change.id, rejected.id}
        decide_insurance_change(s, STAFF, change.id, status="verified", now=NOW)
        decide_insurance_change(
            s, STAFF, rejected.id, status="rejected", now=NOW, staff_note="not ours"
        )
        with pytest.raises(InvalidTransition):
            decide_insurance_change(s, STAFF, change.id, status="rejected", now=NOW)
    with seeded.session() as s:
        [policy] = get_insurance(s, AGENT, "p-001")
        assert (policy.carrier, policy.member_id, policy.group_number) == (
            "Cigna",
            "U99887766",
            "551",
        )
        assert policy.verified_at is not None


def test_call_lifecycle(seeded: Database) -> None:
    with seeded.session() as s:
        call = open_call(s, AGENT, call_sid="CA100", caller_number="(555) 123-4567", started_at=NOW)
        again = open_call(
            s, AGENT, call_sid="CA100", caller_number="(555) 123-4567", started_at=NOW
        )
        assert again.id == call.id and call.caller_number == "+15551234567"
        add_turn(s, AGENT, "CA100", speaker="agent", text="Thanks for calling.", at=NOW)
        add_turn(
            s, AGENT, "CA100", speaker="caller", text="I need a refill", asr_confidence=0.91,
            at=NOW + timedelta(seconds=4),
        )  # fmt: skip
        for i, gap in enumerate((400, 700, 1200)):
            add_turn(
                s, AGENT, "CA100", speaker="agent", text="One moment.", response_gap_ms=gap,
                at=NOW + timedelta(seconds=5 + i),
            )  # fmt: skip
        link_patient(s, AGENT, "CA100", "p-001", verified=True)
        set_call_progress(s, AGENT, "CA100", intent="refill")
        assert call.intent == "refill" and call.outcome is None and call.ended_at is None
        close_call(
            s, AGENT, "CA100", outcome="refill_requested", ended_at=NOW + timedelta(seconds=30),
            greeting_ms=350,
        )  # fmt: skip
    with seeded.session() as s:
        call = get_call(s, STAFF, "CA100")
        assert [t.seq for t in call.turns] == [1, 2, 3, 4, 5]
        assert call.turns[1].text == "I need a refill" and call.turns[1].speaker == "caller"
        assert (call.outcome, call.intent, call.status, call.verified) == (
            "refill_requested",
            "refill",
            "completed",
            True,
        )
        assert (call.gap_p50_ms, call.gap_p95_ms, call.gap_max_ms, call.turn_count) == (
            700,
            1200,
            1200,
            5,
        )
        assert [c.id for c in find_calls_by_caller(s, STAFF, "555-123-4567")] == [call.id]
        actions = [e.action for e in s.scalars(select(AuditEntry).order_by(AuditEntry.seq))]
        assert actions.count("call.turn") == 5


def test_carrier_status_callback(seeded: Database) -> None:
    webhook = Actor.system("twilio-webhook")
    with seeded.session() as s:
        call = open_call(s, webhook, call_sid="CA300", caller_number="+15551234567", started_at=NOW)
        assert record_status(s, webhook, "CA300", status="ringing", now=NOW) is call
        assert call.status == "in_progress" and call.ended_at is None
        later = NOW + timedelta(seconds=45)
        record_status(s, webhook, "CA300", status="no-answer", now=later, duration_s=42)
        assert call.status == "no-answer"
        assert call.ended_at == call.started_at + timedelta(seconds=42)
        assert record_status(s, webhook, "CA-unknown", status="completed", now=later) is None


def test_stream_tokens_are_single_use(seeded: Database) -> None:
    with seeded.session() as s:
        token = issue_stream_token(s, "CA1", now=NOW, ttl_seconds=60)
        expired = issue_stream_token(s, "CA1", now=NOW - timedelta(hours=1), ttl_seconds=60)
    soon = NOW + timedelta(seconds=2)  # the media stream connects a moment later
    with seeded.session() as s:
        assert consume_stream_token(s, token, "CA2", now=soon) is False  # another call's token
        assert consume_stream_token(s, expired, "CA1", now=soon) is False
        assert consume_stream_token(s, "forged", "CA1", now=soon) is False
        assert consume_stream_token(s, token, "CA1", now=soon) is True
        assert consume_stream_token(s, token, "CA1", now=soon) is False


def test_stream_token_race_has_one_winner(seeded: Database) -> None:
    with seeded.session() as s:
        token = issue_stream_token(s, "CA9", now=NOW)
    results: list[bool] = []
    barrier = threading.Barrier(6)

    def consume() -> None:
        barrier.wait()
        with seeded.session() as s:
            results.append(consume_stream_token(s, token, "CA9", now=NOW + timedelta(seconds=2)))

    threads = [threading.Thread(target=consume) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(results) == [False] * 5 + [True]


def test_transfers_are_claimed_once(seeded: Database) -> None:
    summary = {"intent": "refill", "patient_id": "p-001", "said": "my oxycodone ran out"}
    with seeded.session() as s:
        call = open_call(s, AGENT, call_sid="CA200", caller_number="+15551234567", started_at=NOW)
        transfer = create_transfer(
            s,
            AGENT,
            reason_code="controlled_substance",
            call_id=call.id,
            patient_id="p-001",
            reason="Asked for an early oxycodone refill",
            urgency="urgent",
            summary=summary,
        )
    with seeded.session() as s:
        [queued] = list_transfers(s, STAFF, status="new")
        assert queued.summary == summary and queued.urgency == "urgent"
        claimed = claim_transfer(s, Actor.staff("alice"), transfer.id, now=NOW)
        assert claimed.claimed_by == "staff:alice"
    with seeded.session() as s, pytest.raises(InvalidTransition, match="claimed"):
        claim_transfer(s, Actor.staff("bob"), transfer.id, now=NOW)
    with seeded.session() as s:
        assert finish_transfer(s, STAFF, transfer.id, now=NOW).status == "done"
        assert get_call(s, STAFF, "CA200").transferred is True


def test_callbacks(seeded: Database) -> None:
    with seeded.session() as s:
        cb = create_callback(
            s, AGENT, phone="555-987-6543", name="Pat Doe", reason="billing question"
        )
    with seeded.session() as s:
        [open_cb] = list_callbacks(s, STAFF, status="open")
        assert (open_cb.phone, open_cb.name, open_cb.reason) == (
            "+15559876543",
            "Pat Doe",
            "billing question",
        )
        complete_callback(s, STAFF, cb.id, now=NOW, note="left voicemail")
        with pytest.raises(InvalidTransition):
            complete_callback(s, STAFF, cb.id, now=NOW)
    with seeded.session() as s:
        assert list_callbacks(s, STAFF, status="open") == []
        assert list_callbacks(s, STAFF, status="done")[0].note == "left voicemail"

"""Identity verification under any sequence of caller turns, and its limits across calls.

A Hypothesis state machine plays random turns against the real flows and a real database:
full and one-part names, right and wrong dates of birth (spoken and keyed), "start over",
"go back", corrections and switching to another request. Whatever the order:
- a call never has more than three failed identity checks;
- a caller is verified only after both name parts and the date of birth were right;
- nothing from the record is said before verification.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from sqlalchemy import func, select

from tests.conversations.helpers import place_call
from voiceagent.dialog.actions.identity import (
    MAX_FAILURES_PER_CALL,
    MAX_FAILURES_PER_NUMBER,
    MAX_FAILURES_PER_RECORD,
)
from voiceagent.dialog.base import Reply, Transfer, Utterance
from voiceagent.dialog.conversations import Conversation
from voiceagent.dialog.engine import FlowDialog
from voiceagent.store.models import Call, IdentityFailure

MARIAS_PHONE = "+15551234567"
MARIAS_DOB = date(1982, 3, 3)
UNKNOWN_PHONE = "+15550009999"
# What Maria's record would reveal (an appointment, medications, her pharmacy, her last name).
RECORD_WORDS = ("gonzalez", "lisinopril", "oxycodone", "cvs", "december 2", "aetna")

RIGHT_NAMES = ["Maria Gonzalez", "It's Maria Gonzalez.", "Gonzalez, Maria"]
WRONG_NAMES = ["Maria Smith", "Mario Gonzales Ruiz", "John Gonzalez", "Anna Lee"]
ONE_PART = ["Maria", "Gonzalez", "It's Maria."]
RIGHT_DOB_SAID = ["March 3rd, 1982", "3/3/1982"]
WRONG_DOB_SAID = ["January 1st, 1990", "March 4th, 1982", "April 4, 1984"]
RIGHT_KEYS, WRONG_KEYS = "03031982", ["01011990", "03041982", "12121912"]
MOVES = ["Start over.", "Go back.", "No, I said Maria Gonzalez.", "No, March 3rd 1982."]
REQUESTS = [
    "When is my next appointment?",
    "I need a refill on my lisinopril.",
    "I want to cancel my appointment.",
    "I'd like to check my insurance on file.",
]


def start_call(conversation_factory: Callable, caller: str | None) -> tuple[object, FlowDialog]:  # type: ignore[type-arg]
    db, factory = conversation_factory(Conversation(name="identity limits", turns=[]))
    return db, place_call(db, factory, caller)


def failed_checks(db, call_sid: str) -> int:  # type: ignore[no-untyped-def]
    with db.session() as session:
        call_id = session.scalar(select(Call.id).where(Call.call_sid == call_sid))
        return int(
            session.scalar(
                select(func.count(func.distinct(IdentityFailure.check_id))).where(
                    IdentityFailure.call_id == call_id
                )
            )
            or 0
        )


@pytest.mark.parametrize("caller", [MARIAS_PHONE, None])
def test_identity_holds_under_any_sequence_of_turns(conversation_factory, caller) -> None:  # type: ignore[no-untyped-def]
    class IdentityMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.db, self.dialog = start_call(conversation_factory, caller)
            # Whether the caller has said Maria's full name / date of birth at all this call.
            self.gave_name = False
            self.gave_dob = False
            self.was_verified = False
            self.over = False

        def reply(self, reply: Reply) -> None:
            verified = self.dialog.state.verified
            said = " ".join(reply.say).lower()
            if not verified:
                leaked = [w for w in RECORD_WORDS if w in said]
                assert not leaked, f"said {leaked} before verification: {said!r}"
            if verified and not self.was_verified:
                # What the dialog holds when it verifies: both of Maria's name parts and her
                # date of birth, each given by the caller at some point of this call.
                values = self.dialog.state.values
                name, dob = values.get("full_name"), values.get("date_of_birth")
                parts = {(name.first or "").lower(), (name.last or "").lower()} if name else set()
                assert parts == {"maria", "gonzalez"}, f"verified on the name {name!r}"
                assert dob == MARIAS_DOB, f"verified on the date of birth {dob!r}"
                assert self.gave_name and self.gave_dob
                self.was_verified = True
            if reply.action is not None:  # transferred or hung up: the call is over
                self.over = True

        def say(self, text: str) -> None:
            if not self.over:
                self.reply(self.dialog.on_utterance(Utterance(text, 0.95, 1200)))

        @rule(text=st.sampled_from(REQUESTS))
        def ask(self, text: str) -> None:
            self.say(text)

        @rule(text=st.sampled_from(RIGHT_NAMES))
        def right_name(self, text: str) -> None:
            self.gave_name = True
            self.say(text)

        @rule(text=st.sampled_from(WRONG_NAMES))
        def wrong_name(self, text: str) -> None:
            self.say(text)

        @rule(text=st.sampled_from(ONE_PART))
        def one_part(self, text: str) -> None:
            self.say(text)  # never a whole name: the name heard before still stands

        @rule(text=st.sampled_from(RIGHT_DOB_SAID))
        def right_dob(self, text: str) -> None:
            self.gave_dob = True
            self.say(text)

        @rule(text=st.sampled_from(WRONG_DOB_SAID))
        def wrong_dob(self, text: str) -> None:
            self.say(text)

        @rule(right=st.booleans(), wrong=st.sampled_from(WRONG_KEYS))
        def keyed_dob(self, right: bool, wrong: str) -> None:
            if not self.over:
                self.gave_dob = self.gave_dob or right
                self.reply(self.dialog.on_dtmf(RIGHT_KEYS if right else wrong))

        @rule(text=st.sampled_from(MOVES))
        def move(self, text: str) -> None:
            if text.startswith("No, I said"):
                self.gave_name = True
            elif text.startswith("No, March"):
                self.gave_dob = True
            self.say(text)

        @rule(answer=st.sampled_from(["Yes.", "No.", "No, I'm not."]))
        def yes_no(self, answer: str) -> None:
            self.say(answer)

        @invariant()
        def at_most_three_failed_checks(self) -> None:
            failures = failed_checks(self.db, self.dialog.call_sid)
            assert failures <= MAX_FAILURES_PER_CALL, f"{failures} failed checks on one call"

    run = settings(
        max_examples=25,
        stateful_step_count=30,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )(IdentityMachine)
    run.TestCase().runTest()


def verify(dialog: FlowDialog, name: str, dob: str) -> Reply:
    for text in ("When is my next appointment?", name, dob):
        reply = dialog.on_utterance(Utterance(text, 0.95, 1200))
    return reply


def fail_a_call(db, factory, caller: str | None, name: str, dob: str, times: int) -> None:  # type: ignore[no-untyped-def]
    dialog = place_call(db, factory, caller)
    dialog.on_utterance(Utterance("When is my next appointment?", 0.95, 1200))
    for attempt in range(times):
        dialog.on_utterance(Utterance(name, 0.95, 1200))
        reply = dialog.on_utterance(Utterance(dob, 0.95, 1200))
        if attempt < times - 1 and not isinstance(reply.action, Transfer):
            dialog.on_utterance(Utterance("No.", 0.95, 1200))  # not a new patient: try again


def test_failures_from_one_number_lock_it_across_calls(conversation_factory) -> None:  # type: ignore[no-untyped-def]
    db, factory = conversation_factory(Conversation(name="number lock", turns=[]))
    fail_a_call(db, factory, MARIAS_PHONE, "Maria Gonzalez", "January 1st, 1990", 3)
    fail_a_call(db, factory, MARIAS_PHONE, "Maria Gonzalez", "February 2nd, 1980", 2)
    assert MAX_FAILURES_PER_NUMBER == 5
    reply = verify(place_call(db, factory, MARIAS_PHONE), "Maria Gonzalez", "March 3rd, 1982")
    said = " ".join(reply.say).lower()
    assert isinstance(reply.action, Transfer), said
    assert not any(w in said for w in RECORD_WORDS), said
    # Guessing from Maria's number also counts against Maria's record (caller ID is how
    # the guesses pointed at her), but nobody else's: James, on his own phone, verifies.
    james = place_call(db, factory, "+15552019834")
    said = " ".join(verify(james, "James Whitaker", "July 14th, 1958").say).lower()
    assert "thank you, james" in said, said


def test_near_misses_from_many_numbers_lock_the_record(conversation_factory) -> None:  # type: ignore[no-untyped-def]
    """Someone who knows Maria's date of birth and first name guesses last names from
    ever new numbers: after five checks near her record, it is verified by staff only."""
    db, factory = conversation_factory(Conversation(name="record lock", turns=[]))
    for i in range(MAX_FAILURES_PER_RECORD):
        fail_a_call(db, factory, f"+1555000{i:04d}", "Maria Smith", "March 3rd, 1982", 1)
    reply = verify(place_call(db, factory, MARIAS_PHONE), "Maria Gonzalez", "March 3rd, 1982")
    said = " ".join(reply.say).lower()
    assert isinstance(reply.action, Transfer), said
    assert not any(w in said for w in RECORD_WORDS), said


def test_a_first_name_alone_is_asked_for_again_and_never_verifies(conversation_factory) -> None:  # type: ignore[no-untyped-def]
    """The review's case: caller ID not on file, "Maria", keyed 03031982."""
    _db, dialog = start_call(conversation_factory, UNKNOWN_PHONE)
    dialog.on_utterance(Utterance("When is my next appointment?", 0.95, 1200))
    reply = dialog.on_utterance(Utterance("Maria", 0.95, 1200))
    assert "last name" in " ".join(reply.say).lower()
    reply = dialog.on_dtmf(RIGHT_KEYS)
    said = " ".join(reply.say).lower()
    assert not dialog.state.verified, said
    assert not any(w in said for w in RECORD_WORDS), said


def test_six_wrong_dates_with_start_overs_never_verify(conversation_factory) -> None:  # type: ignore[no-untyped-def]
    """The review's case: wrong keypad dates between "start over"s, then the right one."""
    db, dialog = start_call(conversation_factory, UNKNOWN_PHONE)
    dialog.on_utterance(Utterance("I need a refill.", 0.95, 1200))
    for wrong in ["01011990", "02021980", "04041984", "05051985", "06061986", "07071987"]:
        if dialog.state.handed_off:
            break
        dialog.on_utterance(Utterance("Maria Gonzalez", 0.95, 1200))
        dialog.on_dtmf(wrong)
        dialog.on_utterance(Utterance("Start over.", 0.95, 1200))
    if not dialog.state.handed_off:
        dialog.on_utterance(Utterance("Maria Gonzalez", 0.95, 1200))
        dialog.on_dtmf(RIGHT_KEYS)
    assert not dialog.state.verified
    assert failed_checks(db, dialog.call_sid) <= MAX_FAILURES_PER_CALL

"""What the dialog tells ASR to listen for next: the caller's own medications, the names on
file for their caller ID, the clinic's carriers; and a faster end of turn for yes/no."""

from __future__ import annotations

from tests.conversations.helpers import place_call
from voiceagent.dialog.base import DtmfMode, Utterance
from voiceagent.dialog.conversations import Conversation


def start(conversation_factory, caller: str | None):  # type: ignore[no-untyped-def]
    db, factory = conversation_factory(Conversation(name="expectations", turns=[]))
    return place_call(db, factory, caller)


def say(dialog, text: str):  # type: ignore[no-untyped-def]
    return dialog.on_utterance(Utterance(text, 0.95, 1200))


def test_names_on_file_for_the_caller_id_bias_the_name_question(conversation_factory) -> None:  # type: ignore[no-untyped-def]
    dialog = start(conversation_factory, "+15551234567")  # Maria Gonzalez's number
    asked_name = say(dialog, "I need a refill.")
    assert "Gonzalez" in asked_name.expect.hotwords
    stranger = start(conversation_factory, "+15550009999")
    assert "Gonzalez" not in say(stranger, "I need a refill.").expect.hotwords


def test_each_question_says_what_to_listen_for(conversation_factory) -> None:  # type: ignore[no-untyped-def]
    dialog = start(conversation_factory, None)
    say(dialog, "I need a refill.")
    birth = say(dialog, "Maria Gonzalez")
    assert birth.expect.dtmf is DtmfMode.DIGITS and birth.expect.max_digits == 8
    assert birth.expect.end_of_turn_ms and birth.expect.end_of_turn_ms > 600  # said in pieces
    medication = say(dialog, "March 3rd, 1982")
    assert {"lisinopril", "oxycodone"} <= {w.lower() for w in medication.expect.hotwords}
    pharmacy = say(dialog, "lisinopril")
    assert pharmacy.expect.end_of_turn_ms and pharmacy.expect.end_of_turn_ms < 600  # yes/no


def test_open_requests_wait_longer_before_ending_early_than_closed_answers(
    conversation_factory,
) -> None:  # type: ignore[no-untyped-def]
    dialog = start(conversation_factory, None)
    greeting = dialog.greet()
    assert greeting.expect.complete_answer_wait_ms == 350  # "How can I help you today?"
    asked = say(dialog, "I need a refill.")
    assert asked.expect.complete_answer_wait_ms is None  # a name: the short default

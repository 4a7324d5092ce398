"""Ending a turn early: which words already answer what the agent is waiting for."""

from __future__ import annotations

import copy

import pytest

from tests.conversations.helpers import place_call
from voiceagent.dialog.base import Utterance
from voiceagent.dialog.conversations import Conversation


@pytest.fixture
def dialog(conversation_factory):  # type: ignore[no-untyped-def]
    db, factory = conversation_factory(Conversation(name="early end of turn", turns=[]))
    return place_call(db, factory, None)


def say(dialog, text: str) -> None:  # type: ignore[no-untyped-def]
    dialog.on_utterance(Utterance(text, 0.95, 1200))


def test_a_clear_request_is_complete_and_a_trailing_word_is_not(dialog) -> None:  # type: ignore[no-untyped-def]
    assert dialog.is_complete("I'd like to book an appointment.")
    assert not dialog.is_complete("I'd like to book an appointment for my")
    # A comma is Whisper hearing a pause mid-sentence: the caller is not done.
    assert not dialog.is_complete("Hi, I'd like to make an appointment,")
    assert not dialog.is_complete("I'd like to make an appointment")  # no full stop yet
    assert not dialog.is_complete("um")
    assert not dialog.is_complete("")


def test_answers_are_complete_only_when_whole(dialog) -> None:  # type: ignore[no-untyped-def]
    say(dialog, "I need a refill.")  # -> asks for the name
    assert not dialog.is_complete("Maria")
    assert dialog.is_complete("Maria Gonzalez")
    say(dialog, "Maria Gonzalez")  # -> asks for the date of birth
    assert not dialog.is_complete("March")
    assert dialog.is_complete("March 3rd, 1982")
    say(dialog, "March 3rd, 1982")  # -> which medication
    assert dialog.is_complete("lisinopril")
    say(dialog, "lisinopril")  # -> confirm the pharmacy on file
    assert dialog.is_complete("yes")
    assert not dialog.is_complete("and")


def test_checking_changes_nothing(dialog) -> None:  # type: ignore[no-untyped-def]
    say(dialog, "I want to book a sick visit.")
    before = copy.deepcopy(dialog.state.values), dialog.state.mode, dialog.state.question
    for text in ("Maria Gonzalez", "cancel", "start over", "no"):
        dialog.is_complete(text)
    assert (dialog.state.values, dialog.state.mode, dialog.state.question) == before

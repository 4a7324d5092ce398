from __future__ import annotations

import pytest

from voiceagent.understanding.entities import YesNo, parse_yes_no


@pytest.mark.parametrize(
    "text",
    ["yes", "Yeah.", "Yep!", "sure", "That's right.", "Correct.", "Uh-huh.", "Mm-hmm.",
     "yes please", "Okay, sounds good.", "Um, yeah, go ahead.", "absolutely", "No problem."],
)  # fmt: skip
def test_yes(text: str) -> None:
    assert parse_yes_no(text) == YesNo(True)


@pytest.mark.parametrize(
    "text",
    ["no", "Nope.", "No thanks.", "No, thank you.", "That's not right.", "negative",
     "nah", "That's wrong.", "Incorrect.", "Uh, no.", "no no no", "I don't think so."],
)  # fmt: skip
def test_no(text: str) -> None:
    assert parse_yes_no(text) == YesNo(False)


@pytest.mark.parametrize(
    ("text", "correction"),
    [
        ("No, I said Tuesday.", "tuesday"),
        ("no it's the 14th", "the 14th"),
        ("No, actually make it 3 pm", "3 pm"),
        ("Nope, I meant Dr. Lee.", "doctor lee"),
        ("No, that's wrong, it's Thursday", "thursday"),
    ],
)
def test_no_with_a_new_value_is_a_correction(text: str, correction: str) -> None:
    assert parse_yes_no(text) == YesNo(False, correction)


@pytest.mark.parametrize(
    "text",
    ["", "I don't know", "maybe", "what's the address?", "yes no", "no, yes",
     "hold on a second", "I want to book an appointment"],
)  # fmt: skip
def test_neither(text: str) -> None:
    assert parse_yes_no(text) is None

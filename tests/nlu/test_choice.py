from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from voiceagent.understanding.entities import parse_choice

TZ = ZoneInfo("America/New_York")
SLOTS = [
    datetime(2026, 11, 24, 9, 0, tzinfo=TZ),  # Tuesday 9:00
    datetime(2026, 11, 24, 14, 30, tzinfo=TZ),  # Tuesday 2:30 pm
    datetime(2026, 11, 26, 10, 0, tzinfo=TZ),  # Thursday 10:00
]
LABELS = [
    "Tuesday November 24 at 9:00 AM with Dr. Patel",
    "Tuesday November 24 at 2:30 PM with Dr. Patel",
    "Thursday November 26 at 10:00 AM with Dr. Lee",
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("the second one", 1),
        ("The first.", 0),
        ("option two please", 1),
        ("number 3", 2),
        ("the last one", 2),
        ("the middle one", 1),
        ("the 10 o'clock one", 2),
        ("the Thursday one", 2),
        ("two thirty works", 1),
        ("the 9 am", 0),
        ("the 26th", 2),
        ("Tuesday afternoon", 1),
    ],
)
def test_choice_among_slots(text: str, expected: int) -> None:
    assert parse_choice(text, SLOTS) == expected
    assert parse_choice(text, LABELS) == expected


def test_choice_by_label_words() -> None:
    assert parse_choice("the one with Dr. Lee", LABELS) == 2
    pharmacies = ["CVS Pharmacy on Main Street", "Walgreens on Oak Avenue", "Rite Aid Elm Street"]
    assert parse_choice("the Walgreens", pharmacies) == 1
    assert parse_choice("right aid", pharmacies) == 2


@pytest.mark.parametrize(
    "text",
    ["none of those work", "neither", "the Tuesday one", "the fifth one", "what?", "at 4 pm"],
)
def test_no_single_choice(text: str) -> None:
    # "the Tuesday one" fits two slots: ask again rather than guess.
    assert parse_choice(text, SLOTS) is None


def test_no_options() -> None:
    assert parse_choice("the first one", []) is None

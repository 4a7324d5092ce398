from __future__ import annotations

import pytest

from voiceagent.understanding.entities import parse_digits, parse_phone


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("five five five, one two three, four five six seven", "5551234567"),
        ("oh one two", "012"),
        ("double five", "55"),
        ("triple two", "222"),
        ("three double oh seven", "3007"),
        ("8 8 one two 3", "88123"),
        ("eight eight one twenty-three", "88123"),
        ("my group number is 4 4 zero nine", "4409"),
    ],
)
def test_spoken_digits(text: str, expected: str) -> None:
    assert parse_digits(text) == expected


@pytest.mark.parametrize("text", ["", "I'm not sure", "oh, hello there"])
def test_no_digits(text: str) -> None:
    assert parse_digits(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("555-123-4567", "+15551234567"),
        ("(555) 987-6543", "+15559876543"),
        ("my number is 555 765 0000", "+15557650000"),
        ("five five five, one two three, four five six seven", "+15551234567"),
        ("one five five five two two two three three three three", "+15552223333"),
        ("area code six one seven, five five five, oh one nine nine", "+16175550199"),
        ("plus one 212 555 0147", "+12125550147"),
        ("617.555.0123", "+16175550123"),
        ("+44 20 7946 0958", "+442079460958"),
    ],
)
def test_phone_numbers_to_e164(text: str, expected: str) -> None:
    assert parse_phone(text) == expected


@pytest.mark.parametrize("text", ["five five five one two", "I don't have a phone", "", "911"])
def test_not_a_phone_number(text: str) -> None:
    assert parse_phone(text) is None

from __future__ import annotations

from datetime import date

import pytest

from voiceagent.understanding.entities import parse_date_of_birth

TODAY = date(2026, 11, 18)
MARCH_3_1982 = date(1982, 3, 3)


@pytest.mark.parametrize(
    "text",
    [
        "March third nineteen eighty-two",
        "March 3rd, 1982",
        "march 3 1982",
        "3/3/82",
        "03/03/1982",
        "3-3-1982",
        "1982-03-03",
        "oh three oh three eighty two",
        "Oh three, oh three, eighty-two.",
        "zero three zero three one nine eight two",
        "the third of March 1982",
        "The 3rd of March, '82.",
        "03031982",
        "030382",
        "three three eighty two",
        "It's March the third, 1982.",
        "my date of birth is 3/3/1982",
    ],
)
def test_whisper_forms_of_one_birthday(text: str) -> None:
    assert parse_date_of_birth(text, TODAY) == MARCH_3_1982


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("July 14, 1961", date(1961, 7, 14)),
        ("September twenty-first, two thousand and five", date(2005, 9, 21)),
        ("twelve oh one nineteen ninety", date(1990, 12, 1)),
        ("Eleven twenty-two seventy-eight", date(1978, 11, 22)),
        ("1/5/25", date(2025, 1, 5)),  # a baby: 2025 is not in the future
        ("6/7/45", date(1945, 6, 7)),  # 2045 would be: pivot to 1945
        ("12/25/26", date(1926, 12, 25)),  # Christmas 2026 is still ahead of TODAY
    ],
)
def test_other_dates_and_two_digit_years(text: str, expected: date) -> None:
    assert parse_date_of_birth(text, TODAY) == expected


@pytest.mark.parametrize(
    "text",
    ["February 30th, 1990", "13/13/1980", "January 5th, 2030", "02301990", "I don't remember",
     "", "April 31 1970", "March 3rd 1850"],
)  # fmt: skip
def test_impossible_or_missing(text: str) -> None:
    assert parse_date_of_birth(text, TODAY) is None

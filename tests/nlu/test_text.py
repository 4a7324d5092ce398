from __future__ import annotations

import pytest

from voiceagent.understanding.numbers import find_numbers
from voiceagent.understanding.text import normalize, tokenize


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("March third nineteen eighty-two", "march 3rd 19 82"),
        ("oh three oh three eighty two", "0 3 0 3 82"),
        ("double five triple two", "55 222"),
        ("two thousand and five", "2005"),
        ("nineteen hundred eighty two", "1982"),
        ("At 2.30 P.M.", "at 2:30 pm"),
        ("3-3-82", "3/3/82"),
        ("Dr. Lee", "doctor lee"),
        ("twenty-first of June", "21st of june"),
        ("I want the second one.", "i want the 2nd one"),
        ("just a second", "just a second"),
        ("the one o'clock one", "the 1 oclock one"),
        ("Oh, I think so", "oh i think so"),
        ("I’d like 10am", "i'd like 10 am"),
    ],
)
def test_normalize(text: str, expected: str) -> None:
    assert normalize(text) == expected


def test_find_numbers_keeps_spoken_grouping() -> None:
    spans = find_numbers(tokenize("nineteen eighty two and one two three"))
    assert [s.digits for s in spans] == ["19", "82", "1", "2", "3"]
    assert [s.digits for s in find_numbers(tokenize("the thirty first"))] == ["31"]
    assert find_numbers(tokenize("the thirty first"))[0].ordinal
    assert find_numbers(tokenize("no numbers here at all")) == []

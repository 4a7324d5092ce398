from __future__ import annotations

import pytest

from voiceagent.understanding.entities import parse_member_id


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("W as in William, one two three four five six seven eight nine", "W123456789"),
        ("W123456789", "W123456789"),
        ("double-u one two three four five six seven eight nine", "W123456789"),
        ("Double you, 1 2 3 4 5 6 7 8 9", "W123456789"),
        ("X as in x-ray, Y as in yellow, Z, 4 4 5 5 6 6", "XYZ445566"),
        ("alpha bravo charlie one two three four", "ABC1234"),
        ("bee see dee five five five five", "BCD5555"),
        ("it's a W 1 2 3 4 5", "W12345"),
        ("H for Henry, 2 0 2 4", "H2024"),
        ("M as in Mary, oh oh seven, double five", "M00755"),
        ("my member ID is J K L 0 0 4 4", "JKL0044"),
        ("W as in William 123 4567 and my group is 88123", "W1234567"),
    ],
)
def test_spelled_member_ids(text: str, expected: str) -> None:
    assert parse_member_id(text) == expected


@pytest.mark.parametrize(
    "text", ["I don't have my card with me", "", "A B C", "one two", "why are you asking"]
)
def test_no_member_id(text: str) -> None:
    assert parse_member_id(text) is None

"""Spoken digit strings: "five five five, one two three", "oh" = 0, "double five"."""

from __future__ import annotations

from voiceagent.understanding.numbers import find_numbers
from voiceagent.understanding.text import tokenize


def parse_digits(text: str) -> str | None:
    """All digits said, in order, as one string ("double five, triple two" -> "55222")."""
    spans = find_numbers(tokenize(text))
    # Ordinals ("the 3rd") are not digit strings.
    digits = "".join(s.digits for s in spans if not s.ordinal)
    return digits or None

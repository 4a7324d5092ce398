"""Spoken numbers -> digits, the way phone callers and whisper write them.

Whisper mixes forms ("March third nineteen eighty-two", "oh three oh three 82",
"double five"), so every entity parser works on :class:`NumberSpan` values found here
instead of re-implementing number words. Grouping follows speech, not arithmetic:
"nineteen eighty two" is two spans (19, 82) whose digits concatenate to "1982", while
"eighty two" is one span (82) and "one two three" is three spans.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

UNITS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
    "six": 6, "seven": 7, "eight": 8, "nine": 9,
}  # fmt: skip
TEENS = {
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fourty": 40, "fifty": 50,
    "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
}  # fmt: skip
ZEROS = {"zero", "oh", "o", "nought", "null"}
ORDINAL_UNITS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5,
    "sixth": 6, "seventh": 7, "eighth": 8, "ninth": 9,
}  # fmt: skip
ORDINAL_TEENS = {
    "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13, "fourteenth": 14,
    "fifteenth": 15, "sixteenth": 16, "seventeenth": 17, "eighteenth": 18, "nineteenth": 19,
}  # fmt: skip
ORDINAL_TENS = {"twentieth": 20, "thirtieth": 30}
REPEATERS = {"double": 2, "triple": 3}
# "oh" and "o" are also interjections; they only count as zero next to another number.
_WEAK_ZEROS = {"oh", "o"}
# "second" is also a unit of time ("just a second"); these words before it mean that.
_NOT_ORDINAL_BEFORE = {"a", "one", "1", "per", "just", "few", "each"}

_DIGITS_RE = re.compile(r"^(\d+)(st|nd|rd|th)?$")
# "the second one", "that one", "the Tuesday one": "one" is a pronoun after these words,
# unless a time word follows ("the one o'clock").
_PRONOUN_ONE_AFTER = {
    "the", "that", "this", "which", "any", "every", "each", "no", "some", "other", "another",
    "last", "next", "oclock", "am", "pm", "morning", "afternoon", "evening", "earlier", "later",
    "early", "late", "new", "old", "right", "wrong", "good", "same", "little", "middle",
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "noon",
    *ORDINAL_UNITS, *ORDINAL_TEENS,
}  # fmt: skip
_TIME_AFTER_ONE = {"oclock", "am", "pm", "thirty", "fifteen", "forty", "fortyfive", "oh"}


@dataclass(frozen=True, slots=True)
class NumberSpan:
    """One spoken or written number: tokens[start:end] -> ``digits``."""

    start: int
    end: int
    digits: str
    ordinal: bool = False

    @property
    def value(self) -> int:
        return int(self.digits)


def _is_numberish(tok: str) -> bool:
    return (
        tok in UNITS
        or tok in TEENS
        or tok in TENS
        or tok in ZEROS
        or tok in ORDINAL_UNITS
        or tok in ORDINAL_TEENS
        or bool(_DIGITS_RE.match(tok))
    )


def _small(tokens: list[str], i: int) -> tuple[int, int, bool] | None:
    """Parse 1-99 (cardinal or ordinal) at i: returns (value, next index, ordinal)."""
    tok = tokens[i]
    if tok in TENS:
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
        if nxt in UNITS:
            return TENS[tok] + UNITS[nxt], i + 2, False
        if nxt in ORDINAL_UNITS:
            return TENS[tok] + ORDINAL_UNITS[nxt], i + 2, True
        return TENS[tok], i + 1, False
    if tok in TEENS:
        return TEENS[tok], i + 1, False
    if tok in UNITS:
        return UNITS[tok], i + 1, False
    if tok in ORDINAL_TEENS:
        return ORDINAL_TEENS[tok], i + 1, True
    if tok in ORDINAL_TENS:
        return ORDINAL_TENS[tok], i + 1, True
    if tok in ORDINAL_UNITS:
        if tok == "second" and i > 0 and tokens[i - 1] in _NOT_ORDINAL_BEFORE:
            return None
        return ORDINAL_UNITS[tok], i + 1, True
    return None


def _with_scale(tokens: list[str], i: int) -> tuple[int, int, bool] | None:
    """Parse a cardinal with optional 'hundred' / 'thousand' (e.g. 'two thousand and five')."""
    first = _small(tokens, i)
    if first is None:
        return None
    value, j, ordinal = first
    if ordinal:
        return first
    total = 0
    for scale_word, scale in (("hundred", 100), ("thousand", 1000)):
        if j < len(tokens) and tokens[j] == scale_word:
            total = (total + value) * scale
            value = 0
            j += 1
            k = j + 1 if j < len(tokens) and tokens[j] == "and" else j
            if k < len(tokens) and (tokens[k] in UNITS or tokens[k] in TEENS or tokens[k] in TENS):
                rest = _small(tokens, k)
                if rest is not None:
                    # "two thousand five hundred" keeps going on the next loop turn.
                    value, j, ordinal = rest
    return total + value, j, ordinal


def find_numbers(tokens: list[str]) -> list[NumberSpan]:
    """Every number in a token list, in order, grouped the way it was spoken."""
    spans: list[NumberSpan] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        m = _DIGITS_RE.match(tok)
        if m:
            spans.append(NumberSpan(i, i + 1, m.group(1), ordinal=m.group(2) is not None))
            i += 1
            continue
        if tok in REPEATERS and i + 1 < len(tokens):
            nxt = tokens[i + 1]
            digit = _single_digit(nxt)
            if digit is not None:
                spans.append(NumberSpan(i, i + 2, digit * REPEATERS[tok]))
                i += 2
                continue
        if tok in ZEROS:
            weak = tok in _WEAK_ZEROS
            near = (i > 0 and _is_numberish(tokens[i - 1])) or (
                i + 1 < len(tokens) and _is_numberish(tokens[i + 1])
            )
            if not weak or near:
                spans.append(NumberSpan(i, i + 1, "0"))
            i += 1
            continue
        if tok == "one" and _is_pronoun_one(tokens, i):
            i += 1
            continue
        parsed = _with_scale(tokens, i)
        if parsed is not None:
            value, j, ordinal = parsed
            spans.append(NumberSpan(i, j, str(value), ordinal=ordinal))
            i = j
            continue
        i += 1
    return spans


def _is_pronoun_one(tokens: list[str], i: int) -> bool:
    nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
    if nxt in _TIME_AFTER_ONE:
        return False
    if nxt == "of":
        return True
    prev = tokens[i - 1] if i > 0 else ""
    return prev in _PRONOUN_ONE_AFTER or bool(re.match(r"^\d+(st|nd|rd|th)$", prev))


def _single_digit(tok: str) -> str | None:
    if tok in UNITS:
        return str(UNITS[tok])
    if tok in ZEROS:
        return "0"
    if len(tok) == 1 and tok.isdigit():
        return tok
    return None


def ordinal_suffix(n: int) -> str:
    if 10 <= n % 100 <= 20:
        return "th"
    return {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")

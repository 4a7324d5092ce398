"""Whisper text -> one canonical form every parser and the classifier share.

Whisper varies case, punctuation, "a.m."/"AM", "Dr."/"doctor", and writes numbers as words
or digits at random; normalising once here keeps the parsers small.
"""

from __future__ import annotations

import re

from voiceagent.understanding.numbers import find_numbers, ordinal_suffix

# Compound numeric tokens survive tokenisation whole, so "2:30" and "3/3/82" keep meaning.
_TOKEN_RE = re.compile(
    r"\d{1,2}:\d{2}"  # clock time
    r"|\d{1,4}/\d{1,2}(?:/\d{2,4})?"  # 12/3, 3/3/82, 1982/03/03
    r"|\d+(?:st|nd|rd|th)\b"  # 3rd
    r"|\d+"
    r"|[a-z]+(?:'[a-z]+)*"
)
_REWRITES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"[’‘`´]"), "'"),
    (re.compile(r"\ba\.\s?m\.?"), "am"),
    (re.compile(r"\bp\.\s?m\.?"), "pm"),
    (re.compile(r"(\d)(am|pm)\b"), r"\1 \2"),
    (re.compile(r"\b(\d{1,2})\.(\d{2})(?=\s*(?:am|pm)\b)"), r"\1:\2"),
    (re.compile(r"\bo'?\s?clock\b"), "oclock"),
    (re.compile(r"\bdr\b\.?"), "doctor"),
    (re.compile(r"\bmr\b\.?"), "mister"),
    (re.compile(r"\bmrs\b\.?"), "missus"),
    (re.compile(r"\bms\b\.?"), "miss"),
    (re.compile(r"\bst\.\s"), "st "),
    (re.compile(r"&"), " and "),
    # 3-3-82 and 1982-03-03 are dates, not phone fragments.
    (re.compile(r"\b(\d{1,2})[-.](\d{1,2})[-.](\d{2}|\d{4})\b"), r"\1/\2/\3"),
    (re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b"), r"\1/\2/\3"),
    (re.compile(r"(\d),(\d{3})\b"), r"\1\2"),
)


def tokenize(text: str) -> list[str]:
    """Lower-case word tokens; hyphens and punctuation split words ("eighty-two")."""
    lowered = text.lower()
    for pattern, repl in _REWRITES:
        lowered = pattern.sub(repl, lowered)
    return _TOKEN_RE.findall(lowered)


def numberize(tokens: list[str]) -> list[str]:
    """Replace spoken numbers by digits ("twenty third" -> "23rd", "oh five" -> "0 5")."""
    out: list[str] = []
    spans = {s.start: s for s in find_numbers(tokens)}
    i = 0
    while i < len(tokens):
        span = spans.get(i)
        if span is None:
            out.append(tokens[i])
            i += 1
            continue
        digits = span.digits
        if span.ordinal:
            digits = f"{int(digits)}{ordinal_suffix(int(digits))}"
        out.append(digits)
        i = span.end
    return out


def normalize(text: str) -> str:
    """Lower-case, punctuation-free text with numbers as digits."""
    return " ".join(numberize(tokenize(text)))

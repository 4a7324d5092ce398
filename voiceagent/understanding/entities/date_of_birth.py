"""Dates of birth in every form callers and whisper produce.

"March third nineteen eighty-two", "March 3rd, 1982", "the third of March 1982", "3/3/82",
"03/03/1982", "oh three oh three eighty two", "zero three zero three one nine eight two"
and keypad "03031982" (MMDDYYYY) all give 1982-03-03. Numeric forms are US order
(month, day, year). Two-digit years pivot to the past, since a birth date is never in
the future; impossible dates (February 30th, month 13) give None rather than a guess.
"""

from __future__ import annotations

import re
from datetime import date

from voiceagent.understanding.entities.calendar_words import MONTHS, safe_date
from voiceagent.understanding.text import normalize

MAX_AGE_YEARS = 125
_NUM = re.compile(r"^(\d+)(?:st|nd|rd|th)?$")
_SLASHED = re.compile(r"^(\d{1,4})/(\d{1,2})/(\d{2,4})$")


def _year(text: str, month: int, day: int, today: date) -> int | None:
    if len(text) == 4:
        return int(text)
    if len(text) != 2:
        return None
    yy = int(text)
    recent = safe_date(2000 + yy, month, day)
    # The most recent century that does not put the birth in the future.
    if recent is not None and recent <= today and 2000 + yy <= today.year:
        return 2000 + yy
    return 1900 + yy


def _make(month: int, day: int, year_text: str, today: date) -> date | None:
    year = _year(year_text, month, day, today)
    if year is None:
        return None
    found = safe_date(year, month, day)
    if found is None or found > today or today.year - found.year > MAX_AGE_YEARS:
        return None
    return found


def _from_fields(m: str, d: str, y: str, today: date) -> date | None:
    if not (1 <= len(m) <= 2 and 1 <= len(d) <= 2 and len(y) in (2, 4)):
        return None
    return _make(int(m), int(d), y, today)


def _numeric(parts: list[str], today: date) -> date | None:
    """Digits only: trust the caller's grouping, then fixed widths, then any grouping."""
    if len(parts) == 3:
        found = _from_fields(*parts, today)
        if found is not None:
            return found
    joined = "".join(parts)
    if len(joined) == 8:
        found = _from_fields(joined[:2], joined[2:4], joined[4:], today)
        if found is not None:
            return found
    if len(joined) == 6:
        found = _from_fields(joined[:2], joined[2:4], joined[4:], today)
        if found is not None:
            return found
    candidates: dict[date, bool] = {}
    for i in range(1, len(parts)):
        for j in range(i + 1, len(parts)):
            y = "".join(parts[j:])
            found = _from_fields("".join(parts[:i]), "".join(parts[i:j]), y, today)
            if found is not None:
                candidates[found] = candidates.get(found, False) or len(y) == 4
    if len(candidates) > 1:
        # Prefer readings with a four-digit year; still ambiguous means ask again.
        candidates = {d: four for d, four in candidates.items() if four}
    return next(iter(candidates)) if len(candidates) == 1 else None


def _numbers(tokens: list[str]) -> list[str]:
    """Digits of the number tokens ("3rd" -> "3"), in order."""
    return [m.group(1) for m in map(_NUM.match, tokens) if m]


def _with_month_name(tokens: list[str], k: int, today: date) -> date | None:
    month = MONTHS[tokens[k]]
    before = _numbers(tokens[:k])
    after = _numbers(tokens[k + 1 :])
    if before:
        day_text = before[-1]
        year_parts = after
    elif after:
        day_text, year_parts = after[0], after[1:]
    else:
        return None
    return _from_fields(str(month), day_text, "".join(year_parts), today)


def parse_date_of_birth(text: str, today: date) -> date | None:
    """The date of birth said or keyed in ``text``; None when absent or impossible (in the
    future of ``today``, the clinic's date)."""
    tokens = normalize(text).split()
    for tok in tokens:
        m = _SLASHED.match(tok)
        if m:
            a, b, c = m.groups()
            if len(a) == 4:
                return _make(int(b), int(c), a, today)
            return _from_fields(a, b, c, today)
    for k, tok in enumerate(tokens):
        if tok in MONTHS:
            return _with_month_name(tokens, k, today)
    parts = _numbers(tokens)
    if not parts:
        return None
    return _numeric(parts, today)

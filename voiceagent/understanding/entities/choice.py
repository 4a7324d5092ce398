"""Which of the offered options the caller picked: "the second one", "option two",
"the 10 o'clock one", "the Tuesday one", "the one with Dr. Lee".

Options are what the agent read out: datetimes (offered slots) or labels. Positions win
over content, content (time, weekday, day of month, part of day) over spelling; an answer
that fits several options equally, or "none of those", gives None.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time

from voiceagent.understanding.entities import clock
from voiceagent.understanding.entities.calendar_words import MONTH_RE, MONTHS, WEEKDAYS
from voiceagent.understanding.entities.resolve import resolve
from voiceagent.understanding.text import normalize

Option = str | datetime

_NONE = re.compile(
    r"\b(?:none|neither|nothing|something else|different (?:time|day|one)s?|other (?:times|days)"
    r"|doesn't work|don't work|do not work|won't work|can't do (?:any|either))\b"
)
_POSITION_WORDS = {
    "1st": 0, "2nd": 1, "3rd": 2, "4th": 3, "5th": 4, "former": 0, "latter": -1, "last": -1,
    "final": -1,
}  # fmt: skip
_NUMBERED = re.compile(r"\b(?:option|number|choice|slot|no|#)\s*(?P<n>\d)\b")
_POSITION = re.compile(r"\b(?P<w>1st|2nd|3rd|4th|5th|former|latter|last|final|middle)\b")
_LABEL_TIME = re.compile(
    r"\b(?P<h>\d{1,2})(?::(?P<m>\d{2}))?\s*(?P<ampm>am|pm)\b"
    r"|\bat (?P<h2>\d{1,2})(?::(?P<m2>\d{2}))?\b"
)
_LABEL_DAY = re.compile(rf"\b(?P<mon>{MONTH_RE}) (?P<d>\d{{1,2}})(?:st|nd|rd|th)?\b")
_DAY_OF_MONTH = re.compile(r"\b(?:the )?(?P<d>\d{1,2})(?:st|nd|rd|th)\b")


@dataclass(frozen=True)
class _Facts:
    weekday: int | None
    hour: int | None
    minute: int | None
    day: int | None


def _facts(option: Option) -> _Facts:
    if isinstance(option, datetime):
        return _Facts(option.weekday(), option.hour, option.minute, option.day)
    text = clock.prepare(normalize(option))
    weekday = next((WEEKDAYS[w] for w in text.split() if w in WEEKDAYS), None)
    hour = minute = None
    m = _LABEL_TIME.search(text)
    if m:
        h = int(m.group("h") or m.group("h2"))
        mins = int(m.group("m") or m.group("m2") or 0)
        t = clock.to_time(h, mins, m.group("ampm"), None)
        if t is not None:
            hour, minute = t.hour, t.minute
    d = _LABEL_DAY.search(text)
    day = int(d.group("d")) if d and d.group("mon") in MONTHS else None
    return _Facts(weekday, hour, minute, day)


def _by_position(text: str, count: int) -> int | None:
    m = _NUMBERED.search(text)
    if m and 1 <= int(m.group("n")) <= count:
        return int(m.group("n")) - 1
    m = _POSITION.search(text)
    if not m:
        return None
    word = m.group("w")
    if word == "middle":
        return count // 2 if count % 2 == 1 else None
    index = _POSITION_WORDS[word]
    index = index if index >= 0 else count + index
    return index if 0 <= index < count else None


def _by_content(text: str, facts: list[_Facts]) -> int | None:
    weekdays = {WEEKDAYS[w] for w in text.split() if w in WEEKDAYS}
    times = [t for t in clock.find_times(text) if t.explicit or _said_as_time(text, t)]
    days = {int(m.group("d")) for m in _DAY_OF_MONTH.finditer(text)}
    part = next((p for pattern, p in clock.DAY_PARTS if pattern.search(text)), None)
    scores = []
    for f in facts:
        score = 0
        if weekdays:
            score += 2 if f.weekday in weekdays else -5
        if days:
            score += 2 if f.day in days else -5
        for t in times:
            if f.hour is None:
                continue
            same_minute = f.minute == t.minute
            if t.ampm is not None:
                score += 3 if (t.resolve(None), same_minute) == (_time(f), True) else -5
            else:
                score += 3 if f.hour % 12 == t.hour % 12 and same_minute else -5
        if part is not None and f.hour is not None:
            start = part.start.hour if part.start else 0
            end = part.end.hour if part.end else 24
            score += 1 if start <= f.hour < end else -5
        scores.append(score)
    best = max(scores, default=0)
    if best <= 0 or scores.count(best) > 1:
        return None
    return scores.index(best)


def _time(f: _Facts) -> time:
    return time(f.hour or 0, f.minute or 0)


def _said_as_time(text: str, t: clock.ClockMatch) -> bool:
    """A bare number is a time in "the 10 one", "at 9", "10 o'clock" (o'clock already explicit)."""
    before = text[: t.start].split()
    after = text[t.end :].split()
    return (bool(before) and before[-1] in ("at", "the", "for")) or (
        bool(after) and after[0] == "one"
    )


def _by_label(text: str, options: Sequence[Option]) -> int | None:
    labels = [o for o in options if isinstance(o, str)]
    if len(labels) != len(options):
        return None
    # Words every option shares ("with", "Dr.", "Monday") cannot tell them apart.
    shared = set.intersection(*(set(normalize(label).split()) for label in labels))
    distinct = [
        " ".join(w for w in normalize(label).split() if w not in shared) for label in labels
    ]
    match = resolve(text, [d or label for d, label in zip(distinct, labels, strict=True)])
    if match is None:
        return None
    keys = [d or label for d, label in zip(distinct, labels, strict=True)]
    return keys.index(match.value)


def parse_choice(text: str, options: Sequence[Option]) -> int | None:
    """Index (0-based) of the option the caller chose, or None."""
    if not options:
        return None
    norm = clock.prepare(normalize(text))
    if _NONE.search(norm):
        return None
    position = _by_position(norm, len(options))
    if position is not None:
        return position
    content = _by_content(norm, [_facts(o) for o in options])
    if content is not None:
        return content
    return _by_label(text, options)

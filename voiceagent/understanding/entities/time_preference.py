"""When the caller wants to come in: "next Tuesday afternoon", "any time after 3", "ASAP".

Everything is relative to ``now`` in the clinic's timezone. Ambiguity rules (the dialog
reads the concrete slot back, so a rule only has to be predictable):

- a bare weekday ("Tuesday", "on Tuesday") is the next one strictly after today, so
  "Tuesday" said on a Tuesday means next week's;
- "this Tuesday" is the coming Tuesday, today included;
- "next Tuesday" is the Tuesday of next calendar week (weeks start on Monday);
- "the 14th" is the next 14th on or after today; "December 3rd" and "12/3" the next such
  date on or after today;
- "next week" is next Monday to Sunday; "early" / "middle" / "late" next week are Mon-Wed,
  Tue-Thu and Thu-Sun; "in two weeks" is the week containing the day two weeks away;
- mornings end at noon, afternoons run 12-5, evenings start at 5; a bare hour 7-11 is
  morning and 12-6 afternoon unless the caller framed the day;
- several weekdays or a plural ("Tuesdays or Thursdays") are a recurring preference
  (``weekdays``) rather than a date; "not Friday" removes a day.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from voiceagent.understanding.entities import clock
from voiceagent.understanding.entities.calendar_words import (
    MONTH_RE,
    MONTHS,
    WEEKDAY_NAMES,
    WEEKDAY_RE,
    WEEKDAYS,
    add_months,
    month_days,
    month_range,
    next_day_of_month,
    next_month_day,
    safe_date,
    week_start,
)
from voiceagent.understanding.text import normalize


@dataclass(frozen=True)
class TimePreference:
    """A window of acceptable appointment times; unset fields mean "no constraint"."""

    earliest: date | None = None
    latest: date | None = None
    weekdays: frozenset[int] = frozenset()  # 0 = Monday
    time_from: time | None = None
    time_to: time | None = None
    at: time | None = None
    asap: bool = False

    def admits(self, when: datetime) -> bool:
        """Whether a slot starting at ``when`` (clinic local time) fits the preference."""
        day, clock_time = when.date(), when.time().replace(tzinfo=None)
        if self.earliest and day < self.earliest:
            return False
        if self.latest and day > self.latest:
            return False
        if self.weekdays and day.weekday() not in self.weekdays:
            return False
        if self.at is not None:
            return clock_time == self.at
        if self.time_from and clock_time < self.time_from:
            return False
        return not (self.time_to and clock_time >= self.time_to)

    def weekday_names(self) -> list[str]:
        return [WEEKDAY_NAMES[d] for d in sorted(self.weekdays)]


@dataclass
class _State:
    today: date
    earliest: date | None = None
    latest: date | None = None
    exact: bool = False  # an explicit calendar date was said; weekdays no longer move it
    weekdays: set[int] = field(default_factory=set)
    excluded: set[int] = field(default_factory=set)
    asap: bool = False
    found: bool = False

    def on(self, lo: date, hi: date, prefix: str | None = None) -> None:
        """Apply a said date range, qualified by "after", "before", "by" ..."""
        self.found = True
        if prefix in ("after", "sometime after", "not before", "later than"):
            lo, hi = hi + timedelta(days=1), date.max
        elif prefix == "before":
            lo, hi = date.min, lo - timedelta(days=1)
        elif prefix in ("by", "until", "till", "no later than", "not after"):
            lo, hi = date.min, hi
        elif prefix in ("from", "starting", "starting on", "starting from", "beginning"):
            hi = date.max
        if prefix in ("week of", "the week of"):
            lo, hi = week_start(lo), week_start(lo) + timedelta(days=6)
        self.earliest = lo if self.earliest is None else max(self.earliest, lo)
        self.latest = hi if self.latest is None else min(self.latest, hi)


_PREFIX = (
    r"(?:(?P<pre>sometime after|after|before|by|until|till|no later than|not after|not before"
    r"|later than|from|starting on|starting from|starting|beginning|the week of|week of)\s+)?"
)

Rule = Callable[[re.Match[str], _State], None]


def _consume(text: str, pattern: re.Pattern[str], rule: Rule, state: _State) -> str:
    """Apply ``rule`` to every match and blank the matched text out of later rules."""
    out = text
    for m in list(pattern.finditer(text)):
        rule(m, state)
        out = out[: m.start()] + " " * (m.end() - m.start()) + out[m.end() :]
    return out


def _ordinal_day(value: str) -> int:
    return int(re.sub(r"\D", "", value))


# --- rules, in the order they run ------------------------------------------------------

_ASAP = re.compile(
    r"\b(?:as soon as (?:possible|you can|you have)|asap|a s a p|1st (?:available|open|opening)"
    r"|earliest|soonest|sooner the better|next available|next opening|right away"
    r"|1st thing available|whatever is open|whatever you have|first available"
    r"|(?:whatever|what|anything) (?:you've|you have|you) (?:got|have) 1st|1st (?:thing|one|slot)"
    r" (?:you have|you've got|you got|open))\b"
)


def _asap(_m: re.Match[str], s: _State) -> None:
    s.asap = s.found = True


_MONTH_DAY = re.compile(
    rf"\b{_PREFIX}(?:{WEEKDAY_RE} )?(?:the )?(?P<mon>{MONTH_RE}) (?:the )?(?P<d>\d{{1,2}})"
    r"(?:st|nd|rd|th)?\b(?: (?P<y>\d{4})\b)?"
)
_DAY_OF_MONTH = re.compile(
    rf"\b{_PREFIX}(?:{WEEKDAY_RE} )?(?:the )?(?P<d>\d{{1,2}})(?:st|nd|rd|th)? of "
    rf"(?P<mon>{MONTH_RE})\b(?: (?P<y>\d{{4}})\b)?"
)
_NUMERIC = re.compile(rf"\b{_PREFIX}(?P<mo>\d{{1,2}})/(?P<d>\d{{1,2}})(?:/(?P<y>\d{{2,4}}))?\b")


def _explicit(m: re.Match[str], s: _State) -> None:
    groups = m.groupdict()
    month = MONTHS[groups["mon"]] if groups.get("mon") else int(groups["mo"])
    day = int(groups["d"])
    if groups.get("y"):
        year = int(groups["y"])
        found = safe_date(year + 2000 if year < 100 else year, month, day)
    else:
        found = next_month_day(s.today, month, day)
    if found is not None:
        s.on(found, found, groups.get("pre"))
        s.exact = groups.get("pre") is None


_RELATIVE_DAY = re.compile(
    rf"\b{_PREFIX}(?:(?P<dat>(?:the )?day after tomorrow)|(?P<tom>tomorrow)"
    r"|(?P<tod>today|this(?= (?:morning|afternoon|evening))|(?=tonight)))"
)


def _relative_day(m: re.Match[str], s: _State) -> None:
    offset = 2 if m.group("dat") else 1 if m.group("tom") else 0
    day = s.today + timedelta(days=offset)
    s.on(day, day, m.group("pre"))
    s.exact = m.group("pre") is None


_COUNT = r"(?P<n>\d+|a|an|a couple(?: of)?|couple(?: of)?|a few|few)"
_OFFSET = re.compile(
    rf"\b(?:in {_COUNT} (?P<unit>day|week|month)s?(?: time)?"
    rf"|{_COUNT.replace('?P<n>', '?P<n2>')} (?P<unit2>day|week|month)s? from (?P<base>now|today))\b"
)


def _count(word: str) -> int:
    if word.isdigit():
        return int(word)
    return 3 if "few" in word else 2 if "couple" in word else 1


def _offset(m: re.Match[str], s: _State) -> None:
    n = _count(m.group("n") or m.group("n2") or "1")
    unit = m.group("unit") or m.group("unit2")
    if unit == "day":
        day = s.today + timedelta(days=n)
        s.on(day, day)
        s.exact = True
    elif unit == "week" and m.group("base") == "today":
        day = s.today + timedelta(weeks=n)
        s.on(day, day)
        s.exact = True
    elif unit == "week":
        monday = week_start(s.today + timedelta(weeks=n))
        s.on(monday, monday + timedelta(days=6))
    else:
        target = add_months(s.today, n)
        s.on(target - timedelta(days=3), target + timedelta(days=3))


_WEEK = re.compile(
    rf"\b{_PREFIX}(?:(?P<part>early|the beginning of|beginning of|the start of|start of|mid|"
    r"the middle of|middle of|late|later|the end of|end of|toward the end of|towards the end of)"
    r" )?(?:(?P<which>this|next|the) )?(?P<what>week after next|weekend|week)\b(?! of)"
    r"(?: (?P<after>after next))?"
)
_NTH_WEEK = re.compile(
    rf"\b(?:the )?(?P<nth>1st|2nd|3rd|4th|last) week (?:of|in) (?:(?P<next>next|this|the) month"
    rf"|(?P<mon>{MONTH_RE}))\b"
)


def _nth_week(m: re.Match[str], s: _State) -> None:
    if m.group("mon"):
        first, _ = month_range(s.today, MONTHS[m.group("mon")])
        first = first.replace(day=1)
    else:
        first = s.today.replace(day=1)
        if m.group("next") == "next":
            first = add_months(first, 1)
    last_day = month_days(first.year, first.month)
    nth = m.group("nth")
    if nth == "last":
        lo = first.replace(day=last_day - 6)
    else:
        lo = first.replace(day=1 + 7 * (int(nth[0]) - 1))
    s.on(max(lo, s.today), min(lo + timedelta(days=6), first.replace(day=last_day)))


_WITHIN = re.compile(rf"\b(?:in |within |over )?the next {_COUNT} (?P<unit>day|week)s?\b")


def _week(m: re.Match[str], s: _State) -> None:
    which, what, part = m.group("which"), m.group("what"), m.group("part") or ""
    weeks_ahead = 1 if which == "next" else 0
    if what == "week after next" or m.group("after"):
        weeks_ahead = 2
    monday = week_start(s.today) + timedelta(weeks=weeks_ahead)
    if what == "weekend":
        lo, hi = monday + timedelta(days=5), monday + timedelta(days=6)
    elif part in ("early", "beginning of", "the beginning of", "start of", "the start of"):
        lo, hi = monday, monday + timedelta(days=2)
    elif part in ("mid", "middle of", "the middle of"):
        lo, hi = monday + timedelta(days=1), monday + timedelta(days=3)
    elif part == "later" and weeks_ahead == 0:
        lo, hi = s.today + timedelta(days=1), monday + timedelta(days=6)
    elif part:
        lo, hi = monday + timedelta(days=3), monday + timedelta(days=6)
    else:
        lo, hi = monday, monday + timedelta(days=6)
    s.on(max(lo, s.today), hi, m.group("pre"))


def _within(m: re.Match[str], s: _State) -> None:
    n = _count(m.group("n"))
    days = n * 7 if m.group("unit") == "week" else n
    s.on(s.today, s.today + timedelta(days=days))


_MONTH = re.compile(
    rf"\b{_PREFIX}(?:(?P<part>early|the beginning of|beginning of|the start of|start of|mid|"
    r"the middle of|middle of|late|later|the end of|end of|toward the end of|towards the end of)"
    rf"(?: in)? )?(?:(?P<which>this|next|the) month|(?P<cal>in |of |)(?P<mon>{MONTH_RE}))\b"
)


def _month(m: re.Match[str], s: _State) -> None:
    name, part = m.group("mon"), m.group("part") or ""
    if name == "may" and not (part or (m.group("cal") or "").strip() or m.group("pre")):
        return  # "may I come in" is not the month
    if name:
        lo, hi = month_range(s.today, MONTHS[name])
    else:
        first = s.today.replace(day=1)
        if m.group("which") == "next":
            first = add_months(first, 1)
        lo, hi = first, first.replace(day=month_days(first.year, first.month))
    first = lo.replace(day=1)
    if part in ("early", "beginning of", "the beginning of", "start of", "the start of"):
        lo, hi = first, first.replace(day=10)
    elif part in ("mid", "middle of", "the middle of"):
        lo, hi = first.replace(day=11), first.replace(day=20)
    elif part:
        lo = first.replace(day=21)
    s.on(max(lo, s.today), hi, m.group("pre"))


_WEEKDAY = re.compile(
    rf"\b{_PREFIX}(?P<neg>not (?:on )?|except (?:on )?|but not (?:on )?|other than |any day but "
    rf"|anything but )?(?:(?P<mod>this coming|this|next|coming|every|any|on) )?"
    rf"(?P<wd>{WEEKDAY_RE})(?P<plural>s)?\b"
)
_WEEKDAYS_PLURAL = re.compile(r"\bweek ?days?\b|\bduring the week\b")


@dataclass(frozen=True)
class _Weekday:
    day: int
    modifier: str | None
    recurring: bool
    prefix: str | None


def _weekdays(text: str, s: _State) -> tuple[str, list[_Weekday]]:
    said: list[_Weekday] = []

    def rule(m: re.Match[str], st: _State) -> None:
        day = WEEKDAYS[m.group("wd")]
        if m.group("neg"):
            st.excluded.add(day)
            st.found = True
            return
        mod = m.group("mod")
        recurring = bool(m.group("plural")) or mod in ("every", "any")
        said.append(_Weekday(day, mod, recurring, m.group("pre")))

    text = _consume(text, _WEEKDAY, rule, s)
    if _WEEKDAYS_PLURAL.search(text):
        s.weekdays |= {0, 1, 2, 3, 4}
        s.found = True
        text = _WEEKDAYS_PLURAL.sub(" ", text)
    return text, said


def _weekday_date(today: date, day: int, modifier: str | None) -> date:
    ahead = (day - today.weekday()) % 7
    if modifier == "this":
        return today + timedelta(days=ahead)
    if modifier == "next":
        return week_start(today) + timedelta(days=7 + day)
    return today + timedelta(days=ahead or 7)


def _apply_weekdays(said: list[_Weekday], s: _State) -> None:
    if not said:
        return
    s.found = True
    if len(said) == 1 and not said[0].recurring:
        one = said[0]
        if s.exact:
            return  # "Friday the 20th": the date already says it
        if s.earliest is not None and s.latest is not None and one.prefix is None:
            # "Tuesday next week": the first such weekday inside the said range.
            day = s.earliest
            while day <= s.latest and day.weekday() != one.day:
                day += timedelta(days=1)
            if day <= s.latest:
                s.on(day, day)
                s.exact = True
                return
        day = _weekday_date(s.today, one.day, one.modifier)
        s.on(day, day, one.prefix)
        s.exact = one.prefix is None
        return
    # Several days, or a plural: a recurring preference ("Tuesdays or Thursdays").
    s.weekdays |= {w.day for w in said}
    if any(w.modifier == "next" for w in said) and s.earliest is None:
        monday = week_start(s.today) + timedelta(days=7)
        s.on(monday, monday + timedelta(days=6))


# A bare ordinal is a day of the month only after "the", "on" or a weekday, or said alone:
# "whatever you've got first" is not the 1st.
_ORDINAL_DAY = re.compile(
    rf"(?:^\s*|\b{_PREFIX}(?:(?:{WEEKDAY_RE} )?(?:on )?the |{WEEKDAY_RE} |on ))"
    r"(?P<d>\d{1,2})(?:st|nd|rd|th)\b"
)
_ON_THE_DAY = re.compile(
    rf"\b{_PREFIX}(?:{WEEKDAY_RE} )?(?:on )?the (?P<d>\d{{1,2}})\b(?! ?(?:am|pm|oclock|:))"
)


def _day_of_month(m: re.Match[str], s: _State) -> None:
    found = next_day_of_month(s.today, _ordinal_day(m.group("d")))
    if found is not None:
        s.on(found, found, m.group("pre"))
        s.exact = m.group("pre") is None


# --- clock times ---------------------------------------------------------------------

_FROM_WORDS = r"after|past|later than|not before|from|starting at|starting|any ?time after"
_TO_WORDS = r"before|by|until|till|no later than|not after|up to|at the latest"
_AT_WORDS = r"at|around|about|say|for|like|approximately|roughly|close to"
_T = clock.TIME_RE
_TIME_RANGE = re.compile(
    rf"\b(?:between|from)?\s*(?P<a>{_T.replace('?P<', '?P<a_')})\s+(?:and|to|till|until|through)"
    rf"\s+(?P<b>{_T.replace('?P<', '?P<b_')})"
)
_TIME_FROM = re.compile(rf"\b(?:{_FROM_WORDS})\s+(?:{_T})")
_TIME_TO = re.compile(rf"\b(?:{_TO_WORDS})\s+(?:{_T})")
_TIME_AT = re.compile(rf"\b(?:{_AT_WORDS})\s+(?:{_T})")
_TIME_BARE = re.compile(rf"\b{_T}")


@dataclass
class _Clock:
    time_from: time | None = None
    time_to: time | None = None
    at: time | None = None


def _clock_of(m: re.Match[str], meridiem: str | None, prefix: str = "") -> time | None:
    g = m.groupdict()
    hour = g.get(f"{prefix}h")
    if hour is None:
        return None
    minute = g.get(f"{prefix}m") or g.get(f"{prefix}m2") or "0"
    ampm = g.get(f"{prefix}ampm")
    return clock.to_time(int(hour), int(minute), ampm if ampm != "oclock" else None, meridiem)


def _explicit_clock(m: re.Match[str], prefix: str = "") -> bool:
    g = m.groupdict()
    return bool(g.get(f"{prefix}m") or g.get(f"{prefix}m2") or g.get(f"{prefix}ampm"))


def _times(text: str, meridiem: str | None) -> _Clock:
    found = _Clock()
    for m in _TIME_RANGE.finditer(text):
        first_ampm = m.group("a_ampm")
        second_ampm = m.group("b_ampm")
        # "between 10 and 2 pm" shares the second meridiem only when the first has none
        # and the shared reading keeps the order.
        a = _clock_of(m, meridiem, "a_")
        b = _clock_of(m, meridiem, "b_")
        if first_ampm is None and second_ampm in ("am", "pm"):
            shared = _clock_of(m, second_ampm, "a_")
            if shared is not None and b is not None and shared < b:
                a = shared
        if a is not None and b is not None and a < b:
            found.time_from, found.time_to = a, b
            text = text[: m.start()] + " " * (m.end() - m.start()) + text[m.end() :]
    for pattern, slot in ((_TIME_FROM, "time_from"), (_TIME_TO, "time_to"), (_TIME_AT, "at")):
        for m in pattern.finditer(text):
            value = _clock_of(m, meridiem)
            if value is not None:
                setattr(found, slot, value)
                text = text[: m.start()] + " " * (m.end() - m.start()) + text[m.end() :]
    if found.at is None and found.time_from is None and found.time_to is None:
        for m in _TIME_BARE.finditer(text):
            if _explicit_clock(m):
                found.at = _clock_of(m, meridiem)
                break
    return found


_VAGUE = re.compile(
    r"\b(?:any ?time|whenever|any day|doesn't matter|does not matter|i'm flexible|flexible"
    r"|whatever works|whatever you have|either is fine|don't care)\b"
)

_DATE_RULES: tuple[tuple[re.Pattern[str], Rule], ...] = (
    (_ASAP, _asap),
    (_MONTH_DAY, _explicit),
    (_DAY_OF_MONTH, _explicit),
    (_NUMERIC, _explicit),
    (_OFFSET, _offset),
    (_RELATIVE_DAY, _relative_day),
    (_NTH_WEEK, _nth_week),
    (_WITHIN, _within),
    (_WEEK, _week),
    (_MONTH, _month),
)


def parse_time_preference(
    text: str, now: datetime, tz: ZoneInfo | str | None = None
) -> TimePreference | None:
    """Parse a scheduling preference; None when the text names no time at all."""
    if tz is not None:
        now = now.astimezone(ZoneInfo(tz) if isinstance(tz, str) else tz)
    state = _State(today=now.date())
    rest = f" {clock.prepare(normalize(text))} "
    for pattern, rule in _DATE_RULES:
        rest = _consume(rest, pattern, rule, state)

    day_part: clock.DayPart | None = None
    for pattern, part in clock.DAY_PARTS:
        if pattern.search(rest):
            day_part = part
            rest = pattern.sub(" ", rest)
            break

    rest, said = _weekdays(rest, state)
    for pattern in (_ORDINAL_DAY, _ON_THE_DAY):
        rest = _consume(rest, pattern, _day_of_month, state)
    _apply_weekdays(said, state)

    times = _times(rest, day_part.meridiem if day_part else None)
    window_from = times.time_from or (day_part.start if day_part else None)
    window_to = times.time_to or (day_part.end if day_part else None)
    if times.at is not None:
        window_from = window_to = None

    weekdays = set(state.weekdays)
    if state.excluded:
        weekdays = (weekdays or set(range(7))) - state.excluded

    found = state.found or day_part is not None or any((times.at, times.time_from, times.time_to))
    if not found:
        return TimePreference(asap=True) if _VAGUE.search(rest) else None
    return TimePreference(
        earliest=None if state.earliest in (None, date.min) else state.earliest,
        latest=None if state.latest in (None, date.max) else state.latest,
        weekdays=frozenset(weekdays),
        time_from=window_from,
        time_to=window_to,
        at=times.at,
        asap=state.asap,
    )


__all__ = ["TimePreference", "parse_time_preference"]

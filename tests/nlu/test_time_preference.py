from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from voiceagent.understanding.entities import TimePreference, parse_time_preference

TZ = ZoneInfo("America/New_York")
WED = datetime(2026, 11, 18, 10, 30, tzinfo=TZ)  # a Wednesday
TUE = datetime(2026, 11, 17, 9, 0, tzinfo=TZ)


def day(d: int, month: int = 11) -> TimePreference:
    on = date(2026, month, d)
    return TimePreference(earliest=on, latest=on)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("next Tuesday afternoon", TimePreference(date(2026, 11, 24), date(2026, 11, 24),
                                                  time_from=time(12), time_to=time(17))),
        ("Tomorrow morning.", TimePreference(date(2026, 11, 19), date(2026, 11, 19),
                                             time_to=time(12))),
        ("the 14th", day(14, 12)),
        ("the 18th", day(18)),  # today counts: "on or after today"
        ("December 3rd", day(3, 12)),
        ("12/3", day(3, 12)),
        ("this Friday", day(20)),
        ("Friday", day(20)),
        ("next Friday", day(27)),
        ("Wednesday", day(25)),  # said on a Wednesday: next week's
        ("this Wednesday", day(18)),
        ("any time after 3", TimePreference(time_from=time(15))),
        ("before 10 am", TimePreference(time_to=time(10))),
        ("at 2:30", TimePreference(at=time(14, 30))),
        ("at 9", TimePreference(at=time(9))),
        ("8 at night", TimePreference(at=time(20))),
        ("between 10 and 2", TimePreference(time_from=time(10), time_to=time(14))),
        ("half past two", TimePreference(at=time(14, 30))),
        ("early next week", TimePreference(date(2026, 11, 23), date(2026, 11, 25))),
        ("next week", TimePreference(date(2026, 11, 23), date(2026, 11, 29))),
        ("end of next week", TimePreference(date(2026, 11, 26), date(2026, 11, 29))),
        ("as soon as possible", TimePreference(asap=True)),
        ("first available", TimePreference(asap=True)),
        ("ASAP please", TimePreference(asap=True)),
        ("Tuesdays or Thursdays", TimePreference(weekdays=frozenset({1, 3}))),
        ("any day but Friday", TimePreference(weekdays=frozenset({0, 1, 2, 3, 5, 6}))),
        ("after the 10th", TimePreference(earliest=date(2026, 12, 11))),
        ("in 3 days", day(21)),
        ("a week from today", day(25)),
        ("in two weeks", TimePreference(date(2026, 11, 30), date(2026, 12, 6))),
        ("early December", TimePreference(date(2026, 12, 1), date(2026, 12, 10))),
        ("next month", TimePreference(date(2026, 12, 1), date(2026, 12, 31))),
        ("Tuesday next week", day(24)),
        ("the week of the 7th", TimePreference(date(2026, 12, 7), date(2026, 12, 13))),
        ("Monday, December 7th at 1:15 PM", TimePreference(date(2026, 12, 7), date(2026, 12, 7),
                                                           at=time(13, 15))),
        ("November 2nd", TimePreference(date(2027, 11, 2), date(2027, 11, 2))),  # passed: next year
    ],
)  # fmt: skip
def test_parses_relative_to_now(text: str, expected: TimePreference) -> None:
    assert parse_time_preference(text, WED) == expected


def test_bare_weekday_said_on_that_day_means_next_week() -> None:
    assert parse_time_preference("Tuesday", TUE) == TimePreference(
        date(2026, 11, 24), date(2026, 11, 24)
    )


def test_now_is_taken_in_the_clinic_timezone() -> None:
    # 02:00 UTC on Thursday is still Wednesday evening in New York.
    utc_now = datetime(2026, 11, 19, 2, 0, tzinfo=ZoneInfo("UTC"))
    assert parse_time_preference("tomorrow", utc_now, "America/New_York") == day(19)
    assert parse_time_preference("tomorrow", utc_now) == day(20)


@pytest.mark.parametrize(
    "text", ["", "I'm not sure", "I need an appointment for my son", "I have 2 kids",
             "May I ask a question?", "my 2nd appointment"],
)  # fmt: skip
def test_no_time_named(text: str) -> None:
    assert parse_time_preference(text, WED) is None


def test_admits_checks_every_constraint() -> None:
    pref = parse_time_preference("next Tuesday afternoon", WED)
    assert pref is not None
    assert pref.admits(datetime(2026, 11, 24, 14, 0, tzinfo=TZ))
    assert not pref.admits(datetime(2026, 11, 24, 9, 0, tzinfo=TZ))
    assert not pref.admits(datetime(2026, 11, 25, 14, 0, tzinfo=TZ))
    weekly = TimePreference(weekdays=frozenset({1}), at=time(9))
    assert weekly.admits(datetime(2026, 12, 1, 9, 0))
    assert not weekly.admits(datetime(2026, 12, 1, 9, 30))
    assert weekly.weekday_names() == ["tue"]

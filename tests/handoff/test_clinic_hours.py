"""Clinic hours: open or closed, next opening, spoken descriptions, holidays and DST."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from voiceagent.handoff import ClinicHours, HoursError
from voiceagent.handoff.hours import Period, parse_periods, speak_time

NY = ZoneInfo("America/New_York")


def at(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=NY)


def test_parse_single_and_split_ranges() -> None:
    assert parse_periods("08:00-17:00") == (Period(time(8), time(17)),)
    assert parse_periods("13:00-17:00, 8:00 - 12:00") == (
        Period(time(8), time(12)),
        Period(time(13), time(17)),
    )
    assert parse_periods("closed") == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("8-5", "write them like 08:00-17:00"),
        ("17:00-08:00", "closes before it opens"),
        ("08:00-25:00", "not a real time of day"),
        ("08:00-13:00,12:00-17:00", "overlap"),
    ],
)
def test_bad_ranges_are_explained(text: str, message: str) -> None:
    with pytest.raises(HoursError, match=message):
        parse_periods(text, "Monday")


def test_bad_configuration() -> None:
    with pytest.raises(HoursError, match="not a day of the week"):
        ClinicHours.from_config({"someday": "08:00-17:00"})
    with pytest.raises(HoursError, match="unknown time zone"):
        ClinicHours.from_config({"mon": "08:00-17:00"}, timezone="Mars/Olympus")
    with pytest.raises(HoursError, match="write holidays like"):
        ClinicHours.from_config({"mon": "08:00-17:00"}, holidays=["Christmas"])


def test_is_open(clinic_hours: ClinicHours) -> None:
    assert clinic_hours.is_open(at(2026, 12, 7, 8, 0))  # Monday, opening minute
    assert clinic_hours.is_open(at(2026, 12, 7, 16, 59))
    assert not clinic_hours.is_open(at(2026, 12, 7, 17, 0))  # closing time is closed
    assert not clinic_hours.is_open(at(2026, 12, 7, 7, 59))
    assert clinic_hours.is_open(at(2026, 12, 4, 12, 30))  # Friday until 1 PM
    assert not clinic_hours.is_open(at(2026, 12, 4, 13, 30))
    assert not clinic_hours.is_open(at(2026, 12, 5, 10, 0))  # Saturday: not listed
    assert not clinic_hours.is_open(at(2026, 12, 25, 10, 0))  # holiday on a Friday


def test_other_time_zones_and_naive_times_are_clinic_local(clinic_hours: ClinicHours) -> None:
    # 14:30 UTC on a Monday in December is 9:30 AM in New York.
    assert clinic_hours.is_open(datetime(2026, 12, 7, 14, 30, tzinfo=UTC))
    assert not clinic_hours.is_open(datetime(2026, 12, 7, 12, 30, tzinfo=UTC))  # 7:30 AM
    assert clinic_hours.is_open(datetime(2026, 12, 7, 9, 30))  # naive = clinic local


def test_next_opening(clinic_hours: ClinicHours) -> None:
    assert clinic_hours.next_opening(at(2026, 12, 7, 7, 0)) == at(2026, 12, 7, 8, 0)
    assert clinic_hours.next_opening(at(2026, 12, 7, 18, 0)) == at(2026, 12, 8, 8, 0)
    assert clinic_hours.next_opening(at(2026, 12, 4, 14, 0)) == at(2026, 12, 7, 8, 0)
    # Christmas (Friday) then a weekend; New Year's Day is a Friday too.
    assert clinic_hours.next_opening(at(2026, 12, 24, 18, 0)) == at(2026, 12, 28, 8, 0)
    assert clinic_hours.next_opening(at(2026, 12, 31, 18, 0)) == at(2027, 1, 4, 8, 0)
    open_now = at(2026, 12, 7, 10, 0)
    assert clinic_hours.next_opening(open_now) == open_now


def test_next_opening_across_spring_forward(clinic_hours: ClinicHours) -> None:
    # DST starts Sunday 2026-03-08 at 2 AM in New York: EST (UTC-5) becomes EDT (UTC-4).
    friday_evening = at(2026, 3, 6, 18, 0)
    assert friday_evening.utcoffset() == timedelta(hours=-5)
    opening = clinic_hours.next_opening(friday_evening)
    assert (opening.date(), opening.time()) == (date(2026, 3, 9), time(8, 0))
    assert opening.utcoffset() == timedelta(hours=-4)
    assert opening.astimezone(UTC) == datetime(2026, 3, 9, 12, 0, tzinfo=UTC)
    # 12:30 UTC is 7:30 AM before the change and 8:30 AM after it.
    assert not clinic_hours.is_open(datetime(2026, 3, 6, 12, 30, tzinfo=UTC))
    assert clinic_hours.is_open(datetime(2026, 3, 9, 12, 30, tzinfo=UTC))
    # Counting 24-hour steps of real time from Friday 8 AM EST lands at 9 AM EDT on Monday.
    naive_step = at(2026, 3, 6, 8, 0).astimezone(UTC) + timedelta(hours=72)
    assert naive_step.astimezone(NY).time() == time(9, 0)
    assert opening.astimezone(UTC) != naive_step


def test_next_opening_across_fall_back(clinic_hours: ClinicHours) -> None:
    # DST ends Sunday 2026-11-01: EDT (UTC-4) becomes EST (UTC-5).
    opening = clinic_hours.next_opening(at(2026, 10, 30, 16, 0))
    assert opening.astimezone(UTC) == datetime(2026, 11, 2, 13, 0, tzinfo=UTC)
    assert opening.astimezone(NY).time() == time(8, 0)
    assert clinic_hours.is_open(datetime(2026, 11, 2, 13, 30, tzinfo=UTC))  # 8:30 AM EST
    assert not clinic_hours.is_open(datetime(2026, 11, 2, 12, 30, tzinfo=UTC))  # 7:30 AM EST


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (at(2026, 12, 7, 10, 0), "We're open today until 5 PM."),
        (at(2026, 12, 4, 10, 0), "We're open today until 1 PM."),
        (at(2026, 12, 7, 7, 0), "We're open today from 8 AM to 5 PM."),
        (
            at(2026, 12, 7, 18, 0),
            "We're closed for the rest of today; we open again tomorrow at 8 AM.",
        ),
        (
            at(2026, 12, 4, 14, 0),
            "We're closed for the rest of today; we open again Monday at 8 AM.",
        ),
        (at(2026, 12, 5, 10, 0), "We're closed today; we open again Monday at 8 AM."),
        (
            at(2026, 12, 25, 9, 0),
            "We're closed today for the holiday; we open again Monday at 8 AM.",
        ),
    ],
)
def test_describe_today(clinic_hours: ClinicHours, moment: datetime, expected: str) -> None:
    assert clinic_hours.describe_today(moment) == expected


def test_describe_today_with_a_lunch_break() -> None:
    hours = ClinicHours.from_config({"mon": "09:00-12:00,13:00-17:30"})
    monday = date(2026, 12, 7)

    def on_monday(hour: int, minute: int = 0) -> datetime:
        return datetime.combine(monday, time(hour, minute), tzinfo=NY)

    assert hours.describe_today(on_monday(10)) == (
        "We're open now until noon, and again from 1 PM to 5:30 PM."
    )
    assert hours.describe_today(on_monday(12, 30)) == (
        "We're closed right now; we open again today at 1 PM and stay open until 5:30 PM."
    )
    assert hours.describe_today(on_monday(8)) == (
        "We're open today from 9 AM to noon and from 1 PM to 5:30 PM."
    )
    assert hours.describe_next_opening(on_monday(12, 30)) == "today at 1 PM"


def test_a_long_closure_names_the_date() -> None:
    hours = ClinicHours.from_config(
        {"mon": "08:00-17:00", "tue": "08:00-17:00"},
        holidays=[date(2026, 12, 28), "2026-12-29"],
    )
    assert hours.describe_next_opening(at(2026, 12, 22, 18, 0)) == "Monday, January 4th at 8 AM"


def test_describe_week(clinic_hours: ClinicHours) -> None:
    assert clinic_hours.describe_week() == (
        "We're open Monday to Thursday from 8 AM to 5 PM and Friday from 8 AM to 1 PM. "
        "We're closed Saturday and Sunday."
    )
    split = ClinicHours.from_config({"mon": "09:00-12:00,13:00-17:00", "wed": "09:00-12:00"})
    assert split.describe_week() == (
        "We're open Monday from 9 AM to noon and from 1 PM to 5 PM and Wednesday from 9 AM "
        "to noon. We're closed Tuesday, Thursday, Friday, Saturday and Sunday."
    )


def test_no_hours_at_all() -> None:
    hours = ClinicHours.from_config({})
    assert not hours.is_open(at(2026, 12, 7, 10, 0))
    assert hours.describe_week() == "We don't have regular opening hours."
    with pytest.raises(HoursError):
        hours.next_opening(at(2026, 12, 7, 10, 0))


def test_speak_time() -> None:
    assert [speak_time(time(h, m)) for h, m in [(8, 0), (13, 30), (12, 0), (0, 0), (9, 5)]] == [
        "8 AM",
        "1:30 PM",
        "noon",
        "midnight",
        "9:05 AM",
    ]

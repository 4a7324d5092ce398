"""The clock helpers: pinned, running from a chosen moment, and parsing a start time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from voiceagent.clock import clock_starting_at, fixed_clock, parse_start, system_clock

CLINIC = ZoneInfo("America/New_York")


def test_a_fixed_clock_never_moves() -> None:
    at = datetime(2026, 11, 23, 10, 0, tzinfo=CLINIC)
    clock = fixed_clock(at)
    assert clock() == at and clock() == at


def test_a_started_clock_runs_on_from_its_start() -> None:
    ticks = iter([100.0, 100.0, 162.5])
    start = datetime(2026, 11, 23, 10, 0, tzinfo=CLINIC)
    clock = clock_starting_at(start, elapsed=lambda: next(ticks))
    assert clock() == start
    assert clock() == start + timedelta(seconds=62.5)


def test_naive_times_are_refused_as_clock_starts() -> None:
    with pytest.raises(ValueError, match="naive"):
        fixed_clock(datetime(2026, 11, 23, 10, 0))


def test_a_start_without_an_offset_is_clinic_time() -> None:
    assert parse_start("2026-11-23T10:00", CLINIC) == datetime(2026, 11, 23, 10, 0, tzinfo=CLINIC)
    with_offset = parse_start("2026-11-23T15:00+00:00", CLINIC)
    assert with_offset == datetime(2026, 11, 23, 10, 0, tzinfo=CLINIC)
    with pytest.raises(ValueError, match="not an ISO date-time"):
        parse_start("next monday", CLINIC)


def test_the_system_clock_is_aware_utc() -> None:
    assert system_clock().tzinfo is UTC

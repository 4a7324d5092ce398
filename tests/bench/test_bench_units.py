"""The benchmark's arithmetic and its script files (no models, no server)."""

from __future__ import annotations

import os
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from voiceagent.bench import procstat
from voiceagent.bench.asr import word_errors
from voiceagent.bench.client import CallResult, Turn
from voiceagent.bench.latency import STAGES, breakdown, histogram_delta
from voiceagent.bench.scenarios import (
    SCENARIO_DIR,
    Say,
    ScenarioMix,
    appointment_days,
    clinic_holidays,
    load_scenarios,
)
from voiceagent.bench.stats import Summary
from voiceagent.config import Settings

MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("America/New_York"))


def test_summary_percentiles_interpolate_like_numpy() -> None:
    summary = Summary.of([400, 100, 300, 200, None])
    assert summary.n == 4
    assert summary.p50 == 250
    assert summary.p95 == pytest.approx(385)
    assert summary.max == 400
    assert Summary.of([]).p50 is None


def test_word_errors_compare_numbers_digit_by_digit() -> None:
    assert word_errors("March third, nineteen eighty-two.", "March 3rd, 1982.") == (0, 6)
    assert word_errors("Five five five, two zero one.", "555-201") == (0, 6)
    edits, words = word_errors("The atorvastatin.", "The hour of a statin.")
    assert (edits, words) == (4, 2)


def test_histogram_delta_estimates_from_buckets() -> None:
    name = "voiceagent_processing_seconds"
    before = {f"{name}_count": 1.0, f"{name}_sum": 0.2, f"{name}_bucket{{le=0.5}}": 1.0}
    after = {
        f"{name}_count": 5.0,
        f"{name}_sum": 2.2,
        f"{name}_bucket{{le=0.5}}": 3.0,
        f"{name}_bucket{{le=1.0}}": 5.0,
        f"{name}_bucket{{le=+Inf}}": 5.0,
    }
    delta = histogram_delta(before, after, name)
    assert delta is not None
    assert delta["count"] == 4
    assert delta["mean_ms"] == 500.0
    assert delta["p50_ms"] == 500.0  # 2 of 4 observations under 0.5 s
    assert 500 < delta["p95_ms"] <= 1000
    assert histogram_delta(after, after, name) is None


def test_every_shipped_scenario_loads_and_expects_an_outcome() -> None:
    scenarios = load_scenarios(SCENARIO_DIR)
    assert len(scenarios) >= 4
    for scenario in scenarios:
        assert scenario.expect.intent, scenario.name
        assert any(isinstance(step, Say) for step in scenario.steps), scenario.name


def test_bookings_rotate_over_open_clinic_days() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    holidays = clinic_holidays(settings.clinic_file)
    days = appointment_days(MONDAY, holidays, count=6)
    assert days[0] == "Monday, November 30th"
    assert "Thursday, December 24th" not in appointment_days(MONDAY, holidays, count=20)
    assert all(not d.startswith(("Friday", "Saturday", "Sunday")) for d in days)
    scenarios = load_scenarios(SCENARIO_DIR, ["book-appointment"])
    mix = ScenarioMix(scenarios, days)
    lines = [" ".join(mix.next().lines()) for _ in range(3)]
    assert len(set(lines)) == 3  # three calls, three different days
    assert all("{" not in line for line in lines)
    assert len(mix.variants()) == len(days)


def test_gap_stages_add_up_to_the_gap() -> None:
    result = CallResult(call_sid="CA1", scenario="s")
    turn = Turn("say", 1, speech_started_at=9.0, speech_ended_at=10.0, responded_at=11.5)
    result.turns.append(turn)
    trace = [
        {
            "call_sid": "CA1",
            "eot_ms": 600,
            "asr_submit": 10.62,
            "asr_start": 10.63,
            "asr_end": 10.85,
            "dialog_start": 10.86,
            "dialog_end": 10.9,
            "tts_ready": 11.45,
            "tts_cached": False,
        }
    ]
    (row,) = breakdown([result], trace)
    assert sum(row[stage] for stage in STAGES) == pytest.approx(row["gap_ms"], abs=0.5)
    assert row["to_asr"] == pytest.approx(620)
    assert row["asr"] == pytest.approx(220)
    assert row["after_asr"] == pytest.approx(10)
    assert breakdown([result], [{**trace[0], "call_sid": "CA2"}]) == []


def test_proc_readings_of_this_process() -> None:
    pid = os.getpid()
    assert procstat.cpu_seconds(pid) > 0
    assert 10 < procstat.rss_mib(pid) < 100_000
    busy, total = procstat.machine_busy_seconds()
    assert 0 < busy < total
    assert date.today().year > 2000  # the clock the load averages are read against

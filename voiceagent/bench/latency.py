"""``voiceagent bench latency``: N callers at once, for S seconds, through the real server.

The run: prepare every caller line as ready payloads, start N callers (staggered over
``ramp_s``), and whenever a call ends start the next scenario in the mix until ``duration_s``
has passed (calls in progress then finish). While it runs, the server's RSS is sampled; its
CPU time, the machine's and the client's own are taken over the whole window, and the
server's Prometheus counters are read before and after. Afterwards each call's row in the
server's database says whether the call reached the outcome its scenario expects.

Per turn: response gap (client: last voiced caller frame sent -> first agent frame received),
processing (server: end-of-turn decision -> first audio, from the trace or /metrics) and
barge-in time (caller's speech onset -> `clear` received). Per call: greeting time, late
agent frames, false barge-ins. Per run: p50 / p95 / max, calls completed and failed, CPU,
memory. With the trace (the default server), each gap is split into its stages.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from voiceagent.bench import procstat
from voiceagent.bench.client import BenchCall, CallResult
from voiceagent.bench.scenarios import BargeIn, BenchScenario, Say, ScenarioMix
from voiceagent.bench.server import Target
from voiceagent.bench.stats import SUMMARY_HEADERS, Summary, fmt, summary_row, table
from voiceagent.bench.trace import read_trace
from voiceagent.bench.voice import CallerVoice


@dataclass(frozen=True)
class LoadConfig:
    calls: int = 1
    duration_s: float = 120.0
    ramp_s: float = 10.0
    quiet_s: float = 0.6
    call_timeout_s: float = 300.0


@dataclass
class LoadRun:
    results: list[CallResult] = field(default_factory=list)
    window: procstat.Window | None = None
    rss_idle_mib: float | None = None
    rss_peak_mib: float | None = None
    rss_end_mib: float | None = None
    rss_samples: list[tuple[float, float]] = field(default_factory=list)  # (monotonic, MiB)
    metrics_before: dict[str, float] = field(default_factory=dict)
    metrics_after: dict[str, float] = field(default_factory=dict)
    client_lags: list[tuple[float, float]] = field(default_factory=list)  # (at, seconds late)
    started_at: float = 0.0


def prepare_voice(voice: CallerVoice, scenarios: list[BenchScenario]) -> int:
    """Synthesize and encode every line and sound the scenarios can use; returns the count."""
    count = 0
    for scenario in scenarios:
        caller = scenario.caller
        voice.background(caller.noise_dbfs)
        for step in scenario.steps:
            if isinstance(step, Say):
                voice.line(step.say, step.speed or caller.speed, caller.noise_dbfs)
            elif isinstance(step, BargeIn):
                voice.line(step.barge_in, 1.0, caller.noise_dbfs)
            elif hasattr(step, "noise"):
                voice.sound(step.noise, caller.noise_dbfs)  # type: ignore[union-attr]
            else:
                continue
            count += 1
    return count


# --- the load ------------------------------------------------------------------------------
async def _drive(
    target: Target,
    mix: ScenarioMix,
    voice: CallerVoice,
    config: LoadConfig,
    on_call: Callable[[CallResult], None] | None,
    lags: list[tuple[float, float]],
) -> list[CallResult]:
    results: list[CallResult] = []
    started = time.monotonic()
    async with httpx.AsyncClient(timeout=10.0) as http:

        async def slot(index: int) -> None:
            await asyncio.sleep(config.ramp_s * index / max(1, config.calls))
            first = True  # every slot places at least one call, however short the run
            while first or time.monotonic() - started < config.duration_s:
                first = False
                call = BenchCall(target.call, mix.next(), voice, http, quiet_s=config.quiet_s)
                result = await call.run(config.call_timeout_s)
                results.append(result)
                if on_call is not None:
                    on_call(result)

        watch = asyncio.create_task(loop_watch(lags))
        try:
            await asyncio.gather(*(slot(i) for i in range(config.calls)))
        finally:
            watch.cancel()
    return results


async def loop_watch(lags: list[tuple[float, float]], tick_s: float = 0.005) -> None:
    """Record when this client's own event loop was late by more than 20 ms, and by how much.

    A stalled client sees agent frames late and sends its own late; these are the moments
    to distrust (shown in the report as client stalls)."""
    while True:
        before = time.monotonic()
        await asyncio.sleep(tick_s)
        lag = time.monotonic() - before - tick_s
        if lag > 0.02:
            lags.append((before, lag))


def _event_loop_policy() -> None:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvicorn[standard] ships it
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def run_load(
    target: Target,
    mix: ScenarioMix,
    voice: CallerVoice,
    config: LoadConfig,
    on_call: Callable[[CallResult], None] | None = None,
) -> LoadRun:
    run = LoadRun()
    run.metrics_before = scrape_metrics(target.call.url)
    pid = target.pid
    if pid is not None:
        run.rss_idle_mib = procstat.rss_mib(pid)
    window = procstat.Window(pid)
    run.started_at = time.monotonic()
    _event_loop_policy()
    sampler = procstat.RssSampler(pid) if pid is not None else None
    window.start()
    if sampler is not None:
        sampler.__enter__()
    try:
        run.results = asyncio.run(_drive(target, mix, voice, config, on_call, run.client_lags))
    finally:
        window.stop()
        if sampler is not None:
            sampler.__exit__()
            run.rss_peak_mib = sampler.peak_mib
            run.rss_samples = sampler.samples
    if pid is not None:
        run.rss_end_mib = procstat.rss_mib(pid)
    run.window = window
    run.metrics_after = scrape_metrics(target.call.url)
    return run


# --- the server's side -----------------------------------------------------------------------
def scrape_metrics(url: str) -> dict[str, float]:
    """Samples of the server's /metrics as ``{"name{label=value,...}": value}``."""
    try:
        text = httpx.get(f"{url.rstrip('/')}/metrics", timeout=5.0).text
    except httpx.HTTPError:
        return {}
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            out[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return out


def histogram_delta(
    before: dict[str, float], after: dict[str, float], name: str
) -> dict[str, Any] | None:
    """Count, mean and bucket-interpolated p50/p95 (seconds) of what a histogram saw."""

    def delta(key: str) -> float:
        return after.get(key, 0.0) - before.get(key, 0.0)

    count = delta(f"{name}_count")
    if count <= 0:
        return None
    buckets: list[tuple[float, float]] = []
    prefix = f"{name}_bucket{{le="
    for key in after:
        if key.startswith(prefix):
            bound = key[len(prefix) : -1]
            buckets.append((float(bound), delta(key)))
    buckets.sort()

    def quantile(q: float) -> float:
        rank = q * count
        low_bound, low_count = 0.0, 0.0
        for bound, cumulative in buckets:
            if cumulative >= rank:
                if bound == float("inf"):
                    return low_bound
                share = (rank - low_count) / max(cumulative - low_count, 1e-9)
                return low_bound + (bound - low_bound) * share
            low_bound, low_count = bound, cumulative
        return low_bound

    return {
        "count": int(count),
        "mean_ms": round(delta(f"{name}_sum") / count * 1000, 1),
        "p50_ms": round(quantile(0.5) * 1000, 1),
        "p95_ms": round(quantile(0.95) * 1000, 1),
    }


def verify_outcomes(target: Target, results: list[CallResult], wait_s: float = 15.0) -> None:
    """Fill each result's intent/outcome from the server's ``calls`` table and judge it.

    Only non-PHI columns are read (no decryption). A call still open is waited for: the
    server closes its row a moment after the line drops.
    """
    if target.settings is None or not results:
        return
    from sqlalchemy import select

    from voiceagent.store import Database
    from voiceagent.store.models import Call, CallTurn

    db = Database.from_settings(target.settings)
    expected = {r.call_sid: r for r in results}
    deadline = time.monotonic() + wait_s
    try:
        while True:
            with db.session() as session:
                rows = session.execute(
                    select(Call.id, Call.call_sid, Call.intent, Call.outcome, Call.verified)
                    .where(Call.call_sid.in_(list(expected)))
                    .where(Call.ended_at.is_not(None))
                ).all()
                gaps = session.execute(
                    select(Call.call_sid, CallTurn.response_gap_ms)
                    .join(CallTurn, CallTurn.call_id == Call.id)
                    .where(Call.call_sid.in_(list(expected)))
                    .where(CallTurn.response_gap_ms.is_not(None))
                    .order_by(Call.call_sid, CallTurn.seq)
                ).all()
            if len(rows) == len(expected) or time.monotonic() > deadline:
                break
            time.sleep(0.25)
    finally:
        db.dispose()
    for result in results:
        result.server_gaps_ms = [g for sid, g in gaps if sid == result.call_sid]
    found = {row.call_sid: row for row in rows}
    for result in results:
        row = found.get(result.call_sid)
        if row is None:
            result.outcome_ok = False
            if result.error is None:
                result.error = "no closed call record on the server"
            continue
        result.intent, result.outcome, result.verified = row.intent, row.outcome, row.verified
        result.outcome_ok = True


def judge(results: list[CallResult], scenarios: dict[str, BenchScenario]) -> None:
    """Compare each call's stored intent/outcome with its scenario's ``expect``."""
    for result in results:
        if result.outcome_ok is None:
            continue
        expect = scenarios[result.scenario].expect
        problems = []
        if expect.intent is not None and result.intent != expect.intent:
            problems.append(f"intent {result.intent!r} (expected {expect.intent!r})")
        if expect.outcome is not None and result.outcome != expect.outcome:
            problems.append(f"outcome {result.outcome!r} (expected {expect.outcome!r})")
        if expect.verified is not None and result.verified != expect.verified:
            problems.append(f"verified {result.verified!r} (expected {expect.verified!r})")
        if problems:
            result.outcome_ok = False
            if result.error is None:
                result.error = "; ".join(problems)


# --- where the gap goes ----------------------------------------------------------------------
STAGES = (
    "to_asr",
    "asr_queue",
    "asr",
    "after_asr",
    "dialog",
    "tts_first_audio",
    "delivery",
)


def breakdown(results: list[CallResult], trace: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each answered turn's gap split into consecutive stages (ms) that add up to it.

    * to_asr: last voiced frame sent -> the server handed the audio to ASR (the end-of-turn
      silence wait, or only the pause before a speculative transcript; the VAD's view of
      where speech ended; transport);
    * asr_queue / asr: waiting for a speech worker / Whisper itself;
    * after_asr: transcript ready -> the dialog starts (the rest of the end-of-turn wait
      when ASR ran during the pause, the completeness check, the thread hop);
    * dialog: the dialog step (understanding, flow, database);
    * tts_first_audio: reply -> first audio ready (phrase cache hit, or pool wait and the
      first sentence's synthesis);
    * delivery: first audio ready -> first frame at the client (pacing task, websocket).
    """
    by_call: dict[str, list[dict[str, Any]]] = {}
    for record in trace:
        if "asr_submit" in record and "tts_ready" in record:
            by_call.setdefault(record["call_sid"], []).append(record)
    rows: list[dict[str, Any]] = []
    for result in results:
        records = by_call.get(result.call_sid, [])
        for turn in result.turns:
            if turn.responded_at is None:
                continue
            match = [
                r for r in records if turn.speech_ended_at < r["asr_submit"] < turn.responded_at
            ]
            if not match:
                continue
            r = match[-1]
            if not r["tts_ready"] <= turn.responded_at + 0.005:
                continue  # the client heard something else first (a reprompt): not this turn
            marks = [
                turn.speech_ended_at,
                r["asr_submit"],
                r["asr_start"],
                r["asr_end"],
                r["dialog_start"],
                r["dialog_end"],
                r["tts_ready"],
                turn.responded_at,
            ]
            stages = {
                name: round((b - a) * 1000, 1)
                for name, a, b in zip(STAGES, marks[:-1], marks[1:], strict=True)
            }
            rows.append(
                {
                    "call_sid": result.call_sid,
                    "kind": turn.kind,
                    "gap_ms": round((turn.responded_at - turn.speech_ended_at) * 1000, 1),
                    "processing_ms": round((turn.responded_at - r["asr_submit"]) * 1000, 1),
                    "eot_ms": r.get("eot_ms"),
                    "dialog_run_ms": round((r["dialog_end"] - r["dialog_start"]) * 1000, 1),
                    "asr_model_ms": r.get("asr_model_ms"),
                    "audio_ms": r.get("audio_ms"),
                    "tts_cached": r.get("tts_cached"),
                    **stages,
                }
            )
    return rows


# --- the report ------------------------------------------------------------------------------
def _overlaps_stall(start: float, end: float, lags: list[tuple[float, float]]) -> bool:
    """Whether the client's own loop stalled somewhere in [start, end] (see loop_watch)."""
    return any(at < end and at + lag + 0.005 > start for at, lag in lags)


def attribute_to_client(run: LoadRun) -> dict[str, int]:
    """Late frames and response gaps that a stall of the client itself may have caused."""
    lags = run.client_lags
    late_client = sum(
        1 for r in run.results for prev, now in r.late_events if _overlaps_stall(prev, now, lags)
    )
    gaps_client = sum(
        1
        for r in run.results
        for t in r.turns
        if t.responded_at is not None and _overlaps_stall(t.speech_ended_at, t.responded_at, lags)
    )
    return {"late_frames_in_client_stalls": late_client, "gaps_spanning_client_stalls": gaps_client}


def build_report(
    target: Target,
    config: LoadConfig,
    run: LoadRun,
    trace_rows: list[dict[str, Any]],
    scenario_names: list[str],
    decodes: int | None = None,
) -> dict[str, Any]:
    results = run.results
    turns = [t for r in results for t in r.turns]
    frames = sum(r.frames_received for r in results)
    late_seen = sum(r.late_frames for r in results)
    client_caused = attribute_to_client(run)
    late = late_seen - client_caused["late_frames_in_client_stalls"]
    ok = [r for r in results if r.ok]
    window = run.window.as_dict() if run.window else {}
    server_cpu = window.get("server_cpu_s")
    before, after = run.metrics_before, run.metrics_after

    def counter(name: str) -> float | None:
        if not after:
            return None
        return round(after.get(name, 0.0) - before.get(name, 0.0), 1)

    per_call_mib = None
    if run.rss_peak_mib is not None and run.rss_idle_mib is not None and config.calls:
        per_call_mib = round((run.rss_peak_mib - run.rss_idle_mib) / config.calls, 1)
    answered = sum(1 for t in turns if t.response_gap_ms is not None)
    call_minutes = sum(max(0.0, r.ended_at - r.started_at) for r in results) / 60
    summaries = {
        "response_gap_ms": Summary.of(t.response_gap_ms for t in turns),
        "processing_ms": Summary.of(row["processing_ms"] for row in trace_rows),
        "server_gap_ms": Summary.of(g for r in results for g in r.server_gaps_ms),
        "barge_in_ms": Summary.of(t.barge_in_ms for t in turns),
        "greeting_ms": Summary.of(r.greeting_ms for r in results),
        "sentence_stall_ms": Summary.of(s for r in results for s in r.sentence_stalls_ms),
        "late_frames_per_call": Summary.of(r.late_frames for r in results),
        "client_send_late_max_ms": Summary.of(r.send_late_max_ms for r in results),
    }
    stages = {
        name: Summary.of(row[name] for row in trace_rows).as_dict()
        for name in (*STAGES, "eot_ms", "dialog_run_ms", "asr_model_ms")
    }
    return {
        "benchmark": "latency",
        "config": {
            "calls": config.calls,
            "duration_s": config.duration_s,
            "ramp_s": config.ramp_s,
            "quiet_s": config.quiet_s,
            "server": target.mode,
            "clinic_now": target.now.isoformat(),
            "scenarios": scenario_names,
        },
        "machine": {
            "cores": os.cpu_count(),
            "load_average_before": window.get("load_average_before"),
            "load_average_after": window.get("load_average_after"),
        },
        "calls": {
            "total": len(results),
            "completed": len(ok),
            "failed": len(results) - len(ok),
            "answered_turns": answered,
            "asr_decodes": decodes,
            "by_scenario": _by_scenario(results),
            "errors": [
                {"call_sid": r.call_sid, "scenario": r.scenario, "error": r.error}
                for r in results
                if not r.ok
            ],
        },
        "summary": {name: s.as_dict() for name, s in summaries.items()},
        "client_stalls": {
            "count": len(run.client_lags),
            "max_ms": _r(max((lag for _, lag in run.client_lags), default=0.0) * 1000),
            "total_ms": _r(sum(lag for _, lag in run.client_lags) * 1000),
            "at_s": [
                [_r(at - run.started_at), _r(lag * 1000)]
                for at, lag in sorted(run.client_lags, key=lambda x: -x[1])[:10]
            ],
        },
        "audio": {
            "frames_received": frames,
            "late_frames": late,
            "late_share": round(late / frames, 5) if frames else None,
            "late_frames_seen": late_seen,
            **client_caused,
            "server_underruns": counter("voiceagent_playout_underruns_total"),
            "false_barge_ins": sum(r.false_clears for r in results),
            "overlap_clears": sum(r.overlap_clears for r in results),
            "noises_sent": sum(r.noises for r in results),
            "barge_ins_requested": sum(1 for t in turns if t.kind == "barge_in"),
            "server_barge_ins": counter("voiceagent_barge_ins_total"),
        },
        "server_metrics": {
            "response_gap": histogram_delta(before, after, "voiceagent_response_gap_seconds"),
            "processing": histogram_delta(before, after, "voiceagent_processing_seconds"),
            "greeting": histogram_delta(before, after, "voiceagent_greeting_latency_seconds"),
        },
        "resources": {
            **window,
            "server_cpu_s_per_call": round(server_cpu / len(results), 2)
            if server_cpu is not None and results
            else None,
            "server_cpu_s_per_call_minute": round(server_cpu / call_minutes, 2)
            if server_cpu is not None and call_minutes
            else None,
            "server_cpu_s_per_answered_turn": round(server_cpu / answered, 2)
            if server_cpu is not None and answered
            else None,
            "server_rss_ready_idle_mib": _r(run.rss_idle_mib),
            "server_rss_peak_mib": _r(run.rss_peak_mib),
            "server_rss_end_mib": _r(run.rss_end_mib),
            "server_rss_per_call_mib": per_call_mib,
            "server_ready_s": _r(target.ready_s, 2),
            "server_idle_after_ready_s": _r(target.idle_s, 2),
        },
        "gap_breakdown_ms": stages,
        "gap_by_end_of_turn_wait": {
            str(eot): {
                "gap_ms": Summary.of(
                    r["gap_ms"] for r in trace_rows if r["eot_ms"] == eot
                ).as_dict(),
                "to_asr_ms": Summary.of(
                    r["to_asr"] for r in trace_rows if r["eot_ms"] == eot
                ).as_dict(),
                "after_asr_ms": Summary.of(
                    r["after_asr"] for r in trace_rows if r["eot_ms"] == eot
                ).as_dict(),
            }
            for eot in sorted({r["eot_ms"] for r in trace_rows if r["eot_ms"] is not None})
        },
        "first_audio_by_source": {
            ("phrase cache" if cached else "synthesized"): Summary.of(
                r["tts_first_audio"] for r in trace_rows if bool(r["tts_cached"]) is cached
            ).as_dict()
            for cached in (True, False)
        },
        "turns": [
            {
                "call_sid": r.call_sid,
                "scenario": r.scenario,
                "kind": t.kind,
                "step": t.step,
                "response_gap_ms": _r(t.response_gap_ms),
                "barge_in_ms": _r(t.barge_in_ms),
            }
            for r in results
            for t in r.turns
        ],
        "trace_turns": trace_rows,
        "per_call": [
            {
                "call_sid": r.call_sid,
                "scenario": r.scenario,
                "ok": r.ok,
                "intent": r.intent,
                "outcome": r.outcome,
                "greeting_ms": _r(r.greeting_ms),
                "duration_s": _r(r.ended_at - r.started_at, 1),
                "frames_received": r.frames_received,
                "late_frames": r.late_frames,
                "false_barge_ins": r.false_clears,
                "server_gaps_ms": r.server_gaps_ms,
            }
            for r in results
        ],
    }


def _r(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def _by_scenario(results: list[CallResult]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for r in results:
        entry = out.setdefault(r.scenario, {"calls": 0, "ok": 0})
        entry["calls"] += 1
        entry["ok"] += r.ok
    return out


def format_report(report: dict[str, Any]) -> str:
    config, calls, summary = report["config"], report["calls"], report["summary"]
    audio, res = report["audio"], report["resources"]
    load = report["machine"]
    lines = [
        f"bench latency: {config['calls']} simultaneous call(s) for {config['duration_s']:.0f} s "
        f"({config['server']} server, clinic clock {config['clinic_now']})",
        f"machine: {load['cores']} cores; load average before {_load(load['load_average_before'])}"
        f", after {_load(load['load_average_after'])}",
        f"calls: {calls['total']} total, {calls['completed']} completed, {calls['failed']} failed;"
        f" {calls['answered_turns']} answered turns; "
        f"{fmt(calls.get('asr_decodes'))} Whisper decodes",
        "",
    ]
    labels = {
        "response_gap_ms": "response gap (client) ms",
        "processing_ms": "processing (server) ms",
        "server_gap_ms": "response gap (server) ms",
        "barge_in_ms": "barge-in -> clear ms",
        "greeting_ms": "start -> greeting ms",
        "sentence_stall_ms": "stall between sentences ms",
        "late_frames_per_call": "late frames per call",
        "client_send_late_max_ms": "client pacing, worst ms",
    }
    rows = [summary_row(labels[k], Summary(**summary[k])) for k in labels]
    lines.append(table(SUMMARY_HEADERS, rows))
    breakdown_rows = [
        summary_row(name, Summary(**report["gap_breakdown_ms"][name]))
        for name in (*STAGES, "eot_ms")
        if report["gap_breakdown_ms"][name]["n"]
    ]
    if breakdown_rows:
        lines += ["", "where the response gap goes (ms, per answered turn):"]
        lines.append(table(("stage", *SUMMARY_HEADERS[1:]), breakdown_rows))
    by_eot = report["gap_by_end_of_turn_wait"]
    if by_eot:
        lines += ["", "response gap by the end-of-turn wait in force (ms):"]
        lines.append(
            table(
                ("wait", "n", "gap p50", "gap p95", "to_asr p50", "after_asr p50"),
                [
                    [
                        eot,
                        str(v["gap_ms"]["n"]),
                        fmt(v["gap_ms"]["p50"]),
                        fmt(v["gap_ms"]["p95"]),
                        fmt(v["to_asr_ms"]["p50"]),
                        fmt(v["after_asr_ms"]["p50"]),
                    ]
                    for eot, v in by_eot.items()
                ],
            )
        )
        first = report["first_audio_by_source"]
        lines.append(
            "first audio of the answer: "
            + "; ".join(
                f"{source} n={v['n']} p50 {fmt(v['p50'])} ms p95 {fmt(v['p95'])} ms"
                for source, v in first.items()
            )
        )
    share = audio["late_share"]
    lines += [
        "",
        f"agent audio: {audio['frames_received']} frames, {audio['late_frames']} late "
        f"({fmt(share * 100 if share is not None else None, 3)} %) + "
        f"{audio['late_frames_in_client_stalls']} late while the client itself stalled; "
        f"server underruns {fmt(audio['server_underruns'])}",
        f"false barge-ins: {audio['false_barge_ins']} (noises sent: {audio['noises_sent']}); "
        f"barge-ins: {audio['barge_ins_requested']} requested, "
        f"{fmt(audio['server_barge_ins'])} by the server; overlaps: {audio['overlap_clears']}",
        f"server CPU: {fmt(res.get('server_cpu_s'), 1)} s over {fmt(res.get('wall_s'), 0)} s "
        f"({fmt(res.get('server_cores_busy'), 2)} cores), "
        f"{fmt(res.get('server_cpu_s_per_call'), 2)} s per call, "
        f"{fmt(res.get('server_cpu_s_per_call_minute'), 2)} s per call-minute, "
        f"{fmt(res.get('server_cpu_s_per_answered_turn'), 2)} s per answered turn; client CPU "
        f"{fmt(res.get('client_cpu_s'), 1)} s; other processes "
        f"{fmt(res.get('other_processes_cpu_s'), 1)} s",
        f"client stalls (own event loop late > 20 ms): {report['client_stalls']['count']}, "
        f"worst {fmt(report['client_stalls']['max_ms'])} ms, total "
        f"{fmt(report['client_stalls']['total_ms'])} ms; answered turns spanning one: "
        f"{audio['gaps_spanning_client_stalls']}",
        f"server memory: {fmt(res.get('server_rss_ready_idle_mib'))} MiB idle, "
        f"{fmt(res.get('server_rss_peak_mib'))} MiB peak, "
        f"{fmt(res.get('server_rss_per_call_mib'), 1)} MiB per extra call; ready in "
        f"{fmt(res.get('server_ready_s'), 2)} s",
    ]
    processing = report["server_metrics"]["processing"]
    if processing:
        lines.append(
            f"/metrics processing: n={processing['count']} mean {processing['mean_ms']} ms, "
            f"~p50 {processing['p50_ms']} ms, ~p95 {processing['p95_ms']} ms (bucket estimate)"
        )
    if calls["errors"]:
        lines += ["", "failed calls:"]
        lines += [f"  {e['scenario']} {e['call_sid']}: {e['error']}" for e in calls["errors"]]
    return "\n".join(lines)


def _load(values: Any) -> str:
    return "/".join(f"{v:.2f}" for v in values) if values else "-"


def read_breakdown(target: Target, results: list[CallResult]) -> list[dict[str, Any]]:
    if target.trace_path is None:
        return []
    return breakdown(results, read_trace(target.trace_path))


def count_decodes(target: Target) -> int | None:
    """Whisper runs during the run, including speculative ones no turn used."""
    if target.trace_path is None:
        return None
    return sum(1 for record in read_trace(target.trace_path) if record.get("decode"))

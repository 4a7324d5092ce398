"""``voiceagent bench soak``: many calls for many minutes; does anything leak, fail or get lost?

The load is the latency benchmark's (same scenarios, same separate server process, calls
kept in flight for the whole run). On top of it the server's RSS is sampled every few
seconds, and afterwards the run is judged:

* every call completed its scenario (the client saw no error, the stored outcome is the
  one the scenario expects);
* the database holds exactly one closed call record (end time and outcome) per call
  placed, and no other;
* the audit chain verifies;
* the server logged no errors;
* memory is flat after warm-up: the median RSS over the last fifth of the loaded window is
  within the tolerance of the median over its first fifth after warm-up (both windows have
  every caller on the line, so load does not masquerade as a leak).

Why the warm-up is long (half the run by default): the server's RSS climbs in steps for the
first few minutes and then stays put. The steps are the high-water marks of onnxruntime
(Piper) and CTranslate2 (Whisper) buffers: one long sentence synthesized adds ~170 MiB, two
at once on the two speech workers ~170 MiB more, and freed buffers stay with the process
(turning onnxruntime's arena off or capping glibc's arenas did not change it). At 20 calls
the plateau came after 4-5 minutes and held for the rest of a 10-minute run; a leak shows
as growth that goes on in the second half.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from voiceagent.bench.client import CallResult
from voiceagent.bench.latency import LoadRun
from voiceagent.bench.server import Target
from voiceagent.bench.stats import Summary, fmt


@dataclass(frozen=True)
class SoakLimits:
    warmup_s: float = 60.0  # the first calls fill caches and heaps: not a leak
    rss_tolerance_mib: float = 25.0
    rss_tolerance_share: float = 0.05  # of the early median; the larger tolerance applies


def memory_verdict(
    samples: list[tuple[float, float]], load_start: float, load_end: float, limits: SoakLimits
) -> dict[str, Any]:
    """RSS after warm-up, early vs late in the loaded window, per-minute medians and slope."""
    settled = [(t, mib) for t, mib in samples if load_start + limits.warmup_s <= t <= load_end]
    out: dict[str, Any] = {
        "samples": len(samples),
        "warmup_s": limits.warmup_s,
        "peak_mib": round(max((m for _, m in samples), default=0.0), 1),
        "per_minute_median_mib": _per_minute(samples, load_start),
    }
    if len(settled) < 10:
        out.update(flat=None, problem="too few samples after warm-up to judge memory")
        return out
    fifth = max(1, len(settled) // 5)
    early = statistics.median(m for _, m in settled[:fifth])
    late = statistics.median(m for _, m in settled[-fifth:])
    tolerance = max(limits.rss_tolerance_mib, early * limits.rss_tolerance_share)
    growth = late - early
    out.update(
        early_mib=round(early, 1),
        late_mib=round(late, 1),
        growth_mib=round(growth, 1),
        tolerance_mib=round(tolerance, 1),
        slope_mib_per_min=round(_slope(settled) * 60, 2),
        flat=growth <= tolerance,
    )
    return out


def _per_minute(samples: list[tuple[float, float]], start: float) -> list[float]:
    minutes: dict[int, list[float]] = {}
    for t, mib in samples:
        minutes.setdefault(int(max(0.0, t - start) // 60), []).append(mib)
    return [round(statistics.median(v), 1) for _, v in sorted(minutes.items())]


def _slope(points: list[tuple[float, float]]) -> float:
    """Least-squares MiB per second."""
    try:
        return statistics.linear_regression([t for t, _ in points], [m for _, m in points]).slope
    except statistics.StatisticsError:  # all samples at one instant
        return 0.0


def database_verdict(target: Target, results: list[CallResult]) -> dict[str, Any]:
    """One closed call record per call placed, nothing else; the audit chain verifies.

    Reads only non-PHI columns; nothing is decrypted."""
    from voiceagent.store import Database
    from voiceagent.store.audit import verify
    from voiceagent.store.models import Call

    assert target.settings is not None
    placed = [r.call_sid for r in results]
    db = Database.from_settings(target.settings)
    try:
        with db.session() as session:
            rows = session.execute(
                select(Call.call_sid, Call.ended_at, Call.outcome).where(Call.call_sid.in_(placed))
            ).all()
            total_rows = session.scalar(select(func.count()).select_from(Call)) or 0
        with db.session() as session:
            chain = verify(session)
    finally:
        db.dispose()
    per_sid: dict[str, int] = {}
    for row in rows:
        per_sid[row.call_sid] = per_sid.get(row.call_sid, 0) + 1
    return {
        "calls_placed": len(placed),
        "call_records": total_rows,
        "missing": sorted(set(placed) - set(per_sid)),
        "duplicated": sorted(sid for sid, n in per_sid.items() if n > 1),
        "left_open": sorted(r.call_sid for r in rows if r.ended_at is None or not r.outcome),
        "audit_entries": chain.entries,
        "audit_ok": chain.ok,
        "audit_problem": chain.problem,
    }


def log_errors(log_path: Path | None, limit: int = 20) -> list[str]:
    """The server's error lines (structlog's ``[error`` / JSON level, or a traceback)."""
    if log_path is None or not log_path.exists():
        return []
    found = []
    for line in log_path.read_text(encoding="utf-8", errors="replace").splitlines():
        if _is_error_line(line):
            found.append(line[:300])
    return found[:limit]


def _is_error_line(line: str) -> bool:
    if line.startswith("Traceback"):
        return True
    if line.startswith("{"):
        try:
            return json.loads(line).get("level") in ("error", "critical", "exception")
        except ValueError:
            return False
    return "[error" in line or "[critical" in line


def build_soak_report(
    run: LoadRun,
    memory: dict[str, Any],
    database: dict[str, Any],
    errors: list[str],
    config: dict[str, Any],
) -> dict[str, Any]:
    results = run.results
    failed = [r for r in results if not r.ok]
    gaps = Summary.of(t.response_gap_ms for r in results for t in r.turns)
    problems = [f"{r.scenario} {r.call_sid}: {r.error}" for r in failed]
    problems += [f"no call record for {sid}" for sid in database["missing"]]
    problems += [f"more than one call record for {sid}" for sid in database["duplicated"]]
    problems += [f"call record left open: {sid}" for sid in database["left_open"]]
    if database["call_records"] != database["calls_placed"]:
        problems.append(
            f"{database['call_records']} call records for {database['calls_placed']} calls placed"
        )
    if not database["audit_ok"]:
        problems.append(f"audit chain: {database['audit_problem']}")
    problems += [f"server log: {line}" for line in errors]
    if memory.get("flat") is False:
        problems.append(
            f"memory grew {memory['growth_mib']} MiB after warm-up "
            f"(tolerance {memory['tolerance_mib']} MiB)"
        )
    elif memory.get("flat") is None and "problem" in memory:
        problems.append(memory["problem"])
    late = sum(r.late_frames for r in results)
    frames = sum(r.frames_received for r in results)
    return {
        "benchmark": "soak",
        "config": config,
        "calls": {"total": len(results), "completed": len(results) - len(failed)},
        "response_gap_ms": gaps.as_dict(),
        "audio": {
            "frames_received": frames,
            "late_frames": late,
            "late_share": round(late / frames, 5) if frames else None,
        },
        "memory": memory,
        "database": database,
        "server_log_errors": errors,
        "resources": run.window.as_dict() if run.window else {},
        "problems": problems,
        "ok": not problems,
    }


def format_soak(report: dict[str, Any]) -> str:
    config, calls, mem, db = report["config"], report["calls"], report["memory"], report["database"]
    gap = report["response_gap_ms"]
    lines = [
        f"bench soak: {config['calls']} calls in flight for {config['minutes']:g} min "
        f"({config['cores']} cores)",
        f"calls: {calls['total']} placed, {calls['completed']} completed, "
        f"{calls['total'] - calls['completed']} failed",
        f"response gap: n={gap['n']} p50 {fmt(gap['p50'])} ms, p95 {fmt(gap['p95'])} ms, "
        f"max {fmt(gap['max'])} ms",
        f"late agent frames: {report['audio']['late_frames']} of "
        f"{report['audio']['frames_received']}",
        f"memory (server RSS): after warm-up {fmt(mem.get('early_mib'))} MiB, at the end "
        f"{fmt(mem.get('late_mib'))} MiB, growth {fmt(mem.get('growth_mib'))} MiB "
        f"(tolerance {fmt(mem.get('tolerance_mib'))}), slope "
        f"{fmt(mem.get('slope_mib_per_min'), 2)} MiB/min, peak {fmt(mem.get('peak_mib'))} MiB",
        "per-minute median MiB: " + " ".join(str(v) for v in mem["per_minute_median_mib"]),
        f"database: {db['call_records']} call records for {db['calls_placed']} calls, "
        f"{len(db['left_open'])} left open; audit chain "
        f"{'verifies' if db['audit_ok'] else 'BROKEN'} ({db['audit_entries']} entries)",
        f"server log errors: {len(report['server_log_errors'])}",
        "",
        "result: " + ("PASS" if report["ok"] else "FAIL"),
    ]
    lines += [f"  - {p}" for p in report["problems"]]
    return "\n".join(lines)

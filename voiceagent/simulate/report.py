"""Printing and saving what a simulated call measured."""

from __future__ import annotations

import statistics

from voiceagent.simulate.caller import CallReport


def summary_lines(report: CallReport) -> list[str]:
    lines = [f"call {report.call_sid}"]
    if report.greeting_ms is not None:
        lines.append(f"  start -> greeting's first audio: {report.greeting_ms} ms")
    for number, turn in enumerate(report.turns, 1):
        gap = f"{turn.response_gap_ms} ms" if turn.response_gap_ms is not None else "no answer"
        lines.append(f"  turn {number}: response gap {gap:>10}   <- {turn.caller_text!r}")
    gaps = [t.response_gap_ms for t in report.turns if t.response_gap_ms is not None]
    if gaps:
        lines.append(
            f"  response gap: median {statistics.median(gaps):.0f} ms, max {max(gaps)} ms "
            f"over {len(gaps)} turns"
        )
    for latency in report.barge_in_ms:
        lines.append(f"  barge-in: clear {latency} ms after the caller started talking")
    lines.append(
        f"  agent audio: {report.frames_received} frames, {report.late_frames} late; "
        f"clears: {len(report.clears)}"
    )
    return lines


def to_json(report: CallReport) -> dict[str, object]:
    return {
        "call_sid": report.call_sid,
        "greeting_ms": report.greeting_ms,
        "turns": [
            {"caller": t.caller_text, "response_gap_ms": t.response_gap_ms} for t in report.turns
        ],
        "barge_in_ms": report.barge_in_ms,
        "clears": len(report.clears),
        "frames_received": report.frames_received,
        "late_frames": report.late_frames,
        "agent_prompts": [p.text for p in report.prompts],
        "close_code": report.close_code,
    }

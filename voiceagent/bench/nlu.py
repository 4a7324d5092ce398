"""``voiceagent bench nlu``: the understanding layer's held-out benchmark
(:mod:`voiceagent.understanding.bench`) as JSON."""

from __future__ import annotations

from typing import Any

from voiceagent.understanding.bench import NluReport


def nlu_report(report: NluReport) -> dict[str, Any]:
    return {
        "benchmark": "nlu",
        "intent_accuracy": round(report.intent_accuracy, 4),
        "intent_total": report.intent_total,
        "out_of_scope_precision": round(report.oos_precision, 4),
        "out_of_scope_recall": round(report.oos_recall, 4),
        "intent_calibration_error": round(report.calibration_error, 4),
        "entity_accuracy": round(report.entity_accuracy, 4),
        "entity_by_kind": {
            kind: {"correct": correct, "total": total, "accuracy": round(correct / total, 4)}
            for kind, (correct, total) in sorted(report.entity_by_kind.items())
        },
        "train_seconds": round(report.train_seconds, 3),
        "classify_ms": round(report.classify_ms, 3),
        "intent_misses": [
            {"id": m.id, "expected": m.expected, "predicted": m.predicted}
            for m in report.intent_misses
        ],
        "entity_misses": [{"id": m.id, "kind": m.kind} for m in report.entity_misses],
    }

"""``voiceagent bench nlu``: intent and entity accuracy on the held-out phrasings.

The held-out file (``tests/nlu/heldout.yaml``) is written apart from the training
examples; this module only scores it. Items are reported by id so a regression can be
traced to one phrasing without printing any caller data beyond the test's own text.
"""

from __future__ import annotations

import time as clock
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from voiceagent.understanding import entities
from voiceagent.understanding.intents import OUT_OF_SCOPE, IntentClassifier
from voiceagent.understanding.training import load_training_set

RESOLVER_KINDS = ("medication", "provider", "appointment_type", "insurance_carrier", "pharmacy")


@dataclass(frozen=True)
class IntentMiss:
    id: str
    text: str
    expected: str
    predicted: str
    confidence: float


@dataclass(frozen=True)
class EntityMiss:
    id: str
    kind: str
    text: str
    expected: Any
    got: Any


@dataclass
class NluReport:
    intent_total: int = 0
    intent_correct: int = 0
    oos_true_positive: int = 0
    oos_predicted: int = 0
    oos_actual: int = 0
    entity_by_kind: dict[str, tuple[int, int]] = field(default_factory=dict)  # correct, total
    intent_misses: list[IntentMiss] = field(default_factory=list)
    entity_misses: list[EntityMiss] = field(default_factory=list)
    train_seconds: float = 0.0
    classify_ms: float = 0.0
    # (confidence of the top answer, whether that answer was right), for calibration.
    confidences: list[tuple[float, bool]] = field(default_factory=list)

    @property
    def calibration_error(self) -> float:
        """Expected calibration error over 5 confidence bins (0 = perfectly calibrated)."""
        if not self.confidences:
            return 0.0
        total = 0.0
        for low in (0.0, 0.2, 0.4, 0.6, 0.8):
            members = [
                (c, ok)
                for c, ok in self.confidences
                if low <= c < low + 0.2 or (c >= 1.0 and low == 0.8)
            ]
            if members:
                mean_conf = sum(c for c, _ in members) / len(members)
                accuracy = sum(ok for _, ok in members) / len(members)
                total += len(members) * abs(mean_conf - accuracy)
        return total / len(self.confidences)

    @property
    def intent_accuracy(self) -> float:
        return self.intent_correct / self.intent_total if self.intent_total else 0.0

    @property
    def oos_precision(self) -> float:
        return self.oos_true_positive / self.oos_predicted if self.oos_predicted else 1.0

    @property
    def oos_recall(self) -> float:
        return self.oos_true_positive / self.oos_actual if self.oos_actual else 1.0

    @property
    def entity_correct(self) -> int:
        return sum(c for c, _ in self.entity_by_kind.values())

    @property
    def entity_total(self) -> int:
        return sum(t for _, t in self.entity_by_kind.values())

    @property
    def entity_accuracy(self) -> float:
        return self.entity_correct / self.entity_total if self.entity_total else 0.0


# --- turning results into plain values the YAML can state ---------------------------------


def _plain_time_preference(p: entities.TimePreference | None) -> dict[str, Any] | None:
    if p is None:
        return None
    out: dict[str, Any] = {}
    if p.earliest:
        out["earliest"] = p.earliest.isoformat()
    if p.latest:
        out["latest"] = p.latest.isoformat()
    if p.weekdays:
        out["weekdays"] = p.weekday_names()
    for key in ("time_from", "time_to", "at"):
        value = getattr(p, key)
        if value is not None:
            out[key] = value.strftime("%H:%M")
    if p.asap:
        out["asap"] = True
    return out


def _plain_expected_time_preference(expected: Any) -> Any:
    if expected is None:
        return None
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in expected.items()}


def _plain_yes_no(r: entities.YesNo | None) -> Any:
    return None if r is None else {"answer": r.answer, "correction": r.correction}


def _plain_name(r: entities.PersonName | None) -> Any:
    return None if r is None else {"first": r.first, "last": r.last}


def _option(value: Any, tz: ZoneInfo) -> entities.Option:
    """ISO strings in the file stand for offered slots (clinic local time)."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=tz)
    text = str(value)
    if len(text) >= 16 and text[:4].isdigit() and text[4] == "-" and "T" in text:
        return datetime.fromisoformat(text).replace(tzinfo=tz)
    return text


Scorer = Callable[[dict[str, Any]], tuple[Any, Any]]


def _scorers(now: datetime, catalog: dict[str, Any]) -> dict[str, Scorer]:
    tz = now.tzinfo if isinstance(now.tzinfo, ZoneInfo) else ZoneInfo("UTC")

    def resolver(kind: str) -> Scorer:
        def score(case: dict[str, Any]) -> tuple[Any, Any]:
            spec = catalog.get(kind, {})
            candidates = case.get("candidates", spec.get("candidates", []))
            aliases = case.get("aliases", spec.get("aliases"))
            match = entities.resolve(case["text"], candidates, aliases)
            return (match.value if match else None), case["expected"]

        return score

    scorers: dict[str, Scorer] = {
        "yes_no": lambda c: (
            _plain_yes_no(entities.parse_yes_no(c["text"])),
            None if c["expected"] is None else {"correction": None, **c["expected"]},
        ),
        "time_preference": lambda c: (
            _plain_time_preference(entities.parse_time_preference(c["text"], now, tz)),
            _plain_expected_time_preference(c["expected"]),
        ),
        "date_of_birth": lambda c: (
            entities.parse_date_of_birth(c["text"], now.date()),
            c["expected"],
        ),
        "digits": lambda c: (entities.parse_digits(c["text"]), c["expected"]),
        "phone": lambda c: (entities.parse_phone(c["text"]), c["expected"]),
        "member_id": lambda c: (entities.parse_member_id(c["text"]), c["expected"]),
        "person_name": lambda c: (
            _plain_name(entities.parse_person_name(c["text"])),
            c["expected"],
        ),
        "choice": lambda c: (
            entities.parse_choice(c["text"], [_option(o, tz) for o in c["options"]]),
            c["expected"],
        ),
    }
    for kind in RESOLVER_KINDS:
        scorers[kind] = resolver(kind)
    return scorers


def load_heldout(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    for key in ("now", "timezone", "intents", "entities"):
        if key not in data:
            raise ValueError(f"{path}: missing '{key}'")
    return data


def heldout_now(data: dict[str, Any]) -> datetime:
    now = data["now"]
    now = now if isinstance(now, datetime) else datetime.fromisoformat(str(now))
    return now.replace(tzinfo=ZoneInfo(data["timezone"])) if now.tzinfo is None else now


def run_nlu_bench(dialogs_dir: Path, heldout_path: Path) -> NluReport:
    data = load_heldout(heldout_path)
    report = NluReport()
    started = clock.perf_counter()
    classifier = IntentClassifier.train(load_training_set(dialogs_dir))
    report.train_seconds = clock.perf_counter() - started

    started = clock.perf_counter()
    for case in data["intents"]:
        expected = case["intent"] or OUT_OF_SCOPE
        result = classifier.classify(case["text"])
        predicted = result.intent or OUT_OF_SCOPE
        report.intent_total += 1
        report.oos_actual += expected == OUT_OF_SCOPE
        report.oos_predicted += predicted == OUT_OF_SCOPE
        report.oos_true_positive += expected == predicted == OUT_OF_SCOPE
        top, top_confidence = result.ranking[0]
        report.confidences.append((top_confidence, top == expected))
        if predicted == expected:
            report.intent_correct += 1
        else:
            report.intent_misses.append(
                IntentMiss(case["id"], case["text"], expected, predicted, result.confidence)
            )
    if report.intent_total:
        report.classify_ms = (clock.perf_counter() - started) * 1000 / report.intent_total

    scorers = _scorers(heldout_now(data), data.get("catalog", {}))
    for case in data["entities"]:
        kind = case["kind"]
        got, expected = scorers[kind](case)
        correct, total = report.entity_by_kind.get(kind, (0, 0))
        ok = got == expected
        report.entity_by_kind[kind] = (correct + ok, total + 1)
        if not ok:
            report.entity_misses.append(EntityMiss(case["id"], kind, case["text"], expected, got))
    return report


def format_report(report: NluReport) -> str:
    lines = [
        "NLU held-out benchmark",
        "",
        f"{'metric':<28}{'value':>10}{'n':>8}",
        f"{'intent accuracy':<28}{report.intent_accuracy:>10.3f}{report.intent_total:>8}",
        f"{'out-of-scope precision':<28}{report.oos_precision:>10.3f}{report.oos_predicted:>8}",
        f"{'out-of-scope recall':<28}{report.oos_recall:>10.3f}{report.oos_actual:>8}",
        f"{'intent calibration error':<28}{report.calibration_error:>10.3f}"
        f"{report.intent_total:>8}",
    ]
    for kind in sorted(report.entity_by_kind):
        correct, total = report.entity_by_kind[kind]
        lines.append(f"{'entity ' + kind:<28}{correct / total:>10.3f}{total:>8}")
    lines += [
        f"{'entity accuracy (overall)':<28}{report.entity_accuracy:>10.3f}{report.entity_total:>8}",
        "",
        f"training: {report.train_seconds:.2f} s; classify: {report.classify_ms:.2f} ms/utterance",
    ]
    if report.intent_misses:
        lines += ["", "misclassified intents (id: expected -> predicted @ confidence):"]
        lines += [
            f"  {m.id}: {m.expected} -> {m.predicted} @ {m.confidence:.2f}  {m.text!r}"
            for m in report.intent_misses
        ]
    if report.entity_misses:
        lines += ["", "entity misses (id kind: expected / got):"]
        lines += [
            f"  {m.id} {m.kind}: {m.expected!r} / {m.got!r}  {m.text!r}"
            for m in report.entity_misses
        ]
    return "\n".join(lines)


def main() -> None:
    """Run on the repository's dialogs and held-out set (until the CLI wires ``bench nlu``)."""
    root = Path(__file__).resolve().parents[2]
    print(format_report(run_nlu_bench(root / "dialogs", root / "tests" / "nlu" / "heldout.yaml")))


if __name__ == "__main__":
    main()

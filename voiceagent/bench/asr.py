"""``voiceagent bench asr``: what Whisper hears on the phone, and whether the answer survives.

Each utterance of the set (``dialogs/scenarios/bench/asr/utterances.yaml``) is synthesized
by the Piper voice (deterministically: no generator or duration noise), padded like the
endpointer cuts it (300 ms before, 200 ms after), optionally mixed with background noise or
spoken faster or slower, sent through a G.711 mu-law round trip, and transcribed twice:
without hotwords and with the biasing words the dialog would pass for that question
(``hotwords_for(kind, candidates)``, as ``voiceagent.dialog.slots.expectation`` does).

Scores per condition:

* word error rate against the line itself, on the product's normalised text
  (:func:`voiceagent.understanding.text.normalize`: lower case, no punctuation, spoken
  numbers as digits), numbers compared digit by digit and ordinal suffixes dropped, so
  "March 3rd, 1982" and "March third, nineteen eighty-two" are the same words;
* entity accuracy: the parser the dialog uses gets the right value from the transcript
  (names: accepted by identity matching, score >= 80 as in ``verify_identity``; and the
  exact spelling separately).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import numpy as np
import yaml
from rapidfuzz.distance import Levenshtein

from voiceagent.bench.stats import fmt, table
from voiceagent.config import Settings
from voiceagent.simulate import sounds
from voiceagent.speech.codec import ulaw_decode, ulaw_encode

UTTERANCES = (
    Path(__file__).resolve().parents[2]
    / "dialogs"
    / "scenarios"
    / "bench"
    / "asr"
    / ("utterances.yaml")
)
TODAY = date(2026, 11, 23)  # dates of birth are read relative to this day
PRE_ROLL_MS = 300
TAIL_MS = 200
MIN_NAME_SCORE = 80.0  # voiceagent.dialog.actions.identity


@dataclass(frozen=True)
class Utterance:
    id: str
    kind: str
    say: str
    expect: Any
    candidates: tuple[str, ...] = ()


@dataclass(frozen=True)
class Condition:
    name: str
    snr_db: float | None = None
    speed: float = 1.0


CONDITIONS = (
    Condition("clean"),
    Condition("noise 20 dB SNR", snr_db=20.0),
    Condition("noise 10 dB SNR", snr_db=10.0),
    Condition("speed 0.85", speed=0.85),
    Condition("speed 1.15", speed=1.15),
)


def load_utterances(path: Path) -> list[Utterance]:
    items = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [
        Utterance(
            id=str(i["id"]),
            kind=str(i["kind"]),
            say=str(i["say"]),
            expect=i["expect"],
            candidates=tuple(i.get("candidates") or ()),
        )
        for i in items
    ]


# --- scoring ---------------------------------------------------------------------------------
def wer_tokens(text: str) -> list[str]:
    from voiceagent.understanding.text import normalize

    out: list[str] = []
    for token in normalize(text).split():
        digits = token.rstrip("stndrh") if token[:1].isdigit() else token
        out.extend(list(digits) if digits.isdigit() else [token])
    return out


def word_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(edits, reference words)."""
    ref, hyp = wer_tokens(reference), wer_tokens(hypothesis)
    return Levenshtein.distance(ref, hyp), len(ref)


def entity_scores(item: Utterance, text: str, nlu: Any) -> dict[str, bool]:
    """{kind: recovered?}; names give two scores (accepted by matching, exact spelling)."""
    kind = item.kind
    if kind == "person_name":
        from voiceagent.store.repos.patients import name_score

        heard = nlu.person_name(text)
        first, last = item.expect["first"], item.expect["last"]
        if heard is None:
            return {"person_name": False, "person_name_exact": False}
        record = cast(Any, SimpleNamespace(first_name=first, last_name=last))
        exact = (heard.first or "").lower() == first.lower() and (
            heard.last or ""
        ).lower() == last.lower()
        accepted = name_score(heard.first, heard.last, record) >= MIN_NAME_SCORE
        return {"person_name": accepted, "person_name_exact": exact}
    if kind == "date_of_birth":
        expected = item.expect if isinstance(item.expect, date) else date.fromisoformat(item.expect)
        return {kind: nlu.date_of_birth(text, today=TODAY) == expected}
    if kind == "medication":
        match = nlu.resolve(text, list(item.candidates))
        return {kind: match is not None and match.value == item.expect}
    if kind == "phone":
        return {kind: nlu.phone(text) == item.expect}
    if kind == "digits":
        return {kind: nlu.digits(text) == str(item.expect)}
    raise ValueError(f"unknown kind {kind!r} in {item.id}")


def hotwords(item: Utterance, nlu: Any) -> list[str]:
    return list(nlu.hotwords_for(item.kind, item.candidates))


# --- audio -----------------------------------------------------------------------------------
def telephone_audio(
    speech: np.ndarray, condition: Condition, rng: np.random.Generator
) -> np.ndarray:
    """Pad as the endpointer cuts, add noise at the condition's SNR, mu-law round trip."""
    pcm = speech.astype(np.float32)
    pad_before = np.zeros(sounds.RATE * PRE_ROLL_MS // 1000, dtype=np.float32)
    pad_after = np.zeros(sounds.RATE * TAIL_MS // 1000, dtype=np.float32)
    padded = np.concatenate([pad_before, pcm, pad_after])
    if condition.snr_db is not None:
        frames = sounds.to_frames(pcm)
        voiced = [f for f, v in zip(frames, sounds.voiced_flags(frames), strict=True) if v]
        level = np.sqrt(np.mean(np.concatenate(voiced).astype(np.float64) ** 2)) if voiced else 0
        noise_rms = level / 10 ** (condition.snr_db / 20)
        noise_dbfs = 20 * np.log10(max(noise_rms, 1e-3) / 32768.0)
        padded = padded + sounds.background_noise(len(padded), float(noise_dbfs), rng)
    clipped = np.clip(np.round(padded), -32768, 32767).astype(np.int16)
    return ulaw_decode(ulaw_encode(clipped))


# --- the run ---------------------------------------------------------------------------------
def run_asr_bench(
    settings: Settings,
    items: list[Utterance],
    conditions: tuple[Condition, ...] = CONDITIONS,
    progress: Callable[[str], None] = print,
) -> dict[str, Any]:
    from voiceagent.runtime import SpeechServices
    from voiceagent.speech.tts import SpeechSynthesizer
    from voiceagent.understanding.nlu import get_understanding

    synth = SpeechSynthesizer(
        settings.tts_voice_path, settings.tts_config_path, noise_scale=0.0, noise_w_scale=0.0
    )
    # The recognizer exactly as the server builds it (model, threads, beam, window).
    services = SpeechServices.load(settings)
    services.close()
    recognizer = services.recognizer
    nlu = get_understanding(settings.dialogs_dir)
    started = time.perf_counter()
    rows: list[dict[str, Any]] = []
    for condition in conditions:
        for index, item in enumerate(items):
            rng = np.random.default_rng(1000 + index)
            speech = sounds.speech(synth, item.say, condition.speed)
            audio = telephone_audio(speech, condition, rng)
            for biased in (False, True):
                words = hotwords(item, nlu) if biased else []
                transcript = recognizer.transcribe(audio, 8000, words)
                edits, length = word_errors(item.say, transcript.text)
                rows.append(
                    {
                        "condition": condition.name,
                        "biased": biased,
                        "id": item.id,
                        "kind": item.kind,
                        "hotwords": len(words),
                        "edits": edits,
                        "words": length,
                        "entities": entity_scores(item, transcript.text, nlu),
                        "asr_ms": transcript.elapsed_ms,
                        "audio_ms": transcript.audio_ms,
                        "confidence": round(transcript.confidence, 3),
                        "transcript": transcript.text,
                    }
                )
        progress(f"{condition.name}: done ({time.perf_counter() - started:.0f} s)")
    return summarize(rows, items, conditions)


def summarize(
    rows: list[dict[str, Any]], items: list[Utterance], conditions: tuple[Condition, ...]
) -> dict[str, Any]:
    kinds = sorted({k for row in rows for k in row["entities"]})
    table_rows: list[dict[str, Any]] = []
    for condition in conditions:
        for biased in (False, True):
            chosen = [r for r in rows if r["condition"] == condition.name and r["biased"] is biased]
            if not chosen:
                continue
            edits = sum(r["edits"] for r in chosen)
            words = sum(r["words"] for r in chosen)
            by_kind: dict[str, float | None] = {}
            for kind in kinds:
                scores = [r["entities"][kind] for r in chosen if kind in r["entities"]]
                by_kind[kind] = round(sum(scores) / len(scores), 3) if scores else None
            main = [v for r in chosen for k, v in r["entities"].items() if k != "person_name_exact"]
            table_rows.append(
                {
                    "condition": condition.name,
                    "biased": biased,
                    "utterances": len(chosen),
                    "wer": round(edits / words, 4) if words else None,
                    "entity_accuracy": round(sum(main) / len(main), 3) if main else None,
                    "entity_by_kind": by_kind,
                    "asr_ms_median": statistics.median(r["asr_ms"] for r in chosen),
                }
            )
    return {
        "benchmark": "asr",
        "utterances": len(items),
        "conditions": [c.name for c in conditions],
        "today": TODAY.isoformat(),
        "table": table_rows,
        "items": rows,
    }


def format_asr(report: dict[str, Any]) -> str:
    kinds = sorted({k for row in report["table"] for k in row["entity_by_kind"]})
    short = {
        "person_name": "name",
        "person_name_exact": "name exact",
        "date_of_birth": "dob",
        "medication": "medication",
        "phone": "phone",
        "digits": "digits",
    }
    headers = ["condition", "bias", "WER %", "entities %", *(short.get(k, k) for k in kinds)]
    headers.append("ASR ms")
    rows = []
    for row in report["table"]:
        rows.append(
            [
                row["condition"],
                "yes" if row["biased"] else "no",
                fmt(row["wer"] * 100 if row["wer"] is not None else None, 1),
                fmt(row["entity_accuracy"] * 100 if row["entity_accuracy"] is not None else None),
                *(
                    fmt(v * 100 if v is not None else None)
                    for v in (row["entity_by_kind"][k] for k in kinds)
                ),
                fmt(row["asr_ms_median"]),
            ]
        )
    lines = [
        f"bench asr: {report['utterances']} utterances x {len(report['conditions'])} conditions,"
        " 8 kHz mu-law, without and with the dialog's hotwords",
        "",
        table(headers, rows),
    ]
    misses = [
        r
        for r in report["items"]
        if r["condition"] == "clean" and not all(v for k, v in r["entities"].items())
    ]
    if misses:
        lines += ["", "clean-condition entity misses (id, bias: transcript):"]
        lines += [
            f"  {r['id']}, {'bias' if r['biased'] else 'no bias'}: {r['transcript']!r}"
            for r in misses
        ]
    return "\n".join(lines)

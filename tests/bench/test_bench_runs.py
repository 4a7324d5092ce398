"""The benchmark machinery end to end on small inputs: a short call through the real server
(in this process), the ASR bench on three utterances, the NLU bench through the CLI. No
timing is asserted; the numbers only have to be there."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from tests.conftest import sandbox_settings_for
from tests.fakes.twilio_api import FakeTwilioApi
from voiceagent.bench.asr import UTTERANCES, Condition, load_utterances, run_asr_bench
from voiceagent.bench.latency import (
    LoadConfig,
    build_report,
    count_decodes,
    format_report,
    judge,
    prepare_voice,
    read_breakdown,
    run_load,
    verify_outcomes,
)
from voiceagent.bench.scenarios import BenchScenario, ScenarioMix
from voiceagent.bench.server import in_process_target
from voiceagent.bench.voice import CallerVoice
from voiceagent.cli import app
from voiceagent.runtime import SpeechServices

SHORT_CALL = """
name: fax-with-barge-in
caller: {from: "+15557779999"}
expect: {intent: clinic_fax}
steps:
  - listen
  - say: Can you tell me a joke?
  - barge_in: Sorry, what's your fax number?
    after: 1.0
  - listen
  - say: No thanks, bye.
  - listen
"""


@pytest.mark.audio
def test_one_call_latency_run_reports_every_measure(
    speech_services: SpeechServices, twilio_api: FakeTwilioApi, tmp_path: Path
) -> None:
    scenario = BenchScenario.model_validate(yaml.safe_load(SHORT_CALL))
    mix = ScenarioMix([scenario], days=[])
    voice = CallerVoice(speech_services.synthesizer)
    assert prepare_voice(voice, mix.variants()) == 3
    config = LoadConfig(calls=1, duration_s=1.0, ramp_s=0.0)
    with in_process_target(
        sandbox_settings_for(twilio_api), tmp_path, speech=speech_services
    ) as target:
        run = run_load(target, mix, voice, config)
        verify_outcomes(target, run.results)
        judge(run.results, {scenario.name: scenario})
        rows = read_breakdown(target, run.results)
        report = build_report(target, config, run, rows, [scenario.name], count_decodes(target))

    (result,) = run.results
    assert result.error is None, result.error
    assert result.intent == "clinic_fax" and result.outcome_ok
    assert report["calls"] == {**report["calls"], "total": 1, "completed": 1, "failed": 0}
    summary = report["summary"]
    assert summary["response_gap_ms"]["n"] == 3  # the question, the barge-in, the goodbye
    assert summary["barge_in_ms"]["n"] == 1
    assert summary["greeting_ms"]["n"] == 1
    assert summary["processing_ms"]["n"] >= 1
    assert report["calls"]["asr_decodes"] >= 3  # one per answered turn, more if speculative
    assert report["audio"]["frames_received"] > 0
    assert report["audio"]["false_barge_ins"] == 0
    assert report["machine"]["cores"] >= 1
    assert report["server_metrics"]["response_gap"]["count"] >= 2
    assert {"to_asr", "asr", "dialog", "tts_first_audio"} <= set(report["gap_breakdown_ms"])
    assert all(row["asr"] > 0 for row in rows)
    text = format_report(report)
    assert "response gap (client)" in text and "where the response gap goes" in text
    json.dumps(report)  # everything in it can be saved


@pytest.mark.audio
def test_asr_bench_scores_three_utterances(tmp_path: Path) -> None:
    from tests.conftest import isolated_settings

    every = load_utterances(UTTERANCES)
    items = [
        next(u for u in every if u.kind == k) for k in ("medication", "date_of_birth", "phone")
    ]
    conditions = (Condition("clean"), Condition("noise 10 dB SNR", snr_db=10.0))
    report = run_asr_bench(isolated_settings(), items, conditions, progress=lambda _: None)
    assert len(report["items"]) == 3 * 2 * 2
    assert [(r["condition"], r["biased"]) for r in report["table"]] == [
        ("clean", False),
        ("clean", True),
        ("noise 10 dB SNR", False),
        ("noise 10 dB SNR", True),
    ]
    for row in report["table"]:
        assert 0 <= row["wer"] <= 3
        assert set(row["entity_by_kind"]) == {"medication", "date_of_birth", "phone"}
    biased = [r for r in report["items"] if r["biased"]]
    assert all(r["hotwords"] > 0 for r in biased)  # the dialog's words reached Whisper


def test_nlu_bench_runs_from_the_cli(tmp_path: Path) -> None:
    out = tmp_path / "nlu.json"
    result = CliRunner().invoke(app, ["bench", "nlu", "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "intent accuracy" in result.output
    data = json.loads(out.read_text())
    assert data["benchmark"] == "nlu"
    assert 0 < data["intent_accuracy"] <= 1
    assert data["intent_total"] > 0

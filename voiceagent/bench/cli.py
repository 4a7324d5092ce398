"""``voiceagent bench ...``: each command prints a table and writes JSON (``--json PATH``,
by default ``bench-results/<name>-<time>.json``)."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from voiceagent.config import get_settings

bench_app = typer.Typer(help="Benchmarks: latency under load, soak, start-up, ASR, NLU.")

RESULTS_DIR = Path("bench-results")
REPO_ROOT = Path(__file__).resolve().parents[2]

JsonOption = Annotated[
    Path | None,
    typer.Option("--json", help="Where to write the JSON (default: bench-results/...)."),
]

ScenarioOption = Annotated[
    list[str] | None, typer.Option(help="Only these scenarios (by name); repeatable.")
]
ScenariosDirOption = Annotated[
    Path | None, typer.Option(help="Scenario files (default dialogs/scenarios/bench).")
]
WorkdirOption = Annotated[
    Path | None, typer.Option(help="Keep the server's database, log and trace here.")
]


def write_json(report: dict[str, Any], path: Path | None, name: str) -> Path:
    if path is None:
        path = RESULTS_DIR / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
    return path


def _progress(message: str) -> None:
    typer.echo(message, err=True)


def _load_scenarios(directory: Path | None, names: list[str] | None) -> list[Any]:
    from voiceagent.bench.scenarios import SCENARIO_DIR, ScenarioError, load_scenarios

    try:
        return load_scenarios(directory or SCENARIO_DIR, names or ())
    except ScenarioError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


def _caller_side(settings: Any, target: Any, scenarios: list[Any]) -> tuple[Any, Any]:
    """The scenario mix for the target's clinic clock, and every caller line synthesized."""
    from voiceagent.bench.latency import prepare_voice
    from voiceagent.bench.scenarios import ScenarioMix, appointment_days, clinic_holidays
    from voiceagent.bench.voice import CallerVoice
    from voiceagent.speech.tts import SpeechSynthesizer

    days = appointment_days(target.now, clinic_holidays(settings.clinic_file))
    mix = ScenarioMix(scenarios, days)
    started = time.perf_counter()
    # Piper's noise off: the same caller audio on every run, so runs compare. With it on,
    # one rendition in twelve of "Lisinopril." came out as "Listen up, Ro." even with the
    # hotword, and a run that drew it failed every refill call.
    synthesizer = SpeechSynthesizer(
        settings.tts_voice_path, settings.tts_config_path, noise_scale=0.0, noise_w_scale=0.0
    )
    voice = CallerVoice(synthesizer)
    lines = prepare_voice(voice, mix.variants())
    _progress(f"prepared {lines} caller lines in {time.perf_counter() - started:.1f} s")
    return mix, voice


def _call_progress() -> Callable[[Any], None]:
    done = 0

    def on_call(result: Any) -> None:
        nonlocal done
        done += 1
        status = "ok" if result.error is None else f"FAILED ({result.error})"
        _progress(f"call {done}: {result.scenario} {status}")

    return on_call


@bench_app.command()
def latency(
    calls: Annotated[int, typer.Option(min=1, help="Simultaneous calls kept in flight.")] = 1,
    duration: Annotated[
        float, typer.Option(min=1, help="Seconds during which new calls are started.")
    ] = 120.0,
    url: Annotated[
        str | None, typer.Option(help="Call a server already running here instead.")
    ] = None,
    in_process: Annotated[
        bool,
        typer.Option("--in-process", help="Run the server in this process (CPU is then shared)."),
    ] = False,
    scenario: ScenarioOption = None,
    scenarios_dir: ScenariosDirOption = None,
    ramp: Annotated[float, typer.Option(help="Seconds over which the first calls start.")] = 10.0,
    quiet: Annotated[
        float, typer.Option(help="Agent silence after a mark that ends its turn (s).")
    ] = 0.6,
    now: Annotated[
        datetime | None,
        typer.Option(help="Clinic clock (ISO, with offset); default a pinned Monday 10:00."),
    ] = None,
    workdir: WorkdirOption = None,
    json_out: JsonOption = None,
) -> None:
    """N simultaneous scripted callers through the real server, at real-time pace."""
    from voiceagent.bench import server as servers
    from voiceagent.bench.latency import (
        LoadConfig,
        build_report,
        count_decodes,
        format_report,
        judge,
        read_breakdown,
        run_load,
        verify_outcomes,
    )

    settings = get_settings()
    scenarios = _load_scenarios(scenarios_dir, scenario)
    clinic_now = now or (None if url else servers.PINNED_NOW)
    config = LoadConfig(calls=calls, duration_s=duration, ramp_s=ramp, quiet_s=quiet)

    def run(target: servers.Target) -> dict[str, Any]:
        mix, voice = _caller_side(settings, target, scenarios)
        _progress(f"running {calls} call(s) for {duration:.0f} s against {target.call.url}")
        load = run_load(target, mix, voice, config, _call_progress())
        verify_outcomes(target, load.results)
        judge(load.results, {s.name: s for s in scenarios})
        rows = read_breakdown(target, load.results)
        names = [s.name for s in scenarios]
        return build_report(target, config, load, rows, names, count_decodes(target))

    if url is not None:
        with servers.external_target(url, settings, clinic_now) as target:
            report = run(target)
    else:
        assert clinic_now is not None
        with servers.scratch_dir(workdir) as scratch:
            if in_process:
                context = servers.in_process_target(settings, scratch, clinic_now)
            else:
                _progress("starting the server (separate process) ...")
                context = servers.process_target(settings, scratch, clinic_now)
            with context as target:
                report = run(target)
    typer.echo(format_report(report))
    path = write_json(report, json_out, f"latency-{calls}calls")
    typer.echo(f"\nJSON: {path}")
    if report["calls"]["failed"]:
        raise typer.Exit(1)


@bench_app.command()
def soak(
    calls: Annotated[int, typer.Option(min=1, help="Simultaneous calls kept in flight.")] = 20,
    minutes: Annotated[float, typer.Option(min=0.5, help="Minutes of load.")] = 10.0,
    warmup: Annotated[
        float | None,
        typer.Option(min=0, help="Seconds of load before memory must stay flat (default: half)."),
    ] = None,
    tolerance_mib: Annotated[
        float, typer.Option(min=0, help="RSS growth allowed after warm-up (or 5%, if more).")
    ] = 25.0,
    scenario: ScenarioOption = None,
    scenarios_dir: ScenariosDirOption = None,
    workdir: WorkdirOption = None,
    json_out: JsonOption = None,
) -> None:
    """Calls kept in flight for minutes: memory flat, no errors, every call recorded, audit ok."""
    from voiceagent.bench import server as servers
    from voiceagent.bench.latency import LoadConfig, judge, run_load, verify_outcomes
    from voiceagent.bench.soak import (
        SoakLimits,
        build_soak_report,
        database_verdict,
        format_soak,
        log_errors,
        memory_verdict,
    )

    settings = get_settings()
    scenarios = _load_scenarios(scenarios_dir, scenario)
    if warmup is None:
        warmup = minutes * 30  # the allocators' high-water mark settles in minutes, see soak.py
    config = LoadConfig(calls=calls, duration_s=minutes * 60, ramp_s=min(10.0, warmup / 2))
    limits = SoakLimits(warmup_s=warmup, rss_tolerance_mib=tolerance_mib)
    with servers.scratch_dir(workdir) as scratch:
        _progress("starting the server (separate process) ...")
        with servers.process_target(settings, scratch, trace=False) as target:
            mix, voice = _caller_side(settings, target, scenarios)
            _progress(f"soaking: {calls} call(s) for {minutes:g} min against {target.call.url}")
            load = run_load(target, mix, voice, config, _call_progress())
            verify_outcomes(target, load.results)
            judge(load.results, {s.name: s for s in scenarios})
            load_end = load.started_at + config.duration_s
            memory = memory_verdict(load.rss_samples, load.started_at, load_end, limits)
            database = database_verdict(target, load.results)
            errors = log_errors(target.log_path)
    run_config = {"calls": calls, "minutes": minutes, "cores": os.cpu_count(), "warmup_s": warmup}
    report = build_soak_report(load, memory, database, errors, run_config)
    typer.echo(format_soak(report))
    typer.echo(f"\nJSON: {write_json(report, json_out, f'soak-{calls}calls')}")
    if not report["ok"]:
        raise typer.Exit(1)


@bench_app.command()
def startup(
    runs: Annotated[int, typer.Option(min=1, help="Launches to time.")] = 3,
    json_out: JsonOption = None,
) -> None:
    """Launch ``voiceagent serve`` to ``/healthz`` ok (models loaded, greeting cached), RSS."""
    from voiceagent.bench.startup import format_startup, run_startup

    report = run_startup(get_settings(), runs, progress=_progress)
    typer.echo(format_startup(report))
    typer.echo(f"\nJSON: {write_json(report, json_out, 'startup')}")


@bench_app.command()
def asr(
    utterances: Annotated[
        Path | None, typer.Option(help="Utterance set (default the bench's own).")
    ] = None,
    limit: Annotated[int | None, typer.Option(help="Only the first N utterances.")] = None,
    json_out: JsonOption = None,
) -> None:
    """Word error rate and entity accuracy on synthesized telephone utterances."""
    from voiceagent.bench.asr import UTTERANCES, format_asr, load_utterances, run_asr_bench

    items = load_utterances(utterances or UTTERANCES)
    if limit is not None:
        items = items[:limit]
    report = run_asr_bench(get_settings(), items, progress=_progress)
    typer.echo(format_asr(report))
    typer.echo(f"\nJSON: {write_json(report, json_out, 'asr')}")


@bench_app.command()
def nlu(
    dialogs_dir: Annotated[Path | None, typer.Option(help="Flows (default dialogs/).")] = None,
    heldout: Annotated[
        Path | None, typer.Option(help="Held-out set (default tests/nlu/heldout.yaml).")
    ] = None,
    json_out: JsonOption = None,
) -> None:
    """Intent and entity accuracy on the held-out phrasings."""
    from voiceagent.bench.nlu import nlu_report
    from voiceagent.understanding.bench import format_report, run_nlu_bench

    report = run_nlu_bench(
        dialogs_dir or get_settings().dialogs_dir,
        heldout or REPO_ROOT / "tests" / "nlu" / "heldout.yaml",
    )
    typer.echo(format_report(report))
    typer.echo(f"\nJSON: {write_json(nlu_report(report), json_out, 'nlu')}")


@bench_app.command("all")
def run_all(
    duration: Annotated[float, typer.Option(help="Seconds per latency run.")] = 120.0,
    calls: Annotated[
        list[int] | None, typer.Option(help="Latency runs at these call counts; repeatable.")
    ] = None,
) -> None:
    """startup, latency (1, 10 and 20 calls unless told), asr and nlu, one after another."""
    import subprocess

    base = [sys.executable, "-c", "from voiceagent.cli import main; main()", "bench"]
    head = [str(Path(sys.executable).with_name("voiceagent")), "bench"]
    command = head if Path(head[0]).exists() else base
    jobs = [["startup"]]
    jobs += [
        ["latency", "--calls", str(n), "--duration", str(duration)] for n in calls or [1, 10, 20]
    ]
    jobs += [["asr"], ["nlu"]]
    failed = 0
    for job in jobs:
        typer.echo(f"\n=== voiceagent bench {' '.join(job)}")
        failed += subprocess.call([*command, *job]) != 0  # noqa: S603 - our own CLI
    if failed:
        raise typer.Exit(1)

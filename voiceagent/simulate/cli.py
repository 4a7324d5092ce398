"""``voiceagent simulate SCENARIO.yaml``: a call without Twilio."""

from __future__ import annotations

import asyncio
import json
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from voiceagent.config import get_settings


def simulate(
    scenarios: Annotated[list[Path], typer.Argument(help="Scenario YAML files.", exists=True)],
    url: Annotated[
        str | None,
        typer.Option(help="A running server (e.g. http://127.0.0.1:8000); default: in process."),
    ] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the measurements here (JSON).")
    ] = None,
) -> None:
    """Call the agent as Twilio would: signed webhook, media websocket, real audio both ways.

    Prints both sides of the conversation and, per caller turn, the response gap (caller's
    last speech frame to the agent's first audio frame).
    """
    from voiceagent.runtime import SpeechServices
    from voiceagent.simulate.caller import ScenarioFailed, SimulatedCaller
    from voiceagent.simulate.report import summary_lines, to_json
    from voiceagent.simulate.scenario import ScenarioError, load_scenario

    try:
        loaded = [load_scenario(path) for path in scenarios]
    except ScenarioError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    settings = get_settings()
    speech = SpeechServices.load(settings)
    failures = 0
    results: list[dict[str, object]] = []

    def run_all(base_url: str, auth_token: str) -> None:
        nonlocal failures
        caller = SimulatedCaller(
            base_url,
            auth_token=auth_token,
            account_sid=settings.twilio_account_sid,
            speech=speech,
            echo=typer.echo,
        )
        for scenario in loaded:
            typer.echo(f"=== {scenario.name}")
            try:
                report = asyncio.run(caller.run(scenario))
            except ScenarioFailed as exc:
                failures += 1
                typer.echo(f"FAILED: {exc}", err=True)
                continue
            for line in summary_lines(report):
                typer.echo(line)
            results.append({"scenario": scenario.name, **to_json(report)})

    try:
        if url is not None:
            run_all(url, settings.twilio_auth_token_value)
        else:
            from voiceagent.simulate.sandbox import running_sandbox

            with (
                tempfile.TemporaryDirectory(prefix="voiceagent-sim-") as workdir,
                running_sandbox(settings, Path(workdir), speech) as sandbox,
            ):
                run_all(sandbox.url, sandbox.settings.twilio_auth_token_value)
    finally:
        speech.close()
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(results, indent=2))
    if failures:
        raise typer.Exit(1)

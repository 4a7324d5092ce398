"""``voiceagent flows ...``: check, list and roll back the dialogs files admins edit."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from voiceagent.config import get_settings

flows_app = typer.Typer(help="Dialog flows: validate, history, roll back.", no_args_is_help=True)


@flows_app.command("validate")
def validate(
    directory: Annotated[
        Path | None, typer.Argument(help="Dialogs directory (default VOICEAGENT_DIALOGS_DIR).")
    ] = None,
) -> None:
    """Check every flow, pattern and the policy; print each problem as file:line:column."""
    from voiceagent.dialog.actions import ACTIONS
    from voiceagent.dialog.loader import load_flows
    from voiceagent.dialog.versions import validate_dialogs

    directory = directory or get_settings().dialogs_dir
    problems = validate_dialogs(directory)
    for problem in problems:
        typer.echo(str(problem))
    if problems:
        typer.echo(f"{len(problems)} problem(s); nothing in {directory} was changed.", err=True)
        raise typer.Exit(1)
    flows = load_flows(directory, ACTIONS.names)
    typer.echo(
        f"ok: {len(flows.flows)} flows, {len(flows.patterns)} patterns and the policy "
        f"in {directory} are valid"
    )


@flows_app.command("history")
def show_history(
    name: Annotated[str | None, typer.Argument(help="e.g. flows/book_appointment.yaml")] = None,
    diff: Annotated[bool, typer.Option(help="Show what each version changed.")] = False,
) -> None:
    """Every stored version (who and when), oldest first."""
    from voiceagent.dialog.versions import describe, history
    from voiceagent.store import Database

    db = Database.from_settings(get_settings())
    for version, line in zip(versions := history(db, name), describe(versions), strict=True):
        typer.echo(line)
        if diff and version.diff:
            typer.echo(version.diff)


@flows_app.command("rollback")
def roll_back(
    name: Annotated[str, typer.Argument(help="e.g. flows/book_appointment.yaml")],
    version: Annotated[int, typer.Argument(help="The version to bring back.")],
    author: Annotated[str, typer.Option(help="Who is rolling back.")] = "cli",
) -> None:
    """Write an earlier version back (after validating it); the server picks it up."""
    from voiceagent.dialog.versions import rollback
    from voiceagent.store import Database

    settings = get_settings()
    problems = rollback(
        Database.from_settings(settings), settings.dialogs_dir, name, version, author
    )
    for problem in problems:
        typer.echo(str(problem), err=True)
    if problems:
        raise typer.Exit(1)
    typer.echo(f"{name} is back at version {version}'s text (recorded as a new version)")

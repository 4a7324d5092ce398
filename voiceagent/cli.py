"""The ``voiceagent`` command.

Each command group lives beside the code it drives (``voiceagent/<package>/cli.py``) and
is mounted here, so this file stays a table of contents.
"""

from __future__ import annotations

import typer

from voiceagent.bench import cli as bench_cli
from voiceagent.config import get_settings
from voiceagent.dialog import cli as dialog_cli
from voiceagent.logs import configure_logging
from voiceagent.simulate import cli as simulate_cli
from voiceagent.store import cli as store_cli
from voiceagent.web import cli as web_cli

app = typer.Typer(
    help="Clinic Voice Agent: an on-premises AI phone agent for medical front offices.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def _configure() -> None:
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)


@app.command()
def serve(
    host: str | None = typer.Option(None, help="Bind address (default VOICEAGENT_HOST)."),
    port: int | None = typer.Option(None, help="Port (default VOICEAGENT_PORT)."),
) -> None:
    """Start the server: Twilio webhooks, the media websocket, the staff dashboard and API."""
    from voiceagent.preflight import StartupError, preflight
    from voiceagent.web.server import serve as run_server

    settings = get_settings()
    try:
        preflight(settings)
    except StartupError as exc:
        typer.echo(f"voiceagent cannot start: {exc}", err=True)
        raise typer.Exit(2) from None
    run_server(settings, host=host or settings.host, port=port or settings.port)


app.command()(store_cli.migrate)
app.command()(store_cli.seed)
app.add_typer(store_cli.keys_app, name="keys")
app.add_typer(store_cli.audit_app, name="audit")
app.add_typer(store_cli.retention_app, name="retention")
app.command()(simulate_cli.simulate)
app.add_typer(dialog_cli.flows_app, name="flows")
app.add_typer(web_cli.staff_app, name="staff")
app.add_typer(bench_cli.bench_app, name="bench")


def main() -> None:
    app()

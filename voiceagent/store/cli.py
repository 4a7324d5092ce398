"""Store commands, mounted by ``voiceagent.cli``: migrate, seed, keys, audit, retention.

Errors the operator can act on (bad keyring, bad fixture, schema not migrated, broken audit
chain) print one clear message and exit non-zero, without a traceback.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from voiceagent.config import get_settings
from voiceagent.store.errors import StoreError

if TYPE_CHECKING:
    from voiceagent.store.db import Database


@contextmanager
def operator_errors() -> Iterator[None]:
    """A store error as one line on stderr and exit status 1, never a traceback."""
    try:
        yield
    except StoreError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


def open_database() -> Database:
    # Imported here so `voiceagent --help` does not load SQLAlchemy and the models.
    from voiceagent.store.db import Database

    return Database.from_settings(get_settings())


def _iso_day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        raise typer.BadParameter(
            "use an ISO date such as 2027-03-01", param_hint="--today"
        ) from None


# --- migrate / seed ------------------------------------------------------------------------


def migrate(
    revision: Annotated[
        str | None,
        typer.Option("--revision", "-r", help="Target (default: head; with --downgrade: -1)."),
    ] = None,
    downgrade: Annotated[
        bool, typer.Option("--downgrade", help="Downgrade to --revision (e.g. -1, base).")
    ] = False,
) -> None:
    """Bring the database schema to the latest (or a given) Alembic revision."""
    from voiceagent.store import migrate as migrations
    from voiceagent.store.db import create_store_engine

    with operator_errors():
        engine = create_store_engine(get_settings().database_url)
        try:
            if downgrade:
                migrations.downgrade(engine, revision or "-1")
            else:
                migrations.upgrade(engine, revision or "head")
            typer.echo(f"database at revision {migrations.current_revision(engine) or 'base'}")
        finally:
            engine.dispose()


def seed(
    file: Annotated[Path, typer.Argument(help="Clinic fixture YAML (docs/clinic-fixture.md).")],
    today: Annotated[
        str | None,
        typer.Option(
            help="Day relative dates count from (default: today, clinic time; the day of "
            "VOICEAGENT_DEV_CLOCK_START when that is set)."
        ),
    ] = None,
    strict: Annotated[
        bool, typer.Option(help="Treat unknown keys as errors, not warnings.")
    ] = False,
) -> None:
    """Validate a clinic fixture and load it; running it again changes nothing."""
    from voiceagent.store.seed import seed_file

    dev_start = get_settings().dev_clock_start
    day = _iso_day(today or (dev_start.strip()[:10] if dev_start else None))
    with operator_errors():
        db = open_database()
        started = time.perf_counter()
        report = seed_file(db, file, today=day, strict=strict)
        elapsed = time.perf_counter() - started
        for line in report.lines():
            typer.echo(line)
        typer.echo(
            f"seeded {file} in {elapsed:.2f} s ({'changed' if report.changed else 'no changes'})"
        )
        db.dispose()


# --- keys ----------------------------------------------------------------------------------

keys_app = typer.Typer(help="Encryption keys: generate, add, rotate, status.", no_args_is_help=True)


@keys_app.command("generate")
def keys_generate(
    out: Annotated[
        Path | None, typer.Option(help="Write here (mode 0600) instead of printing.")
    ] = None,
    dev: Annotated[
        bool, typer.Option("--dev", help="Mark as a development keyring (warns at start-up).")
    ] = False,
    if_missing: Annotated[
        bool, typer.Option("--if-missing", help="With --out: keep an existing file (idempotent).")
    ] = False,
) -> None:
    """Create a new keyring: one data key (active) and a blind-index key."""
    from voiceagent.store.keyring import generate_keyring, write_keyring

    with operator_errors():
        if out is not None and if_missing and out.exists():
            typer.echo(f"keyring {out} exists; left unchanged")
            return
        keyring = generate_keyring(development=dev)
        if out is None:
            typer.echo(keyring.to_json())
            return
        write_keyring(out, keyring)
        kind = "DEVELOPMENT keyring" if dev else "keyring"
        typer.echo(f"wrote {kind} to {out} (mode 0600, active key {keyring.active})")


@keys_app.command("add")
def keys_add(
    key_id: Annotated[
        str | None, typer.Option(help="Id for the new key (default: generated).")
    ] = None,
    activate: Annotated[bool, typer.Option(help="Make the new key the active one.")] = True,
) -> None:
    """Add a fresh data key to the keyring (file: rewritten in place; inline: printed)."""
    from voiceagent.store.keyring import load_keyring, write_keyring

    with operator_errors():
        source = get_settings().keyring.strip()
        old = load_keyring(source)
        keyring = old.with_new_key(key_id, activate=activate)
        new_id = next(k for k in keyring.keys if k not in old.keys)
        if source.startswith("{"):
            typer.echo(keyring.to_json())
            typer.echo("inline keyring: store the JSON above in VOICEAGENT_KEYRING", err=True)
        else:
            write_keyring(source, keyring, overwrite=True)
            typer.echo(f"added key {new_id} to {source}; active key is {keyring.active}")
        typer.echo("next: `voiceagent keys rotate` re-encrypts existing values", err=True)


@keys_app.command("rotate")
def keys_rotate(
    batch_size: Annotated[int, typer.Option(min=1, help="Rows per transaction.")] = 500,
    max_batches: Annotated[
        int | None,
        typer.Option(min=1, help="Stop after this many batches (resume by running again)."),
    ] = None,
) -> None:
    """Re-encrypt every value not under the active key; safe to interrupt and re-run."""
    from voiceagent.store.rotation import rotate_keys

    with operator_errors():
        db = open_database()
        db.check_schema()
        started = time.perf_counter()
        report = rotate_keys(db, batch_size=batch_size, max_batches=max_batches)
        elapsed = time.perf_counter() - started
        for table, count in sorted(report.rotated.items()):
            typer.echo(f"{table:<28} {count:>8} values re-encrypted")
        state = "complete" if report.complete else "stopped early (run again to resume)"
        typer.echo(
            f"total {report.total} values in {report.batches} batches, {elapsed:.2f} s, "
            f"active key {report.active}: {state}"
        )
        db.dispose()


@keys_app.command("status")
def keys_status(
    verify: Annotated[
        bool, typer.Option(help="Also decrypt every value to prove it reads.")
    ] = False,
) -> None:
    """Count encrypted values per table and key id."""
    from voiceagent.store.rotation import count_values_by_key, verify_decryptable

    with operator_errors():
        db = open_database()
        db.check_schema()
        for table, counts in count_values_by_key(db).items():
            detail = ", ".join(f"{k}: {n}" for k, n in sorted(counts.items())) or "empty"
            typer.echo(f"{table:<28} {detail}")
        if verify:
            typer.echo(f"decrypted {verify_decryptable(db)} values: all readable")
        db.dispose()


# --- audit ---------------------------------------------------------------------------------

audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)


@audit_app.command("verify")
def audit_verify() -> None:
    """Walk the audit chain; name the first edited, deleted or reordered entry."""
    from voiceagent.store.audit import verify

    with operator_errors():
        db = open_database()
        with db.session() as session:
            result = verify(session)
        db.dispose()
    if not result.ok:
        typer.echo(f"audit log BROKEN at entry {result.bad_seq}: {result.problem}", err=True)
        raise typer.Exit(1)
    typer.echo(f"audit log OK: {result.entries} entries; head {result.head_seq} {result.head_hash}")


# --- retention -----------------------------------------------------------------------------

retention_app = typer.Typer(help="Data retention.", no_args_is_help=True)


@retention_app.command("purge")
def retention_purge(
    older_than: Annotated[
        int | None,
        typer.Option("--older-than", min=0, help="Days (default: VOICEAGENT_RETENTION_DAYS)."),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count only; delete nothing.")] = False,
) -> None:
    """Delete call transcripts and audio references older than DAYS (calls stay)."""
    from voiceagent.clock import system_clock
    from voiceagent.store.retention import purge_transcripts

    with operator_errors():
        db = open_database()
        db.check_schema()
        days = older_than if older_than is not None else get_settings().retention_days
        report = purge_transcripts(db, older_than_days=days, now=system_clock(), dry_run=dry_run)
        verb = "would purge" if dry_run else "purged"
        typer.echo(
            f"{verb} {report.turns} transcript turns and {report.audio_refs} audio references "
            f"from {report.calls} calls started before {report.cutoff:%Y-%m-%d %H:%M} UTC"
        )
        db.dispose()

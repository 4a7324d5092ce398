"""``voiceagent staff ...``: staff accounts and API tokens from the command line.

``voiceagent staff token create --role admin`` prints the token and nothing else, so it
can be captured: ``TOKEN=$(voiceagent staff token create --role admin)``.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from voiceagent.config import get_settings
from voiceagent.store.cli import open_database, operator_errors
from voiceagent.store.errors import StoreError

staff_app = typer.Typer(help="Staff accounts and API tokens.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens for /api.", no_args_is_help=True)
staff_app.add_typer(token_app, name="token")

CLI_ACTOR = "cli"


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            typer.echo("error: no password on standard input", err=True)
            raise typer.Exit(1)
        return password
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


Role = Annotated[str, typer.Option("--role", help="staff or admin")]


@staff_app.command("add-user")
def add_user(
    username: Annotated[str, typer.Argument(help="Letters, digits, dot, dash, underscore.")],
    role: Role = "staff",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Create a staff account (the password is asked for, or read with --password-stdin)."""
    from voiceagent.store import Actor
    from voiceagent.store.repos import staff as staff_repo

    password = _read_password(password_stdin)
    db = open_database()
    try:
        with operator_errors(), db.session() as session:
            user = staff_repo.create_user(
                session,
                Actor.system(CLI_ACTOR),
                username=username,
                password=password,
                role=role,
                min_length=get_settings().staff_password_min_length,
            )
            name, role = user.username, user.role
    finally:
        db.dispose()
    typer.echo(f"created {role} account {name}")


def _user_id(session: object, username: str) -> str:
    from voiceagent.store.repos import staff as staff_repo

    user = staff_repo.find_user(session, username)  # type: ignore[arg-type]
    if user is None:
        raise StoreError(f"no account named {username!r}")
    return user.id


@staff_app.command("disable-user")
def disable_user(username: str) -> None:
    """Disable an account; its sessions end at once."""
    _set_active(username, False)
    typer.echo(f"disabled {username}; its sessions were ended")


@staff_app.command("enable-user")
def enable_user(username: str) -> None:
    """Enable a disabled account again."""
    _set_active(username, True)
    typer.echo(f"enabled {username}")


def _set_active(username: str, active: bool) -> None:
    from voiceagent.store import Actor
    from voiceagent.store.repos import staff as staff_repo

    db = open_database()
    try:
        with operator_errors(), db.session() as session:
            staff_repo.set_user_active(
                session, Actor.system(CLI_ACTOR), _user_id(session, username), active
            )
    finally:
        db.dispose()


@staff_app.command("set-password")
def set_password(
    username: str,
    password_stdin: Annotated[bool, typer.Option("--password-stdin")] = False,
) -> None:
    """Set a new password; the account's sessions end."""
    from voiceagent.store import Actor
    from voiceagent.store.repos import staff as staff_repo

    password = _read_password(password_stdin)
    db = open_database()
    try:
        with operator_errors(), db.session() as session:
            staff_repo.set_password(
                session,
                Actor.system(CLI_ACTOR),
                _user_id(session, username),
                password,
                min_length=get_settings().staff_password_min_length,
            )
    finally:
        db.dispose()
    typer.echo(f"password of {username} changed")


@staff_app.command("list-users")
def list_users() -> None:
    """Accounts with their role and status."""
    from voiceagent.store.repos import staff as staff_repo

    db = open_database()
    try:
        with operator_errors(), db.session() as session:
            for user in staff_repo.list_users(session):
                state = "active" if user.active else "disabled"
                typer.echo(f"{user.username}\t{user.role}\t{state}")
    finally:
        db.dispose()


@token_app.command("create")
def create_token(
    role: Role = "staff",
    name: Annotated[str | None, typer.Option("--name", help="What the token is for.")] = None,
    expires_days: Annotated[
        int | None,
        typer.Option(
            "--expires-days",
            min=1,
            help="Expire after this many days [default: VOICEAGENT_API_TOKEN_DEFAULT_DAYS].",
        ),
    ] = None,
    never_expires: Annotated[
        bool,
        typer.Option(
            "--never-expires",
            help="No expiry (for a machine you rotate yourself); revoke it when done.",
        ),
    ] = False,
) -> None:
    """Create an API token and print it (only the token; it is not shown again)."""
    from voiceagent.clock import system_clock
    from voiceagent.store import Actor
    from voiceagent.store.repos import staff as staff_repo
    from voiceagent.web.sessions import token_expiry

    if never_expires and expires_days is not None:
        typer.echo("error: --expires-days and --never-expires contradict each other", err=True)
        raise typer.Exit(2)
    expires = token_expiry(get_settings(), system_clock(), expires_days, never=never_expires)
    db = open_database()
    try:
        with operator_errors(), db.session() as session:
            _token, secret = staff_repo.create_token(
                session, Actor.system(CLI_ACTOR), role=role, label=name, expires_at=expires
            )
    finally:
        db.dispose()
    typer.echo(secret)


@token_app.command("revoke")
def revoke_token(
    token: Annotated[
        str | None, typer.Argument(help="The token id (from `token list`) or the token itself.")
    ] = None,
    name: Annotated[
        str | None, typer.Option("--name", help="Revoke every token with this name.")
    ] = None,
) -> None:
    """Revoke a token by id, by its secret, or every token with a name."""
    from voiceagent.clock import system_clock
    from voiceagent.store import Actor
    from voiceagent.store.models import ApiToken
    from voiceagent.store.repos import staff as staff_repo

    if not token and not name:
        typer.echo("error: give a token id, a token, or --name", err=True)
        raise typer.Exit(2)
    db = open_database()
    try:
        with operator_errors(), db.session() as session:
            actor = Actor.system(CLI_ACTOR)
            ids: list[str] = []
            if token:
                # By secret whether or not it still works: an expired or lapsed token
                # is worth revoking too (its creator could be enabled again).
                row = session.get(ApiToken, token) or staff_repo.token_by_secret(session, token)
                if row is None:
                    raise StoreError("no such token")
                ids.append(row.id)
            if name:
                ids += [t.id for t in staff_repo.find_tokens_by_label(session, name)]
            if not ids:
                raise StoreError(f"no token named {name!r}")
            for token_id in ids:
                staff_repo.revoke_token(session, actor, token_id, now=system_clock())
    finally:
        db.dispose()
    typer.echo(f"revoked {len(ids)} token(s)")


@token_app.command("list")
def list_tokens() -> None:
    """Tokens (never their secrets): id, role, name, state, expiry date."""
    from voiceagent.clock import system_clock
    from voiceagent.store.repos import staff as staff_repo

    now = system_clock()
    db = open_database()
    try:
        with operator_errors(), db.session() as session:
            for t in staff_repo.list_tokens(session):
                state = staff_repo.token_state(session, t, now=now)
                expires = t.expires_at.date().isoformat() if t.expires_at else "never"
                typer.echo(f"{t.id}\t{t.role}\t{t.name or '-'}\t{state}\texpires {expires}")
    finally:
        db.dispose()

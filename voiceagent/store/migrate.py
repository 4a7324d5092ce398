"""Run Alembic programmatically, wherever the process was started from.

The migration scripts live in ``<repo>/migrations`` and are found relative to this package,
not to the working directory. The engine's connection is handed to ``env.py`` so migrations
run with the same SQLite pragmas and PostgreSQL settings as the application.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from voiceagent.config import REPO_ROOT
from voiceagent.store.errors import StoreError

MIGRATIONS_DIR = REPO_ROOT / "migrations"


def alembic_config() -> Config:
    if not (MIGRATIONS_DIR / "env.py").is_file():
        raise StoreError(f"Alembic migrations not found at {MIGRATIONS_DIR}")
    config = Config()  # alembic.ini is for running `alembic` by hand; not needed here
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def _run(engine: Engine, action: str, revision: str) -> None:
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        getattr(command, action)(config, revision)


def upgrade(engine: Engine, revision: str = "head") -> None:
    _run(engine, "upgrade", revision)


def downgrade(engine: Engine, revision: str) -> None:
    _run(engine, "downgrade", revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def migrations_dir() -> Path:
    return MIGRATIONS_DIR

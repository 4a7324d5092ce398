"""Alembic migrations: upgrade, downgrade, and no drift from the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select
from sqlalchemy.engine import URL

from voiceagent.store import migrate
from voiceagent.store.db import Database
from voiceagent.store.keyring import Keyring
from voiceagent.store.models import AuditHead, Base

APP_TABLES = set(Base.metadata.tables)


def _tables(db: Database) -> set[str]:
    return set(inspect(db.engine).get_table_names()) - {"alembic_version"}


def test_upgrade_downgrade_upgrade(db_url: URL, keyring: Keyring) -> None:
    db = Database(db_url, keyring)
    try:
        assert db.current_revision() is None
        db.migrate()
        assert db.current_revision() == migrate.head_revision()
        assert _tables(db) == APP_TABLES
        with db.session() as s:  # the migration creates the audit chain head
            assert s.execute(select(AuditHead.seq, AuditHead.hash)).one() == (0, "0" * 64)
        db.downgrade("base")
        assert db.current_revision() is None
        assert _tables(db) == set()
        db.migrate()
        assert _tables(db) == APP_TABLES
        db.check_schema()
    finally:
        db.dispose()


def test_models_match_migrations(db: Database) -> None:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_migrations_found_from_any_directory(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # the process's cwd, not our code
    assert migrate.head_revision() is not None
    assert migrate.migrations_dir().is_dir()

"""Fixtures for the store tests: a real SQLite file, and PostgreSQL when configured.

Set VOICEAGENT_TEST_POSTGRES_URL (e.g. postgresql+psycopg://root@127.0.0.1:5432/test) to
run every ``backend`` test on PostgreSQL too. Each PostgreSQL test gets its own schema
(dropped afterwards), so runs are independent and can share a database.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import URL, make_url

from voiceagent.store.db import Database
from voiceagent.store.keyring import Keyring, generate_keyring

from .helpers import NOW, PG_SKIP, PG_URL, libpq_url, seed_demo


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgres" and not PG_URL:
        pytest.skip(PG_SKIP)
    return request.param


@pytest.fixture
def pg_schema() -> Iterator[str]:
    if not PG_URL:
        pytest.skip(PG_SKIP)
    schema = f"test_store_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(libpq_url(PG_URL), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    yield schema
    with psycopg.connect(libpq_url(PG_URL), autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture
def db_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> URL:
    if backend == "sqlite":
        return make_url(f"sqlite:///{tmp_path / 'store.db'}")
    schema = request.getfixturevalue("pg_schema")
    assert PG_URL is not None
    return make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})


@pytest.fixture
def keyring() -> Keyring:
    return generate_keyring(key_id="key-a")


@pytest.fixture
def db(db_url: URL, keyring: Keyring) -> Iterator[Database]:
    database = Database(db_url, keyring)
    database.migrate()
    yield database
    database.dispose()


@pytest.fixture
def seeded(db: Database) -> Database:
    """The demo clinic, its relative dates counted from :data:`NOW`'s day."""
    seed_demo(db, today=NOW.date())
    return db

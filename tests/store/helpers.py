"""Shared helpers for the store tests (fixtures live in conftest.py)."""

from __future__ import annotations

import os
from datetime import date

from sqlalchemy.engine import URL, make_url

from tests.conftest import CLINIC_MONDAY
from voiceagent.config import REPO_ROOT
from voiceagent.store.db import Database
from voiceagent.store.seed import SeedReport, seed_file

PG_URL = os.environ.get("VOICEAGENT_TEST_POSTGRES_URL")
PG_SKIP = "VOICEAGENT_TEST_POSTGRES_URL is not set: PostgreSQL variant skipped"
DEMO_CLINIC = REPO_ROOT / "dialogs" / "demo-clinic.yaml"
# The repositories take "now" from their caller: the store tests pin it to the clinic's
# Monday morning, the day the ``seeded`` fixture seeds the demo clinic relative to.
NOW = CLINIC_MONDAY


def libpq_url(url: str | URL) -> str:
    """The SQLAlchemy URL as a libpq conninfo (for psycopg and pg_dump)."""
    parsed = make_url(url).set(drivername="postgresql", query={})
    return parsed.render_as_string(hide_password=False)


def seed_demo(db: Database, today: date | None = None) -> SeedReport:
    return seed_file(db, DEMO_CLINIC, today=today)

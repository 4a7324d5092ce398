"""After seeding the demo clinic, no patient identifier is stored in plaintext anywhere."""

from __future__ import annotations

import shutil
import sqlite3
import stat
import subprocess
from contextlib import closing
from datetime import date
from pathlib import Path

import pytest
import yaml
from sqlalchemy.engine import make_url

from voiceagent.store.db import Database
from voiceagent.store.keyring import Keyring

from .helpers import DEMO_CLINIC, PG_URL, libpq_url, seed_demo

PG_DUMP = shutil.which("pg_dump") or "/usr/bin/pg_dump"


def _dob_forms(dob: date) -> list[str]:
    return [
        dob.isoformat(),
        dob.strftime("%m/%d/%Y"),
        f"{dob.month}/{dob.day}/{dob.year}",
        dob.strftime("%Y%m%d"),
        dob.strftime("%m%d%Y"),
        dob.strftime("%B %-d, %Y"),
    ]


def _phone_forms(e164: str) -> list[str]:
    national = e164.removeprefix("+1")
    return [
        e164,
        national,
        f"{national[:3]}-{national[3:6]}-{national[6:]}",
        f"({national[:3]}) {national[3:6]}-{national[6:]}",
    ]


def seeded_secrets() -> list[tuple[str, str]]:
    """(what, value) for every seeded patient's identifying values."""
    data = yaml.safe_load(DEMO_CLINIC.read_text())
    found = []
    for p in data["patients"]:
        pid = p["id"]
        for key in ("first_name", "last_name"):
            found += [(f"{pid} {key}", p[key]), (f"{pid} {key} lower", p[key].lower())]
        found += [(f"{pid} dob", form) for form in _dob_forms(p["dob"])]
        found += [(f"{pid} phone", form) for form in _phone_forms(p["phone"])]
        if p.get("address"):
            found.append((f"{pid} address", p["address"]))
        if p.get("insurance"):
            found.append((f"{pid} member_id", str(p["insurance"]["member_id"])))
    assert len(found) > 25 * 10
    return found


def _leaks(blob: bytes) -> list[str]:
    return [what for what, value in seeded_secrets() if value.encode() in blob]


def test_sqlite_file_holds_no_plaintext_phi(tmp_path: Path, keyring: Keyring) -> None:
    path = tmp_path / "clinic.db"
    db = Database(f"sqlite:///{path}", keyring)
    db.migrate()
    seed_demo(db)

    def file_bytes() -> bytes:
        return b"".join(
            p.read_bytes() for p in path.parent.iterdir() if p.name.startswith(path.name)
        )

    assert "p-001 last_name" in _leaks(b"..Gonzalez..")  # the grep itself works
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # and only the owner can read it
    blob = file_bytes()
    # The grep sees the data: plaintext clinic information is there.
    assert b"Maple Street Family Medicine" in blob and b"dr-patel" in blob
    assert _leaks(blob) == []
    db.dispose()
    with closing(sqlite3.connect(path)) as conn:  # move everything into the main file
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    blob = file_bytes()
    assert b"Maple Street Family Medicine" in blob
    assert _leaks(blob) == []


@pytest.mark.postgres
def test_pg_dump_holds_no_plaintext_phi(pg_schema: str, keyring: Keyring) -> None:
    assert PG_URL is not None  # pg_schema skips otherwise
    db = Database(
        make_url(PG_URL).update_query_dict({"options": f"-csearch_path={pg_schema}"}), keyring
    )
    db.migrate()
    seed_demo(db)
    db.dispose()
    dump = subprocess.run(
        [PG_DUMP, "--no-owner", "--schema", pg_schema, libpq_url(PG_URL)],
        check=True,
        capture_output=True,
    ).stdout
    assert b"Maple Street Family Medicine" in dump and b"p-001" in dump
    assert _leaks(dump) == []

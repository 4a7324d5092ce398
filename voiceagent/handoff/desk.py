"""The front desk's inbox: transfers and callbacks, each with its summary, in the store.

The dialog decides *that* a person is needed; the desk records it so staff see it, and so
nothing is lost if the transfer itself fails. Writes retry while the database is locked or
briefly unreachable; if it stays down, the record waits in this process and is written as
soon as the database is back (the caller is still transferred, without a summary).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from voiceagent.clock import Clock, system_clock
from voiceagent.handoff.summary import HandoffSummary, build_summary
from voiceagent.logs import get_logger
from voiceagent.metrics import TRANSFERS
from voiceagent.store import Actor, Database, NotFound
from voiceagent.store.models import Transfer
from voiceagent.store.repos import callbacks as callback_repo
from voiceagent.store.repos import calls as call_repo
from voiceagent.store.repos import patients as patient_repo
from voiceagent.store.repos import transfers as transfer_repo

log = get_logger(__name__)
# Twilio's transfer callbacks act for the clinic's phone system, not for one call's agent.
WHISPER_ACTOR = Actor.system("twilio-transfer")
DEFERRED_RETRY_SECONDS = 5.0
DEFERRED_GIVE_UP_SECONDS = 3600.0


@dataclass
class HandoffRequest:
    call_sid: str
    caller_number: str | None
    patient_id: str | None
    verified: bool
    flow: str | None
    details: dict[str, str]
    reason_code: str
    reason: str
    urgency: str
    transcript: list[tuple[str, str]] = field(default_factory=list)
    emergency: bool = False


class HandoffDesk:
    def __init__(
        self,
        db: Database,
        clock: Clock = system_clock,
        *,
        deferred_retry_seconds: float = DEFERRED_RETRY_SECONDS,
    ):
        self._db = db
        self._clock = clock
        self._deferred_retry_seconds = deferred_retry_seconds
        self._deferred: list[tuple[float, str, Callable[[Session], object]]] = []
        self._lock = threading.Lock()
        self._drainer: threading.Thread | None = None

    # --- from the dialog ------------------------------------------------------------------
    def transfer(self, request: HandoffRequest, *, callback_only: bool = False) -> str | None:
        """Record a transfer with its summary; returns its id (the whisper URL names it),
        or None when the database is down (the record is written once it is back).

        ``callback_only``: the clinic is closed (an emergency after hours); staff see it
        first thing and a callback is queued too.
        """
        actor = Actor.agent(request.call_sid)

        def work(session: Session) -> str:
            call_id = call_repo.call_id_for(session, request.call_sid)
            summary = self._summary(session, actor, request)
            transfer = transfer_repo.create_transfer(
                session,
                actor,
                reason_code=request.reason_code,
                call_id=call_id,
                patient_id=request.patient_id if request.verified else None,
                reason=request.reason,
                urgency=request.urgency,
                summary=summary.to_dict(),
            )
            if callback_only and request.caller_number:
                callback_repo.create_callback(
                    session,
                    actor,
                    phone=request.caller_number,
                    name=summary.patient_name,
                    reason=request.reason,
                    patient_id=transfer.patient_id,
                    call_id=call_id,
                )
            return transfer.id

        TRANSFERS.labels(urgency=request.urgency).inc()
        transfer_id = self._write_or_defer("transfer", work)
        log.info(
            "handoff_recorded",
            call_sid=request.call_sid,
            reason_code=request.reason_code,
            urgency=request.urgency,
            transfer_id=transfer_id,
        )
        return transfer_id

    def callback(self, request: HandoffRequest, *, caller_reason: str) -> str | None:
        """A message for staff to call back (after hours, or unfinished work)."""
        actor = Actor.agent(request.call_sid)
        if not request.caller_number:
            log.warning("callback_without_number", call_sid=request.call_sid)

        def work(session: Session) -> str:
            summary = self._summary(session, actor, request)
            callback = callback_repo.create_callback(
                session,
                actor,
                phone=request.caller_number or "unknown",
                name=summary.patient_name,
                reason=caller_reason,
                note=f"{request.reason} Next step: {summary.next_step}",
                patient_id=request.patient_id if request.verified else None,
                call_id=call_repo.call_id_for(session, request.call_sid),
            )
            return callback.id

        return self._write_or_defer("callback", work)

    def note_intent(self, call_sid: str, intent: str) -> None:
        self._progress(call_sid, intent=intent)

    def note_outcome(self, call_sid: str, outcome: str) -> None:
        self._progress(call_sid, outcome=outcome)

    def _progress(self, call_sid: str, **fields: str) -> None:
        self._write_or_defer(
            "call_progress",
            lambda session: call_repo.set_call_progress(
                session, Actor.agent(call_sid), call_sid, **fields
            ),
        )

    # --- from Twilio's transfer callbacks -------------------------------------------------
    def whisper(self, transfer_id: str) -> str | None:
        """The words staff hear before the caller is bridged (None: unknown transfer)."""

        def work(session: Session) -> str | None:
            try:
                transfer = transfer_repo.get_transfer(session, WHISPER_ACTOR, transfer_id)
            except NotFound:
                return None
            return HandoffSummary.from_dict(transfer.summary or {}).whisper()

        return self._db.run(work)

    def transfer_answered(self, transfer_id: str) -> None:
        """The bridged conversation is over (Twilio reports a dial at its end)."""

        def work(session: Session) -> None:
            transfer = _open_transfer(session, transfer_id)
            if transfer is not None:
                transfer_repo.finish_transfer(
                    session, WHISPER_ACTOR, transfer.id, now=self._clock(), status="done"
                )

        self._db.run(work)

    def transfer_unanswered(self, transfer_id: str, dial_status: str) -> str | None:
        """Nobody took the call: the handoff becomes a callback request, so no caller is
        dropped without a record. Returns the callback's id."""

        def work(session: Session) -> str | None:
            transfer = _open_transfer(session, transfer_id)
            if transfer is None:
                return None  # unknown, or a retried webhook for a transfer already settled
            summary = HandoffSummary.from_dict(transfer.summary or {})
            callback = callback_repo.create_callback(
                session,
                WHISPER_ACTOR,
                phone=summary.caller_number or "unknown",
                name=summary.patient_name,
                reason=summary.reason,
                note=f"Transfer not answered ({dial_status}). Next step: {summary.next_step}",
                patient_id=transfer.patient_id,
                call_id=transfer.call_id,
            )
            transfer_repo.finish_transfer(
                session, WHISPER_ACTOR, transfer_id, now=self._clock(), status="failed"
            )
            return callback.id

        return self._db.run(work)

    # --- writing, now or later ------------------------------------------------------------
    def _write_or_defer(self, what: str, work: Callable[[Session], object]) -> str | None:
        try:
            result = self._db.run(work)
        except Exception as exc:  # the database stayed down through the retries
            log.error("handoff_write_deferred", what=what, error=type(exc).__name__)
            with self._lock:
                self._deferred.append((time.monotonic(), what, work))
                if self._drainer is None or not self._drainer.is_alive():
                    self._drainer = threading.Thread(
                        target=self._drain, name="handoff-deferred", daemon=True
                    )
                    self._drainer.start()
            return None
        return result if isinstance(result, str) else None

    @property
    def deferred(self) -> int:
        with self._lock:
            return len(self._deferred)

    def _drain(self) -> None:
        """Write deferred records, oldest first, as soon as the database takes them."""
        while True:
            with self._lock:
                if not self._deferred:
                    return
                queued_at, what, work = self._deferred[0]
            try:
                self._db.run(work)
            except Exception as exc:
                if time.monotonic() - queued_at > DEFERRED_GIVE_UP_SECONDS:
                    log.error("handoff_write_lost", what=what, error=type(exc).__name__)
                else:
                    time.sleep(self._deferred_retry_seconds)
                    continue
            else:
                log.info("handoff_write_recovered", what=what)
            with self._lock:
                self._deferred.pop(0)

    def _summary(self, session: Session, actor: Actor, request: HandoffRequest) -> HandoffSummary:
        name = request.details.get("full_name")
        if request.verified and request.patient_id:
            patient = patient_repo.get_patient(session, actor, request.patient_id)
            name = f"{patient.first_name} {patient.last_name}"
        return build_summary(
            caller_number=request.caller_number,
            patient_id=request.patient_id if request.verified else None,
            patient_name=name,
            verified=request.verified,
            intent=request.flow,
            details=request.details,
            reason_code=request.reason_code,
            reason=request.reason,
            urgency=request.urgency,
            transcript=request.transcript,
        )


def _open_transfer(session: Session, transfer_id: str) -> Transfer | None:
    try:
        transfer = transfer_repo.get_transfer(session, WHISPER_ACTOR, transfer_id)
    except NotFound:
        return None
    return None if transfer.status in ("done", "failed") else transfer

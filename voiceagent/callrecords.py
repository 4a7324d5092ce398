"""Call bookkeeping for carrier adapters: call rows, stream tokens and transcripts.

Everything here is in the database, not in process memory, because the webhook and the
websocket of one call may reach different replicas. Methods are async: each runs one unit
of work in a worker thread.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from voiceagent.clock import Clock, system_clock
from voiceagent.dialog.base import HangupReason
from voiceagent.store import Actor
from voiceagent.store.repos import calls as call_repo
from voiceagent.store.repos import stream_tokens

if TYPE_CHECKING:
    from voiceagent.call import CallStats
    from voiceagent.store import Database

WEBHOOK = Actor.system("twilio-webhook")
# calls.called_number of admins' "Try a call" test calls, which the clinic's numbers skip.
TEST_CALL_LINE = "browser-test"

# How a call ended, as stored in calls.outcome when the dialog did not say more.
OUTCOME_BY_REASON: dict[str, str] = {
    "caller": "caller_hung_up",
    "agent": "completed",
    "transferred": "transferred",
    "error": "error",
    "shutdown": "shutdown",
}


class CallRecords:
    def __init__(
        self, db: Database, clock: Clock = system_clock, token_ttl_seconds: int = 60
    ) -> None:
        self._db = db
        self._clock = clock
        self._ttl = token_ttl_seconds

    async def open_call(self, *, call_sid: str, caller: str, called: str) -> str | None:
        """Record the incoming call and issue its single-use media stream token; None for
        a call that has already ended (a replayed webhook gets no new stream)."""

        def work(session: Session) -> str | None:
            now = self._clock()
            call = call_repo.open_call(
                session,
                WEBHOOK,
                call_sid=call_sid,
                caller_number=caller or None,
                called_number=called or None,
                started_at=now,
            )
            if call.ended_at is not None or call.status in call_repo.CARRIER_FINAL_STATUSES:
                return None
            return stream_tokens.issue_stream_token(
                session, call_sid, now=now, ttl_seconds=self._ttl
            )

        return await asyncio.to_thread(self._db.run, work)

    async def consume_stream_token(self, token: str, call_sid: str) -> bool:
        def work(session: Session) -> bool:
            return stream_tokens.consume_stream_token(session, token, call_sid, now=self._clock())

        return await asyncio.to_thread(self._db.run, work)

    async def record_status(self, *, call_sid: str, status: str, duration_s: int | None) -> None:
        def work(session: Session) -> None:
            call_repo.record_status(
                session, WEBHOOK, call_sid, status=status, now=self._clock(), duration_s=duration_s
            )

        await asyncio.to_thread(self._db.run, work)

    def recorder(self, call_sid: str) -> StoreCallRecorder:
        return StoreCallRecorder(self._db, call_sid, self._clock)


class StoreCallRecorder:
    """Writes one call's turns and its ending (synchronous: the session runs it in a thread)."""

    def __init__(self, db: Database, call_sid: str, clock: Clock) -> None:
        self._db = db
        self._call_sid = call_sid
        self._clock = clock
        self._actor = Actor.agent(call_sid)

    def caller_turn(self, text: str, confidence: float, audio_ms: int) -> None:
        self._db.run(
            lambda session: call_repo.add_turn(
                session,
                self._actor,
                self._call_sid,
                speaker="caller",
                text=text,
                asr_confidence=round(confidence, 3),
                at=self._clock(),
            )
        )

    def agent_turn(self, text: str, response_gap_ms: int | None, processing_ms: int | None) -> None:
        self._db.run(
            lambda session: call_repo.add_turn(
                session,
                self._actor,
                self._call_sid,
                speaker="agent",
                text=text,
                response_gap_ms=response_gap_ms,
                at=self._clock(),
            )
        )

    def call_ended(self, reason: HangupReason, stats: CallStats) -> None:
        self._db.run(
            lambda session: call_repo.close_call(
                session,
                self._actor,
                self._call_sid,
                outcome=OUTCOME_BY_REASON[reason],
                transferred=True if reason == "transferred" else None,
                ended_at=self._clock(),
                greeting_ms=stats.greeting_ms,
                keep_outcome=reason in ("caller", "agent"),
            )
        )

"""CallSession: one live call, independent of the carrier.

The carrier adapter feeds 20 ms frames of 8 kHz PCM16, keypad digits and playback marks;
the session finds the caller's turns (VAD endpointer), transcribes them off the event loop,
asks the :class:`~voiceagent.dialog.base.Dialog` what to do, and speaks the answer back
through a paced :class:`~voiceagent.playout.Playout`. The caller can talk over the agent:
real speech (not a cough or a short "mhm") stops the agent mid-sentence.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Protocol

import numpy as np

from voiceagent import metrics
from voiceagent.config import Settings
from voiceagent.dialog.base import (
    Dialog,
    DtmfMode,
    Expectation,
    Hangup,
    HangupReason,
    Interruption,
    Reply,
    Transfer,
    Utterance,
)
from voiceagent.logs import get_logger
from voiceagent.playout import Playout, PromptProgress
from voiceagent.runtime import SpeechServices
from voiceagent.speech.asr import Transcript
from voiceagent.speech.pool import Priority
from voiceagent.speech.vad import Endpointer, EndpointerConfig, SpeechStarted, UtteranceEnded

log = get_logger(__name__)

APOLOGY = "I'm sorry, something went wrong on our side. Let me connect you with the front desk."


@dataclass(frozen=True)
class TurnSettings:
    """Turn-taking knobs; defaults come from :class:`voiceagent.config.Settings`."""

    end_of_turn_ms: int = 600
    max_utterance_ms: int = 15000
    barge_in_min_speech_ms: int = 300
    no_input_timeout_ms: int = 8000
    dtmf_timeout_ms: int = 3000
    vad_aggressiveness: int = 2
    complete_answer_wait_ms: int = 120

    @classmethod
    def from_settings(cls, settings: Settings) -> TurnSettings:
        return cls(
            end_of_turn_ms=settings.end_of_turn_ms,
            max_utterance_ms=settings.max_utterance_ms,
            barge_in_min_speech_ms=settings.barge_in_min_speech_ms,
            no_input_timeout_ms=settings.no_input_timeout_ms,
            dtmf_timeout_ms=settings.dtmf_timeout_ms,
            vad_aggressiveness=settings.vad_aggressiveness,
            complete_answer_wait_ms=settings.complete_answer_wait_ms,
        )

    def endpointer_config(self) -> EndpointerConfig:
        return EndpointerConfig(
            end_of_turn_ms=self.end_of_turn_ms,
            max_utterance_ms=self.max_utterance_ms,
            aggressiveness=self.vad_aggressiveness,
        )


class Transport(Protocol):
    """What a carrier adapter offers the session."""

    async def send_audio(self, pcm: np.ndarray) -> None: ...

    async def send_mark(self, name: str) -> None: ...

    async def clear(self) -> None: ...

    async def transfer(self, transfer: Transfer) -> bool: ...

    async def hangup(self) -> None: ...


@dataclass
class CallStats:
    """Numbers about the call, never its content."""

    started_at: float
    greeting_ms: int | None = None
    response_gaps_ms: list[int] = field(default_factory=list)
    processing_ms: list[int] = field(default_factory=list)
    barge_ins: int = 0
    ignored_backchannels: int = 0
    caller_turns: int = 0
    underruns: int = 0
    frames_sent: int = 0


class CallRecorder(Protocol):
    """Persists what happened on the call (the store implements it)."""

    def caller_turn(self, text: str, confidence: float, audio_ms: int) -> None: ...

    def agent_turn(
        self, text: str, response_gap_ms: int | None, processing_ms: int | None
    ) -> None: ...

    def call_ended(self, reason: HangupReason, stats: CallStats) -> None: ...


@dataclass(frozen=True)
class _UtteranceJob:
    audio: np.ndarray
    audio_ms: int
    decided_at: float  # monotonic time the end of turn was decided
    silence_ms: int  # trailing silence waited before deciding
    interrupted_agent: bool
    # A transcript of the same words, started during the caller's pause (see _Speculation).
    transcript: asyncio.Task[Transcript] | None = None


@dataclass
class _Speculation:
    """A transcript of the utterance so far, taken at the first pause in it.

    If what was said is already a complete answer ("yes", a full date of birth, a request
    the dialog understands), the turn ends at once instead of after the full end-of-turn
    wait; if the caller goes on talking, the speculation is simply dropped.
    """

    last_voiced_ms: int
    task: asyncio.Task[Transcript] | None = None


@dataclass(frozen=True)
class _DtmfJob:
    digits: str
    decided_at: float


@dataclass(frozen=True)
class _SilenceJob:
    decided_at: float


@dataclass(frozen=True)
class _GreetJob:
    pass


@dataclass(frozen=True)
class _WindDownJob:
    """The server is stopping: after the current turn, hand the caller to a person."""


_Job = _UtteranceJob | _DtmfJob | _SilenceJob | _GreetJob | _WindDownJob


class CallSession:
    def __init__(
        self,
        *,
        call_sid: str,
        dialog: Dialog,
        speech: SpeechServices,
        transport: Transport,
        recorder: CallRecorder,
        turns: TurnSettings | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.call_sid = call_sid
        self._dialog = dialog
        self._recognizer = speech.recognizer
        self._synth = speech.synthesizer
        self._pool = speech.pool
        self._transport = transport
        self._recorder = recorder
        self._turns = turns or TurnSettings()
        self._clock = clock
        self._endpointer = Endpointer(self._turns.endpointer_config())
        self._playout = Playout(transport.send_audio, transport.send_mark, clock=clock)
        self._playout.on_first_frame = self._on_first_frame
        self.stats = CallStats(started_at=clock())
        self._expect = Expectation()
        self._jobs: asyncio.Queue[_Job] = asyncio.Queue()
        self._records: asyncio.Queue[Callable[[], None] | None] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._speaking: asyncio.Task[None] | None = None
        self._pending_gap: tuple[float, float] | None = None  # (decided_at, last speech at)
        self._speculation: _Speculation | None = None
        self._prompt_gaps: dict[int, tuple[int, int]] = {}  # prompt id -> (gap, processing)
        self._utterance_during_agent = False
        self._barged_in = False
        self._busy_processing = False
        self._last_activity = clock()
        self._dtmf_buffer = ""
        self._dtmf_last = 0.0
        self._ending: HangupReason | None = None
        self._planned_end: HangupReason | None = None
        self._closed = asyncio.Event()

    # --- lifecycle --------------------------------------------------------------------
    async def start(self) -> None:
        """Start the call's tasks and play the greeting at once."""
        self._jobs.put_nowait(_GreetJob())
        for coro in (self._playout.run(), self._work(), self._write_records(), self._watch()):
            self._tasks.append(asyncio.create_task(coro))
        metrics.CALLS_STARTED.inc()
        metrics.ACTIVE_CALLS.inc()

    async def wind_down(self) -> None:
        """Finish the turn in progress, then hand the caller over (server shutdown)."""
        if not self.ended:
            self._jobs.put_nowait(_WindDownJob())
        await self._closed.wait()

    @property
    def ended(self) -> bool:
        return self._ending is not None

    async def wait_closed(self) -> None:
        await self._closed.wait()

    async def end(self, reason: HangupReason) -> None:
        """The call is over (caller hung up, stream stopped, or we ended it)."""
        if self._ending is not None:
            await self._closed.wait()
            return
        # The carrier reports our own hang-up or transfer as the stream ending; keep ours.
        reason = self._planned_end or reason
        self._ending = reason
        current = asyncio.current_task()
        for task in [*self._tasks, self._speaking]:
            if task is not None and task is not current and not task.done():
                task.cancel()
        self.stats.underruns = self._playout.stats.underruns
        self.stats.frames_sent = self._playout.stats.frames_sent
        metrics.ACTIVE_CALLS.dec()
        metrics.CALLS_ENDED.labels(reason=reason).inc()
        metrics.PLAYOUT_UNDERRUNS.inc(self.stats.underruns)
        try:
            await asyncio.to_thread(self._dialog.on_hangup)
        except Exception as exc:
            log.error("dialog_failed", stage="hangup", error=type(exc).__name__)
        # Flush what was queued for the store, then close the call record.
        while not self._records.empty():
            job = self._records.get_nowait()
            if job is not None:
                await self._run_record(job)
        await self._run_record(lambda: self._recorder.call_ended(reason, self.stats))
        self._closed.set()
        log.info(
            "call_ended",
            call_sid=self.call_sid,
            reason=reason,
            caller_turns=self.stats.caller_turns,
            barge_ins=self.stats.barge_ins,
            underruns=self.stats.underruns,
        )

    # --- input from the carrier ---------------------------------------------------------
    def feed_audio(self, pcm: np.ndarray) -> None:
        """One 20 ms frame of the caller's audio (8 kHz int16)."""
        if self.ended:
            return
        for event in self._endpointer.push(pcm):
            if isinstance(event, SpeechStarted):
                self._last_activity = self._clock()
                self._utterance_during_agent = self._playout.busy
                self._barged_in = False
                self._speculation = None
            elif isinstance(event, UtteranceEnded):
                self._on_utterance_end(event)
        if (
            self._endpointer.in_speech
            and not self._barged_in
            and self._playout.busy
            and self._endpointer.voiced_ms >= self._turns.barge_in_min_speech_ms
        ):
            self._barge_in()
        self._maybe_speculate()

    def feed_dtmf(self, digit: str) -> None:
        if self.ended or len(digit) != 1 or digit not in "0123456789*#":
            return
        now = self._clock()
        self._last_activity = now
        if self._playout.busy:
            self._barge_in()
        if self._expect.dtmf is DtmfMode.SINGLE:
            self._jobs.put_nowait(_DtmfJob(digit, now))
            return
        if digit == "#":
            self._flush_dtmf(now)
            return
        self._dtmf_buffer += digit
        self._dtmf_last = now
        if self._expect.max_digits and len(self._dtmf_buffer) >= self._expect.max_digits:
            self._flush_dtmf(now)

    def mark_received(self, name: str) -> None:
        self._playout.mark_heard(name)

    # --- turn handling ----------------------------------------------------------------------
    def _maybe_speculate(self) -> None:
        endpointer = self._endpointer
        if (
            not endpointer.in_speech
            or endpointer.trailing_silence_ms
            < (self._expect.complete_answer_wait_ms or self._turns.complete_answer_wait_ms)
            or (self._utterance_during_agent and not self._barged_in)  # maybe a backchannel
            or self._pool.backlog > 0  # busy: a guess must not delay other callers' turns
            or (self._speculation and self._speculation.last_voiced_ms == endpointer.last_voiced_ms)
        ):
            return
        speculation = _Speculation(last_voiced_ms=endpointer.last_voiced_ms or 0)
        speculation.task = asyncio.ensure_future(
            self._pool.run(
                self._recognizer.transcribe,
                endpointer.audio_so_far(),
                8000,
                self._expect.hotwords,
                priority=Priority.INTERACTIVE,
            )
        )
        speculation.task.add_done_callback(lambda _t: self._spawn(self._settle(speculation)))
        self._speculation = speculation

    def _still_pausing(self, speculation: _Speculation) -> bool:
        """The caller has said nothing since the speculation's snapshot."""
        return (
            self._speculation is speculation
            and self._endpointer.in_speech
            and self._endpointer.last_voiced_ms == speculation.last_voiced_ms
        )

    async def _settle(self, speculation: _Speculation) -> None:
        """End the turn now if the words so far are already a complete answer."""
        assert speculation.task is not None
        if speculation.task.cancelled() or speculation.task.exception() is not None:
            return
        transcript = speculation.task.result()
        metrics.ASR_TIME.observe(transcript.elapsed_ms / 1000)
        metrics.EARLY_TRANSCRIPTIONS.inc()
        text = transcript.text.strip()
        if not text or not self._still_pausing(speculation):
            return
        complete = await asyncio.to_thread(self._dialog.is_complete, text)
        if complete and self._still_pausing(speculation):
            event = self._endpointer.finish_now()
            if isinstance(event, UtteranceEnded):
                self._on_utterance_end(event)

    def _on_utterance_end(self, event: UtteranceEnded) -> None:
        now = self._clock()
        self._last_activity = now
        speculation, self._speculation = self._speculation, None
        reusable = speculation is not None and speculation.last_voiced_ms == event.ended_at_ms
        if (
            self._utterance_during_agent
            and not self._barged_in
            and event.speech_ms < self._turns.barge_in_min_speech_ms
        ):
            # A backchannel ("mhm") or a noise while the agent talked: not a turn.
            self.stats.ignored_backchannels += 1
            return
        self._jobs.put_nowait(
            _UtteranceJob(
                audio=event.audio,
                audio_ms=len(event.audio) // 8,
                decided_at=now,
                # Audio time between the last voiced frame and this decision.
                silence_ms=max(0, self._endpointer.now_ms - event.ended_at_ms),
                interrupted_agent=self._barged_in,
                transcript=speculation.task if reusable and speculation else None,
            )
        )

    def _current_eot_ms(self) -> int:
        return self._expect.end_of_turn_ms or self._turns.end_of_turn_ms

    def _flush_dtmf(self, now: float) -> None:
        digits, self._dtmf_buffer = self._dtmf_buffer, ""
        if digits:
            self._jobs.put_nowait(_DtmfJob(digits, now))

    def _barge_in(self) -> None:
        self._barged_in = True
        self.stats.barge_ins += 1
        metrics.BARGE_INS.inc()
        if self._speaking is not None and not self._speaking.done():
            self._speaking.cancel()
        cut = self._playout.clear()
        self._spawn(self._transport.clear())
        for prompt in cut:
            interruption = Interruption(
                prompt=prompt.text,
                heard_ms=self._playout.heard_ms(prompt),
                total_ms=prompt.frames_queued * 20,
            )
            self._spawn(asyncio.to_thread(self._dialog.on_interrupted, interruption))

    async def _work(self) -> None:
        while True:
            job = await self._jobs.get()
            self._busy_processing = True
            try:
                await self._handle(job)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a broken turn must not leave the caller in silence
                log.error("turn_failed", call_sid=self.call_sid, error=type(exc).__name__)
                await self._respond(Reply.text(APOLOGY, action=Transfer("system_error")), None)
            finally:
                self._busy_processing = False
                self._last_activity = self._clock()

    async def _handle(self, job: _Job) -> None:
        if isinstance(job, _GreetJob):
            await self._respond(await asyncio.to_thread(self._dialog.greet), None)
        elif isinstance(job, _WindDownJob):
            reply = await asyncio.to_thread(self._dialog.on_shutdown)
            await self._respond(reply, None)
            # Whatever happened (transferred, told to call back), the call is over for us.
            self._spawn(self.end("shutdown"))
        elif isinstance(job, _UtteranceJob):
            if job.transcript is not None:  # the same words, already transcribed in the pause
                transcript = await job.transcript
            else:
                asked_at = self._clock()
                transcript = await self._pool.run(
                    self._recognizer.transcribe,
                    job.audio,
                    8000,
                    self._expect.hotwords,
                    priority=Priority.INTERACTIVE,
                )
                waited = self._clock() - asked_at - transcript.elapsed_ms / 1000
                metrics.ASR_QUEUE_TIME.observe(max(0.0, waited))
                metrics.ASR_TIME.observe(transcript.elapsed_ms / 1000)
            text = transcript.text.strip()
            if not text:
                return  # noise that looked like speech; nothing to answer
            self.stats.caller_turns += 1
            self._record(
                lambda: self._recorder.caller_turn(text, transcript.confidence, job.audio_ms)
            )
            utterance = Utterance(
                text=text,
                confidence=transcript.confidence,
                audio_ms=job.audio_ms,
                interrupted_agent=job.interrupted_agent,
            )
            thinking_since = self._clock()
            reply = await asyncio.to_thread(self._dialog.on_utterance, utterance)
            metrics.DIALOG_TIME.observe(self._clock() - thinking_since)
            await self._respond(reply, (job.decided_at, job.decided_at - job.silence_ms / 1000))
        elif isinstance(job, _DtmfJob):
            reply = await asyncio.to_thread(self._dialog.on_dtmf, job.digits)
            await self._respond(reply, (job.decided_at, job.decided_at))
        else:
            reply = await asyncio.to_thread(self._dialog.on_silence)
            await self._respond(reply, None)

    async def _respond(self, reply: Reply, gap_from: tuple[float, float] | None) -> None:
        """Speak a reply, then carry out its action once the caller has heard it."""
        self._expect = reply.expect
        self._endpointer.set_end_of_turn_ms(self._current_eot_ms())
        self._pending_gap = gap_from
        interrupted = False
        if reply.say:
            self._speaking = asyncio.create_task(self._speak(reply))
            await asyncio.wait([self._speaking])
            interrupted = self._speaking.cancelled()
        if isinstance(reply.action, Transfer):
            await self._playout.drained()
            self._planned_end = "transferred"
            if not await self._transport.transfer(reply.action):
                self._planned_end = None
        elif isinstance(reply.action, Hangup) and not interrupted:
            await self._playout.drained()
            self._planned_end = "agent"
            await self._transport.hangup()
            self._spawn(self.end("agent"))

    async def _speak(self, reply: Reply) -> None:
        for sentence in reply.say:
            prompt = self._playout.new_prompt(sentence)
            cached = self._synth.cached(sentence) if reply.cacheable else None
            if cached is not None:
                self._playout.enqueue(prompt, cached)
            else:
                synthesis_since = self._clock()
                chunks = self._pool.stream(
                    self._synth.stream, sentence, priority=Priority.INTERACTIVE
                )
                async for chunk in chunks:
                    if not prompt.frames_queued:
                        metrics.TTS_FIRST_AUDIO_TIME.observe(self._clock() - synthesis_since)
                    self._playout.enqueue(prompt, chunk)
            self._playout.finish(prompt)
            self._record(partial(self._record_agent_turn, prompt.prompt_id, sentence))

    def _record_agent_turn(self, prompt_id: int, text: str) -> None:
        # Runs after the sentence is queued, so its first frame (and its gap) is known.
        gap_ms, processing_ms = self._prompt_gaps.pop(prompt_id, (None, None))
        self._recorder.agent_turn(text, gap_ms, processing_ms)

    def _on_first_frame(self, prompt: PromptProgress) -> None:
        now = self._clock()
        if self.stats.greeting_ms is None:
            self.stats.greeting_ms = int((now - self.stats.started_at) * 1000)
            metrics.GREETING_LATENCY.observe(now - self.stats.started_at)
        if self._pending_gap is not None:
            decided_at, speech_ended_at = self._pending_gap
            self._pending_gap = None
            gap_ms = int((now - speech_ended_at) * 1000)
            processing_ms = int((now - decided_at) * 1000)
            self.stats.processing_ms.append(processing_ms)
            self.stats.response_gaps_ms.append(gap_ms)
            self._prompt_gaps[prompt.prompt_id] = (gap_ms, processing_ms)
            metrics.RESPONSE_GAP.observe(gap_ms / 1000)
            metrics.PROCESSING_TIME.observe(processing_ms / 1000)

    async def _watch(self) -> None:
        """Keypad pauses and caller silence, checked ten times a second."""
        while True:
            await asyncio.sleep(0.1)
            now = self._clock()
            if self._dtmf_buffer and now - self._dtmf_last >= self._turns.dtmf_timeout_ms / 1000:
                self._flush_dtmf(now)
            idle = not (
                self._playout.busy
                or self._endpointer.in_speech
                or self._busy_processing
                or self._dtmf_buffer
                or not self._jobs.empty()
            )
            if not idle:
                self._last_activity = now
            elif now - self._last_activity >= self._turns.no_input_timeout_ms / 1000:
                self._last_activity = now
                self._jobs.put_nowait(_SilenceJob(now))

    # --- background bookkeeping ---------------------------------------------------------
    def _record(self, job: Callable[[], None]) -> None:
        self._records.put_nowait(job)

    async def _write_records(self) -> None:
        while True:
            job = await self._records.get()
            if job is not None:
                await self._run_record(job)

    async def _run_record(self, job: Callable[[], None]) -> None:
        try:
            await asyncio.to_thread(job)
        except Exception as exc:  # the call goes on; the store logs its own detail
            log.error("record_failed", call_sid=self.call_sid, error=type(exc).__name__)

    def _spawn(self, coro: object) -> None:
        task = asyncio.ensure_future(coro)  # type: ignore[arg-type]
        self._tasks.append(task)
        task.add_done_callback(_log_task_failure)


def _log_task_failure(task: asyncio.Task[object]) -> None:
    with contextlib.suppress(asyncio.CancelledError):
        exc = task.exception()
        if exc is not None:
            log.error("call_task_failed", error=type(exc).__name__)

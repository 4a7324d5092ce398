"""Where a turn's time goes inside the server: timing proxies around the speech pool, the
synthesizer and the dialogs, composed into a :class:`~voiceagent.runtime.Runtime` by the
benchmark's server entry point (no product code is changed or patched).

For each caller turn the server writes one JSON line (times are ``time.monotonic()``,
which on Linux is one clock for every process, so the client's own timestamps line up)::

    {"call_sid", "eot_ms", "audio_ms", "asr_submit", "asr_start", "asr_end", "asr_model_ms",
     "dialog_start", "dialog_end", "tts_submit", "tts_start", "tts_ready", "tts_cached"}

* ``asr_submit``: the session handed the utterance to the pool (its end-of-turn decision);
* ``asr_start`` / ``asr_end``: a worker ran Whisper (the gap before is the queue wait);
* ``dialog_start`` / ``dialog_end``: the dialog step in its thread (understanding, flow, store);
  between ``asr_end`` and ``dialog_start`` lies whatever the session still waited for after
  the transcript was ready (the rest of the end-of-turn wait when ASR ran speculatively
  during the caller's pause, the completeness check, the thread hop);
* ``tts_ready``: the first sentence's first audio is ready (a phrase-cache hit or the first
  streamed chunk); ``tts_submit`` / ``tts_start`` bracket its wait in the pool.

Records carry no text: turns are matched inside the server by transcript text, in memory,
and only times leave the process.
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from voiceagent.dialog.base import Reply, Utterance
from voiceagent.runtime import SpeechServices
from voiceagent.speech.asr import Transcript
from voiceagent.speech.pool import Priority, SpeechPool
from voiceagent.speech.tts import SpeechSynthesizer

T = TypeVar("T")


class Tracer:
    """Collects per-turn timings and appends them to a JSON-lines file."""

    def __init__(self, path: Path, default_eot_ms: int) -> None:
        self._path = path
        self._default_eot_ms = default_eot_ms
        self._lock = threading.Lock()
        self._file = path.open("a", encoding="utf-8", buffering=1)
        # transcript text -> ASR timings (newest last), until the dialog receives that text.
        # Text, not audio length: a transcript taken speculatively during the caller's pause
        # covers less audio than the utterance the turn finally hands the dialog.
        self._asr: dict[str, deque[dict[str, float]]] = defaultdict(deque)
        self._asr_count = 0
        # first sentence of a reply -> turn records waiting for its first audio.
        self._tts: dict[str, deque[dict[str, Any]]] = defaultdict(deque)
        self._eot: dict[str, int] = {}

    def close(self) -> None:
        with self._lock:
            self._file.close()

    # --- events ---------------------------------------------------------------------------
    def asr_done(self, transcript: Transcript, submit: float, start: float, end: float) -> None:
        key = transcript.text.strip()
        # Every decode, used or not (speculative ones may be dropped), for counting the work.
        self._write(
            {
                "decode": True,
                "asr_submit": submit,
                "asr_start": start,
                "asr_end": end,
                "audio_ms": transcript.audio_ms,
            }
        )
        with self._lock:
            self._asr[key].append(
                {
                    "asr_submit": submit,
                    "asr_start": start,
                    "asr_end": end,
                    "asr_model_ms": float(transcript.elapsed_ms),
                    "asr_audio_ms": float(transcript.audio_ms),
                }
            )
            self._asr_count += 1
            if self._asr_count > 2000:  # decodes no turn used (noise, dropped speculation)
                self._asr.clear()
                self._asr_count = 0

    def dialog_done(
        self, call_sid: str, utterance: Utterance, reply: Reply, start: float, end: float
    ) -> None:
        with self._lock:
            asr = _newest_before(self._asr.get(utterance.text), start)
            record: dict[str, Any] = {
                "call_sid": call_sid,
                "eot_ms": self._eot.get(call_sid, self._default_eot_ms),
                "audio_ms": utterance.audio_ms,
                **asr,
                "dialog_start": start,
                "dialog_end": end,
            }
            self._eot[call_sid] = reply.expect.end_of_turn_ms or self._default_eot_ms
            if reply.say:
                self._tts[reply.say[0]].append(record)
                return
        self._write(record)

    def reply_set(self, call_sid: str, reply: Reply) -> None:
        """A reply not caused by speech (greeting, keypad, silence) still sets the next wait."""
        with self._lock:
            self._eot[call_sid] = reply.expect.end_of_turn_ms or self._default_eot_ms

    def tts_ready(
        self, text: str, *, submit: float, start: float, ready: float, cached: bool
    ) -> None:
        with self._lock:
            waiting = self._tts.get(text)
            if not waiting:
                return
            record = waiting.popleft()
            if not waiting:
                del self._tts[text]
        record.update(tts_submit=submit, tts_start=start, tts_ready=ready, tts_cached=cached)
        self._write(record)

    def call_ended(self, call_sid: str) -> None:
        with self._lock:
            self._eot.pop(call_sid, None)

    def _write(self, record: dict[str, Any]) -> None:
        line = json.dumps(record)
        with self._lock:
            if not self._file.closed:
                self._file.write(line + "\n")


def _newest_before(records: deque[dict[str, float]] | None, at: float) -> dict[str, float]:
    """Take the newest ASR record that finished before ``at`` (the decode this turn used)."""
    if not records:
        return {}
    for index in range(len(records) - 1, -1, -1):
        if records[index]["asr_end"] <= at:
            record = records[index]
            del records[index]
            return record
    return {}


class TracedPool:
    """The speech pool, timing what the calls wait for (ASR runs, first synthesized audio)."""

    def __init__(self, pool: SpeechPool, tracer: Tracer) -> None:
        self._pool = pool
        self._tracer = tracer

    @property
    def workers(self) -> int:
        return self._pool.workers

    def submit(
        self, fn: Callable[..., T], /, *args: Any, priority: int = Priority.NORMAL, **kw: Any
    ) -> Any:
        return self._pool.submit(fn, *args, priority=priority, **kw)

    async def run(
        self, fn: Callable[..., T], /, *args: Any, priority: int = Priority.NORMAL, **kw: Any
    ) -> T:
        submit = time.monotonic()
        tracer = self._tracer

        def timed(*a: Any, **k: Any) -> T:
            start = time.monotonic()
            result = fn(*a, **k)
            if isinstance(result, Transcript):
                tracer.asr_done(result, submit, start, time.monotonic())
            return result

        return await self._pool.run(timed, *args, priority=priority, **kw)

    def stream(
        self,
        iterator_factory: Callable[..., Iterable[T]],
        /,
        *args: Any,
        priority: int = Priority.NORMAL,
    ) -> AsyncIterator[T]:
        submit = time.monotonic()
        tracer = self._tracer
        text = args[0] if args and isinstance(args[0], str) else None

        def timed(*a: Any) -> Iterator[T]:
            start = time.monotonic()
            for index, item in enumerate(iterator_factory(*a)):
                if index == 0 and text is not None:
                    tracer.tts_ready(
                        text, submit=submit, start=start, ready=time.monotonic(), cached=False
                    )
                yield item

        return self._pool.stream(timed, *args, priority=priority)

    def shutdown(self, wait: bool = True) -> None:
        self._pool.shutdown(wait)

    def __getattr__(self, name: str) -> Any:  # backlog and whatever the pool grows
        return getattr(self._pool, name)


class TracedSynthesizer:
    """The synthesizer, noting phrase-cache hits (audio ready at once)."""

    def __init__(self, synthesizer: SpeechSynthesizer, tracer: Tracer) -> None:
        self._synth = synthesizer
        self._tracer = tracer

    def cached(self, text: str) -> Any:
        audio = self._synth.cached(text)
        if audio is not None:
            now = time.monotonic()
            self._tracer.tts_ready(text, submit=now, start=now, ready=now, cached=True)
        return audio

    def __getattr__(self, name: str) -> Any:  # stream, synthesize, warm, sample_rate
        return getattr(self._synth, name)


class TracedDialog:
    def __init__(self, dialog: Any, call_sid: str, tracer: Tracer) -> None:
        self._dialog = dialog
        self._call_sid = call_sid
        self._tracer = tracer

    def greet(self) -> Reply:
        reply: Reply = self._dialog.greet()
        self._tracer.reply_set(self._call_sid, reply)
        return reply

    def on_utterance(self, utterance: Utterance) -> Reply:
        start = time.monotonic()
        reply: Reply = self._dialog.on_utterance(utterance)
        self._tracer.dialog_done(self._call_sid, utterance, reply, start, time.monotonic())
        return reply

    def on_dtmf(self, digits: str) -> Reply:
        reply: Reply = self._dialog.on_dtmf(digits)
        self._tracer.reply_set(self._call_sid, reply)
        return reply

    def on_silence(self) -> Reply:
        reply: Reply = self._dialog.on_silence()
        self._tracer.reply_set(self._call_sid, reply)
        return reply

    def on_hangup(self) -> Any:
        self._tracer.call_ended(self._call_sid)
        return self._dialog.on_hangup()

    def __getattr__(self, name: str) -> Any:  # on_interrupted and anything added later
        return getattr(self._dialog, name)


class TracedDialogFactory:
    def __init__(self, factory: Any, tracer: Tracer) -> None:
        self._factory = factory
        self._tracer = tracer

    def new_dialog(self, call_sid: str) -> TracedDialog:
        return TracedDialog(self._factory.new_dialog(call_sid), call_sid, self._tracer)

    def __getattr__(self, name: str) -> Any:  # front_desk, reload, fixed_phrases
        return getattr(self._factory, name)


def traced_speech(speech: SpeechServices, tracer: Tracer) -> SpeechServices:
    """The same models and pool, seen through timing proxies."""
    return SpeechServices(
        recognizer=speech.recognizer,
        synthesizer=TracedSynthesizer(speech.synthesizer, tracer),  # type: ignore[arg-type]
        pool=TracedPool(speech.pool, tracer),  # type: ignore[arg-type]
    )


def read_trace(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            records.append(json.loads(line))
    return records

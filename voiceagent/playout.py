"""Real-time pacing of the agent's voice towards the carrier.

Audio leaves in 20 ms frames against a monotonic clock, a few frames ahead of playback so
network jitter never starves the caller's ear, and never further ahead than that, so a
barge-in has almost nothing buffered to throw away. Each prompt ends with a mark; the
carrier echoes it once the caller has heard the whole prompt.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import numpy as np

FRAME_MS = 20
FRAME_SECONDS = FRAME_MS / 1000


@dataclass
class PromptProgress:
    """How far one prompt has gone out."""

    prompt_id: int
    text: str
    frames_queued: int = 0
    frames_sent: int = 0
    first_sent_at: float | None = None
    complete: bool = False  # every frame is queued (synthesis finished)
    heard: bool = False  # the carrier echoed its mark
    dropped: bool = False  # cut short by a barge-in; no mark will come


@dataclass
class PlayoutStats:
    frames_sent: int = 0
    underruns: int = 0  # frames that left later than the caller needed them
    first_frame_at: float | None = None
    prompts: dict[int, PromptProgress] = field(default_factory=dict)


@dataclass(frozen=True)
class _Frame:
    prompt_id: int
    pcm: np.ndarray


@dataclass(frozen=True)
class _Mark:
    prompt_id: int
    name: str


class Playout:
    """Queue of outgoing frames and marks, drained at real-time pace by one task."""

    def __init__(
        self,
        send_audio: Callable[[np.ndarray], Awaitable[None]],
        send_mark: Callable[[str], Awaitable[None]],
        *,
        lead_frames: int = 3,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._send_audio = send_audio
        self._send_mark = send_mark
        self._lead = lead_frames
        self._clock = clock
        self._queue: deque[_Frame | _Mark] = deque()
        self._wakeup = asyncio.Event()
        self._next_send_at: float | None = None
        self._playing_until = 0.0  # when the caller's ear runs out of what we sent
        self._prompt_ids = 0
        self.stats = PlayoutStats()
        self.on_first_frame: Callable[[PromptProgress], None] | None = None

    # --- producer side --------------------------------------------------------------------
    def new_prompt(self, text: str) -> PromptProgress:
        self._prompt_ids += 1
        progress = PromptProgress(self._prompt_ids, text)
        self.stats.prompts[progress.prompt_id] = progress
        return progress

    def enqueue(self, prompt: PromptProgress, pcm: np.ndarray) -> None:
        """Split ``pcm`` (8 kHz int16) into 20 ms frames, padding the last one."""
        samples = 160
        padded = -len(pcm) % samples
        if padded:
            pcm = np.concatenate([pcm, np.zeros(padded, dtype=np.int16)])
        for start in range(0, len(pcm), samples):
            self._queue.append(_Frame(prompt.prompt_id, pcm[start : start + samples]))
            prompt.frames_queued += 1
        self._wakeup.set()

    def finish(self, prompt: PromptProgress) -> None:
        """All of the prompt is queued: follow it with its mark."""
        prompt.complete = True
        self._queue.append(_Mark(prompt.prompt_id, mark_name(prompt.prompt_id)))
        self._wakeup.set()

    def mark_heard(self, name: str) -> PromptProgress | None:
        prompt_id = parse_mark(name)
        prompt = self.stats.prompts.get(prompt_id) if prompt_id is not None else None
        if prompt is not None:
            prompt.heard = True
            if not self._queue:
                self._playing_until = min(self._playing_until, self._clock())
        return prompt

    def clear(self) -> list[PromptProgress]:
        """Drop everything not yet sent; return the prompts that were cut short."""
        cut = {item.prompt_id for item in self._queue} | {
            p.prompt_id for p in self.stats.prompts.values() if p.frames_sent and not p.heard
        }
        self._queue.clear()
        self._next_send_at = None
        self._playing_until = self._clock()
        dropped = [self.stats.prompts[pid] for pid in sorted(cut)]
        for prompt in dropped:
            prompt.dropped = True
        return dropped

    # --- state ----------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        """True while the caller is (or is about to be) hearing the agent."""
        return bool(self._queue) or self._clock() < self._playing_until

    def heard_ms(self, prompt: PromptProgress) -> int:
        """Best estimate of how much of ``prompt`` has reached the caller's ear."""
        if prompt.heard:
            return prompt.frames_queued * FRAME_MS
        if prompt.first_sent_at is None:
            return 0
        elapsed_ms = int((self._clock() - prompt.first_sent_at) * 1000)
        return max(0, min(elapsed_ms, prompt.frames_sent * FRAME_MS))

    async def drained(self, grace_seconds: float = 1.0, poll_seconds: float = 0.02) -> None:
        """Wait until everything queued has been sent and the caller has heard it.

        The carrier's mark echo is the proof; if it never comes, give up ``grace_seconds``
        after our own estimate of the end of playback, so a lost mark cannot hang a call.
        """
        while self.busy:
            await asyncio.sleep(poll_seconds)
        give_up_at = self._clock() + grace_seconds
        while self._unheard() and self._clock() < give_up_at:
            await asyncio.sleep(poll_seconds)

    def _unheard(self) -> bool:
        return any(
            p.complete and p.frames_sent and not (p.heard or p.dropped)
            for p in self.stats.prompts.values()
        )

    # --- the pacing task ------------------------------------------------------------------
    async def run(self) -> None:
        while True:
            if not self._queue:
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            item = self._queue[0]
            if isinstance(item, _Mark):
                self._queue.popleft()
                await self._send_mark(item.name)
                continue
            await self._send_frame_on_time(item)

    async def _send_frame_on_time(self, item: _Frame) -> None:
        now = self._clock()
        prompt = self.stats.prompts[item.prompt_id]
        if self._next_send_at is None or now > self._playing_until:
            # Nothing left in the caller's buffer: start a burst of `lead` frames at once.
            if prompt.frames_sent > 0 and not prompt.heard:
                self.stats.underruns += 1
            self._next_send_at = now - self._lead * FRAME_SECONDS
        delay = self._next_send_at - now
        if delay > 0:
            await asyncio.sleep(delay)
            if not self._queue or self._queue[0] is not item:
                return  # cleared while we slept
        self._queue.popleft()
        await self._send_audio(item.pcm)
        sent_at = self._clock()
        if prompt.first_sent_at is None:
            prompt.first_sent_at = sent_at
            if self.on_first_frame is not None:
                self.on_first_frame(prompt)
        if self.stats.first_frame_at is None:
            self.stats.first_frame_at = sent_at
        prompt.frames_sent += 1
        self.stats.frames_sent += 1
        self._next_send_at += FRAME_SECONDS
        # The caller hears this frame at most `lead` frames from now.
        self._playing_until = max(self._playing_until, sent_at) + FRAME_SECONDS


def mark_name(prompt_id: int) -> str:
    return f"prompt-{prompt_id}"


def parse_mark(name: str) -> int | None:
    prefix, _, number = name.partition("-")
    return int(number) if prefix == "prompt" and number.isdigit() else None

"""A small, bounded worker pool that keeps ASR and TTS off the asyncio event loop.

Whisper and Piper calls take 20-400 ms of CPU (CTranslate2 and onnxruntime release the GIL).
Run on the event loop they would stall every call's audio pacing; run in an unbounded pool
they would oversubscribe the cores. So a fixed number of threads take work from one priority
queue: interactive work (the recognition a caller is waiting on, the first sentence of a
reply) jumps ahead of background work (warming caches, the simulator's caller voice), and
work of equal priority runs first-come first-served.

Results come back through ``concurrent.futures.Future`` + ``asyncio.wrap_future``, the same
protocol ``loop.run_in_executor`` uses, so cancelling an awaiting task drops work that has
not started yet.
"""

from __future__ import annotations

import asyncio
import enum
import itertools
import queue
import threading
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from concurrent.futures import Future
from typing import Any, TypeVar

__all__ = ["Priority", "SpeechPool"]

T = TypeVar("T")


class Priority(enum.IntEnum):
    """Lower runs first."""

    INTERACTIVE = 0
    NORMAL = 10
    BACKGROUND = 20


_STOP = object()
_Item = tuple[int, int, Any]


class SpeechPool:
    """``workers`` threads named ``speech-N`` serving a priority queue."""

    def __init__(self, workers: int = 2) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self._queue: queue.PriorityQueue[_Item] = queue.PriorityQueue()
        self._sequence = itertools.count()  # FIFO among equal priorities; never compares jobs
        self._lock = threading.Lock()
        self._closed = False
        self._threads = [
            threading.Thread(target=self._work, name=f"speech-{i}", daemon=True)
            for i in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    @property
    def workers(self) -> int:
        return len(self._threads)

    @property
    def backlog(self) -> int:
        """Jobs waiting for a free worker (0 when the pool keeps up)."""
        return self._queue.qsize()

    def submit(
        self,
        fn: Callable[..., T],
        /,
        *args: Any,
        priority: int = Priority.NORMAL,
        **kwargs: Any,
    ) -> Future[T]:
        """Queue ``fn(*args, **kwargs)``; returns a concurrent future (thread-safe)."""
        future: Future[T] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("SpeechPool is shut down")
            self._queue.put((int(priority), next(self._sequence), (future, fn, args, kwargs)))
        return future

    async def run(
        self,
        fn: Callable[..., T],
        /,
        *args: Any,
        priority: int = Priority.NORMAL,
        **kwargs: Any,
    ) -> T:
        """Await ``fn(*args, **kwargs)`` run in the pool.

        ``priority`` is consumed here, not passed to ``fn``; wrap ``fn`` in
        ``functools.partial`` if it takes a ``priority`` argument of its own.
        """
        return await asyncio.wrap_future(self.submit(fn, *args, priority=priority, **kwargs))

    async def stream(
        self,
        iterator_factory: Callable[..., Iterable[T]],
        /,
        *args: Any,
        priority: int = Priority.NORMAL,
    ) -> AsyncIterator[T]:
        """Run a blocking generator in the pool and yield its items on the loop.

        Each item is produced by its own pool job, and the next job is queued the moment an
        item arrives, before it is handed to the consumer: one item of read-ahead, so sentence
        two is synthesized while sentence one plays, but never more. If the consumer stops
        early (break, cancellation, ``aclose()``), at most that one read-ahead item is
        produced, then the generator is closed in the pool (its ``finally`` blocks run).
        Use ``contextlib.aclosing`` to close deterministically when breaking out of the loop.
        """
        iterator: list[Iterator[T]] = []  # filled by the first job, in the pool

        def first() -> tuple[bool, T | None]:
            iterator.append(iter(iterator_factory(*args)))
            return _advance(iterator[0])

        pending: Future[tuple[bool, T | None]] | None = self.submit(first, priority=priority)
        try:
            while pending is not None:
                has_item, item = await asyncio.wrap_future(pending)
                if not has_item:
                    pending = None
                    break
                pending = self.submit(_advance, iterator[0], priority=priority)
                yield item  # type: ignore[misc]
        finally:
            if pending is not None:
                # Close after the read-ahead job ends (or at once if it never started): a
                # generator cannot be closed while another thread is running it.
                pending.cancel()
                pending.add_done_callback(lambda _: _close(iterator))
            else:
                _close(iterator)

    def shutdown(self, wait: bool = True) -> None:
        """Stop accepting work, cancel queued jobs, let running ones finish, stop threads."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            while True:
                try:
                    _, _, job = self._queue.get_nowait()
                except queue.Empty:
                    break
                if job is not _STOP:
                    job[0].cancel()
            for _ in self._threads:
                self._queue.put((-1, next(self._sequence), _STOP))
        if wait:
            for thread in self._threads:
                if thread is not threading.current_thread():
                    thread.join()

    def _work(self) -> None:
        while True:
            _, _, job = self._queue.get()
            if job is _STOP:
                return
            future, fn, args, kwargs = job
            if not future.set_running_or_notify_cancel():
                continue  # cancelled while queued
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:  # handed to the awaiting task, not swallowed
                future.set_exception(exc)
            else:
                future.set_result(result)


def _advance(iterator: Iterator[T]) -> tuple[bool, T | None]:
    """One step of a generator as a pool job; (False, None) when exhausted."""
    try:
        return True, next(iterator)
    except StopIteration:
        return False, None


def _close(iterator: list[Iterator[Any]]) -> None:
    close = getattr(iterator[0], "close", None) if iterator else None
    if close is not None:
        close()

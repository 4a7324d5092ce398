"""What Linux says about a process and the machine (``/proc``), sampled in the background.

The latency benchmark runs the server as a separate process so that its CPU time and
memory are its own: ``utime + stime`` of all its threads (ASR and TTS run in threads) and
its resident set size.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and all its threads so far."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    # The command name may hold spaces; fields after its closing parenthesis are fixed.
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


def rss_mib(pid: int) -> float:
    """Resident set size now, in MiB."""
    pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    return pages * _PAGE / 2**20


def load_average() -> tuple[float, float, float]:
    one, five, fifteen = Path("/proc/loadavg").read_text().split()[:3]
    return float(one), float(five), float(fifteen)


def machine_busy_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, all cores together."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    total = sum(values[:8])  # guest time is already counted in user
    return (total - idle) / _CLOCK_TICKS, total / _CLOCK_TICKS


def own_cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


@dataclass
class Window:
    """CPU use between ``start()`` and ``stop()``: one process, this process, the machine."""

    pid: int | None
    wall_s: float = 0.0
    server_cpu_s: float | None = None
    client_cpu_s: float = 0.0
    machine_busy_s: float = 0.0
    machine_cores_s: float = 0.0
    load_before: tuple[float, float, float] = (0.0, 0.0, 0.0)
    load_after: tuple[float, float, float] = (0.0, 0.0, 0.0)
    _marks: dict[str, float] = field(default_factory=dict)

    def start(self) -> None:
        busy, total = machine_busy_seconds()
        self._marks = {
            "wall": time.monotonic(),
            "client": own_cpu_seconds(),
            "busy": busy,
            "total": total,
            "server": cpu_seconds(self.pid) if self.pid else 0.0,
        }
        self.load_before = load_average()

    def stop(self) -> None:
        busy, total = machine_busy_seconds()
        self.wall_s = time.monotonic() - self._marks["wall"]
        self.client_cpu_s = own_cpu_seconds() - self._marks["client"]
        self.machine_busy_s = busy - self._marks["busy"]
        self.machine_cores_s = total - self._marks["total"]
        if self.pid:
            self.server_cpu_s = cpu_seconds(self.pid) - self._marks["server"]
        self.load_after = load_average()

    def as_dict(self) -> dict[str, object]:
        cores = os.cpu_count() or 1
        others = None
        if self.server_cpu_s is not None:
            others = self.machine_busy_s - self.server_cpu_s - self.client_cpu_s
        return {
            "wall_s": round(self.wall_s, 1),
            "server_cpu_s": _round(self.server_cpu_s),
            "server_cores_busy": _round(self.server_cpu_s / self.wall_s)
            if self.server_cpu_s is not None and self.wall_s
            else None,
            "client_cpu_s": _round(self.client_cpu_s),
            "machine_busy_share": _round(self.machine_busy_s / self.machine_cores_s)
            if self.machine_cores_s
            else None,
            "other_processes_cpu_s": _round(others),
            "cores": cores,
            "load_average_before": self.load_before,
            "load_average_after": self.load_after,
        }


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


class RssSampler:
    """Samples a process's RSS every ``interval`` seconds on a daemon thread."""

    def __init__(self, pid: int, interval: float = 0.25) -> None:
        self.pid = pid
        self.interval = interval
        self.samples: list[tuple[float, float]] = []  # (monotonic time, MiB)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.samples.append((time.monotonic(), rss_mib(self.pid)))
            except (FileNotFoundError, ProcessLookupError):
                return
            self._stop.wait(self.interval)

    @property
    def peak_mib(self) -> float | None:
        return max((mib for _, mib in self.samples), default=None)


def wait_idle(
    pid: int, *, below: float = 0.05, quiet_s: float = 1.0, timeout_s: float = 60.0
) -> float:
    """Wait until the process uses under ``below`` of a core for ``quiet_s``; returns the wait.

    After ``/healthz`` says ready the server still synthesizes its fixed prompts in the
    background; a benchmark that starts before that measures start-up, not calls.
    """
    started = time.monotonic()
    step = 0.25
    quiet_since: float | None = None
    last = cpu_seconds(pid)
    while time.monotonic() - started < timeout_s:
        time.sleep(step)
        now_cpu = cpu_seconds(pid)
        busy = (now_cpu - last) / step
        last = now_cpu
        now = time.monotonic()
        if busy < below:
            quiet_since = quiet_since or now - step
            if now - quiet_since >= quiet_s:
                return quiet_since - started
        else:
            quiet_since = None
    return time.monotonic() - started

"""``voiceagent bench startup``: how long ``voiceagent serve`` takes to be ready for calls.

Each run launches the real command (a fresh throwaway clinic each time, prepared before the
clock starts) and times:

* ready: launch -> first ``GET /healthz`` answering 200. The runtime is built before the
  app serves, so by then both models are loaded, Whisper has run one warm-up decode and the
  greeting is in the phrase cache;
* idle: ready -> the process stops using CPU (the other fixed prompts are synthesized in
  the background after ready; a call before that may wait behind it).

and the server's resident memory at both moments.
"""

from __future__ import annotations

import os
import statistics
from collections.abc import Callable
from typing import Any

from voiceagent.bench import procstat
from voiceagent.bench.server import (
    ServerProcess,
    prepare_clinic,
    scratch_dir,
    serve_command,
    server_environment,
)
from voiceagent.bench.stats import fmt, table
from voiceagent.config import Settings
from voiceagent.simulate.server import free_port


def run_startup(
    settings: Settings, runs: int, progress: Callable[[str], None] = print
) -> dict[str, Any]:
    samples: list[dict[str, float]] = []
    for run in range(runs):
        with scratch_dir() as workdir:
            port = free_port()
            clinic = prepare_clinic(settings, workdir, port, None)
            url = f"http://127.0.0.1:{port}"
            env = server_environment(clinic, port)
            with ServerProcess(serve_command(port), env, workdir / "server.log", url) as server:
                ready_s = server.wait_ready()
                rss_ready = procstat.rss_mib(server.pid)
                cpu_ready = procstat.cpu_seconds(server.pid)
                idle_s = procstat.wait_idle(server.pid, timeout_s=120)
                samples.append(
                    {
                        "ready_s": round(ready_s, 3),
                        "idle_after_ready_s": round(idle_s, 3),
                        "rss_ready_mib": round(rss_ready, 1),
                        "rss_idle_mib": round(procstat.rss_mib(server.pid), 1),
                        "cpu_to_ready_s": round(cpu_ready, 2),
                    }
                )
        progress(f"run {run + 1}: ready in {samples[-1]['ready_s']:.2f} s")
    keys = samples[0].keys()
    return {
        "benchmark": "startup",
        "command": "voiceagent serve",
        "cores": os.cpu_count(),
        "load_average": procstat.load_average(),
        "runs": samples,
        "median": {k: statistics.median(s[k] for s in samples) for k in keys},
        "max": {k: max(s[k] for s in samples) for k in keys},
    }


def format_startup(report: dict[str, Any]) -> str:
    labels = {
        "ready_s": "launch -> /healthz ok (s)",
        "idle_after_ready_s": "ready -> idle (s)",
        "cpu_to_ready_s": "CPU used to ready (s)",
        "rss_ready_mib": "RSS at ready (MiB)",
        "rss_idle_mib": "RSS at idle (MiB)",
    }
    rows = [
        [label, fmt(report["median"][key], 2), fmt(report["max"][key], 2)]
        for key, label in labels.items()
    ]
    load = "/".join(f"{v:.2f}" for v in report["load_average"])
    return "\n".join(
        [
            f"bench startup: {report['command']}, {len(report['runs'])} runs, "
            f"{report['cores']} cores, load average {load}",
            "",
            table(("measure", "median", "max"), rows),
        ]
    )

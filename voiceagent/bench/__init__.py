"""``voiceagent bench``: measurements of the agent on this machine, printed and saved as JSON.

* ``latency``: many simultaneous scripted callers through the real server (a separate
  process by default) over real websockets at real-time pace; response gap, processing,
  barge-in, greeting, underruns, CPU and memory.
* ``startup``: launch of ``voiceagent serve`` to ready (``/healthz``) and to idle.
* ``asr``: word error rate and entity accuracy on synthesized telephone utterances.
* ``nlu``: the held-out understanding benchmark.

Benchmarks print numbers; nothing here asserts a speed. See docs/benchmarks.md.
"""

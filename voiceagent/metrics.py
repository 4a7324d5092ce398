"""Prometheus metrics. Labels are fixed vocabularies (reasons, kinds), never caller content."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

CALLS_STARTED = Counter("voiceagent_calls_started_total", "Media streams that started a call")
CALLS_ENDED = Counter("voiceagent_calls_ended_total", "Calls that ended", ["reason"])
ACTIVE_CALLS = Gauge("voiceagent_active_calls", "Calls in progress in this process")
STREAMS_REJECTED = Counter(
    "voiceagent_streams_rejected_total", "Media streams refused before any audio", ["reason"]
)
MEDIA_MESSAGES_SKIPPED = Counter(
    "voiceagent_media_messages_skipped_total", "Media stream messages logged and skipped", ["kind"]
)
WEBHOOKS_REJECTED = Counter(
    "voiceagent_webhooks_rejected_total", "Twilio webhooks refused", ["route", "reason"]
)
_LATENCY_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0, 1.5, 2.0, 3.0, 5.0, 7.5, 10, 20, 30)
_STAGE_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 2.0, 5.0, 10.0)
RESPONSE_GAP = Histogram(
    "voiceagent_response_gap_seconds",
    "Caller's last speech to the agent's first audio",
    buckets=_LATENCY_BUCKETS,
)
PROCESSING_TIME = Histogram(
    "voiceagent_processing_seconds",
    "End-of-turn decision to the agent's first audio (ASR, dialog, first synthesis)",
    buckets=_LATENCY_BUCKETS,
)
PLAYOUT_UNDERRUNS = Counter(
    "voiceagent_playout_underruns_total", "Agent audio frames that left later than needed"
)
GREETING_LATENCY = Histogram(
    "voiceagent_greeting_latency_seconds",
    "Stream start to the greeting's first audio",
    buckets=(0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0),
)
BARGE_INS = Counter("voiceagent_barge_ins_total", "Times a caller talked over the agent")
# By urgency only, never the reason code: a series that moves only for self-harm (or for
# billing, results...) would date every crisis call to the scrape interval. "emergency"
# mixes crises with chest pain and strokes. All series exist from start-up, so the first
# emergency is not announced by a new series appearing either.
TRANSFER_URGENCIES = ("routine", "urgent", "emergency")
TRANSFERS = Counter("voiceagent_transfers_total", "Warm transfers requested", ["urgency"])
for _urgency in TRANSFER_URGENCIES:
    TRANSFERS.labels(urgency=_urgency)
# Where a response gap goes, stage by stage (the benchmark's breakdown, in production).
ASR_QUEUE_TIME = Histogram(
    "voiceagent_asr_queue_seconds", "A turn's wait for a free speech worker", buckets=_STAGE_BUCKETS
)
ASR_TIME = Histogram(
    "voiceagent_asr_seconds", "Transcribing one caller turn", buckets=_STAGE_BUCKETS
)
DIALOG_TIME = Histogram(
    "voiceagent_dialog_seconds", "The dialog deciding the reply to a turn", buckets=_STAGE_BUCKETS
)
TTS_FIRST_AUDIO_TIME = Histogram(
    "voiceagent_tts_first_audio_seconds",
    "A synthesized sentence's first audio (queue included; cached prompts are instant)",
    buckets=_STAGE_BUCKETS,
)
EARLY_TRANSCRIPTIONS = Counter(
    "voiceagent_early_transcriptions_total",
    "Transcriptions of a turn so far, at its first pause, to end it early if it is complete",
)

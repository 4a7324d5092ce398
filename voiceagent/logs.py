"""Structured logging that never carries patient data.

Call sites log events with fields; fields whose names say they may hold PHI are
replaced before anything is rendered, so a careless ``log.info("x", text=...)`` cannot
leak a transcript. Free text belongs in the encrypted store, never in a log line.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

# Field names that may hold PHI. Matching is on the lower-cased name and on suffixes, so
# ``caller_phone`` and ``patient_name`` are caught too.
PHI_FIELDS = frozenset(
    {
        "text",
        "transcript",
        "utterance",
        "say",
        "prompt",
        "summary",
        "name",
        "first_name",
        "last_name",
        "dob",
        "date_of_birth",
        "phone",
        "caller",
        "from_",
        "from",
        "to",
        "address",
        "member_id",
        "group",
        "group_number",
        "medication",
        "medications",
        "dose",
        "note",
        "notes",
        "reason_text",
        "slots",
        "entities",
        "payload",
        "digits",
    }
)
PHI_SUFFIXES = ("_name", "_phone", "_dob", "_text", "_number", "_note", "_digits")
REDACTED = "[redacted]"
OUR_LOGGERS = ("voiceagent", "telephony")


def _is_phi_field(key: str) -> bool:
    lowered = key.lower()
    return lowered in PHI_FIELDS or lowered.endswith(PHI_SUFFIXES)


def redact_phi(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> Any:
    for key in list(event_dict):
        if key != "event" and _is_phi_field(key):
            event_dict[key] = REDACTED
    return event_dict


def configure_logging(level: str = "INFO", json: bool = False) -> None:
    """Route structlog and the standard library through one redacting pipeline."""
    renderer: Any = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact_phi,
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
            foreign_pre_chain=shared,
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    # Only our own code logs below WARNING. Libraries log content at DEBUG and INFO (Piper
    # the text it speaks, websockets every frame, HTTP clients request bodies), and none of
    # them knows which fields are patient data, so they are held to warnings and errors.
    root.setLevel(logging.WARNING)
    for ours in OUR_LOGGERS:
        logging.getLogger(ours).setLevel(level.upper())
    logging.getLogger("uvicorn.error").setLevel(
        max(logging.INFO, logging.getLevelName(level.upper()))
    )


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    return structlog.get_logger(name)

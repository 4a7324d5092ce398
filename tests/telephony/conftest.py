"""Fixtures for Twilio call control: the fake REST API and the product's log pipeline."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import structlog

from tests.fakes.twilio_api import fake_twilio_api  # noqa: F401
from voiceagent.logs import configure_logging


@pytest.fixture
def product_logging(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """The product's own logging pipeline (structlog through stdlib, PHI redaction on).

    Restored afterwards, so that tests elsewhere see the logging they set up themselves.
    """
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    saved_structlog = structlog.get_config()
    caplog.set_level(logging.INFO)  # first: caplog then restores the level saved here
    configure_logging("INFO", json=True)
    yield caplog
    structlog.configure(**saved_structlog)
    root.handlers[:] = saved_handlers
    root.setLevel(saved_level)

"""Every script in tests/conversations/ against the real flows and a real database."""

from __future__ import annotations

from pathlib import Path

import pytest

from voiceagent.dialog.conversations import load_conversation, run_conversation

SCRIPTS = sorted(Path(__file__).parent.glob("*.yaml"))


@pytest.mark.parametrize("path", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_conversation(path: Path, conversation_factory) -> None:  # type: ignore[no-untyped-def]
    conversation = load_conversation(path)
    db, factory = conversation_factory(conversation)
    result = run_conversation(conversation, db, factory.new_dialog, now=factory.services.clock())
    report = "\n".join(["", *result.lines, "", *result.failures])
    print(report)
    assert result.passed, report


def test_there_are_enough_scripts() -> None:
    assert len(SCRIPTS) >= 30

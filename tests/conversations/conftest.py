"""A seeded clinic database made once; each conversation runs on its own copy of it."""

from __future__ import annotations

from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import ClinicTemplate
from voiceagent.clock import fixed_clock
from voiceagent.config import REPO_ROOT
from voiceagent.dialog.conversations import Conversation
from voiceagent.dialog.factory import FlowDialogFactory
from voiceagent.store import Database

DIALOGS = REPO_ROOT / "dialogs"
CLINIC_TZ = ZoneInfo("America/New_York")


@pytest.fixture
def conversation_factory(
    clinic_template: ClinicTemplate,
) -> Iterator[callable]:
    databases: list[Database] = []

    def build(conversation: Conversation) -> tuple[Database, FlowDialogFactory]:
        db = clinic_template.fresh_database()
        databases.append(db)
        now = conversation.now.replace(tzinfo=CLINIC_TZ)
        return db, FlowDialogFactory(db, DIALOGS, clock=fixed_clock(now))

    yield build
    for db in databases:
        db.dispose()

"""A seeded clinic database made once; each conversation runs on its own copy of it."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import ClinicTemplate
from voiceagent.clock import fixed_clock
from voiceagent.config import REPO_ROOT
from voiceagent.dialog.conversations import Conversation
from voiceagent.dialog.engine import FlowDialog
from voiceagent.dialog.factory import FlowDialogFactory
from voiceagent.store import Actor, Database
from voiceagent.store.repos import calls as call_repo

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


def place_call(db: Database, factory: FlowDialogFactory, caller: str | None) -> FlowDialog:
    """A new call's record (as the webhook makes it) and its greeted dialog."""
    call_sid = "CA" + secrets.token_hex(16)
    with db.session() as session:
        call_repo.open_call(
            session,
            Actor.system("tests"),
            call_sid=call_sid,
            caller_number=caller,
            started_at=factory.services.clock(),
        )
    dialog = factory.new_dialog(call_sid)
    dialog.greet()
    return dialog

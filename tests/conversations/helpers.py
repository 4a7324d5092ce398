"""Helpers the conversation tests share."""

from __future__ import annotations

import secrets

from voiceagent.dialog.engine import FlowDialog
from voiceagent.dialog.factory import FlowDialogFactory
from voiceagent.store import Actor, Database
from voiceagent.store.repos import calls as call_repo


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

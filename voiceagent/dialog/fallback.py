"""The dialog a call gets when the normal one cannot be built (the database is down).

The caller is never left in silence: they hear an apology and are put through to the front
desk (without a summary, which could not be stored).
"""

from __future__ import annotations

from voiceagent.dialog.base import Interruption, Reply, Transfer, Utterance


class SystemTroubleDialog:
    def __init__(self, clinic_name: str) -> None:
        self._clinic_name = clinic_name

    def greet(self) -> Reply:
        return Reply.text(
            f"Thank you for calling {self._clinic_name}.",
            "I'm sorry, our system is having trouble right now. "
            "Let me connect you with our front desk.",
            action=Transfer("system_error", "urgent"),
            cacheable=True,
        )

    def on_utterance(self, utterance: Utterance) -> Reply:
        return self.greet()

    def on_dtmf(self, digits: str) -> Reply:
        return self.greet()

    def on_silence(self) -> Reply:
        return self.greet()

    def on_interrupted(self, interruption: Interruption) -> None:
        return None

    def on_hangup(self) -> None:
        return None

    def on_shutdown(self) -> Reply:
        return Reply()

    def is_complete(self, text: str) -> bool:
        return True

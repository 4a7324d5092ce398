"""Per-call counters that decide when an unsure or unhappy conversation goes to a person.

The dialog feeds one observation per caller turn; the tracker answers with a reason to hand
off, or None to carry on. Emergencies and sensitive topics do not need counting: the policy
engine's assessment of the turn already says to transfer, and the dialog acts on it first.

Reasons:

* ``low_confidence``: ASR or intent confidence under the thresholds on
  ``thresholds.low_confidence_turns`` turns in a row (a confident turn resets the run);
* ``max_attempts``: the same question failed more than ``thresholds.max_reprompts`` times
  (asked once, re-asked that many times, still no usable answer);
* ``caller_request``: the caller asked for a person (a human-request finding, or the
  ``dtmf`` key);
* ``frustration``: ``thresholds.frustration_signals`` signs of frustration in the call, each
  a frustration finding or the caller saying the same thing again word for word.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from rapidfuzz import fuzz

from voiceagent.handoff.findings import Assessment, FindingKind
from voiceagent.handoff.schema import Policy

_REPEAT_SIMILARITY = 90  # percent; "I said Tuesday" twice, allowing for Whisper's noise
_REPEAT_MIN_WORDS = 3  # "yes" twice is an answer, not a complaint


class HandoffReason(StrEnum):
    LOW_CONFIDENCE = "low_confidence"
    MAX_ATTEMPTS = "max_attempts"
    CALLER_REQUEST = "caller_request"
    FRUSTRATION = "frustration"


@dataclass
class UncertaintyTracker:
    """Counters for one call. Not thread-safe; one tracker per call."""

    policy: Policy = field(repr=False)
    low_confidence_streak: int = 0
    frustration_signals: int = 0
    failures: dict[str, int] = field(default_factory=dict)
    _last_text: str = field(default="", repr=False)  # the caller's words: never printed

    def observe(
        self,
        *,
        asr_confidence: float | None = None,
        intent_confidence: float | None = None,
        question: str | None = None,
        question_failed: bool = False,
        max_reprompts: int | None = None,
        finding: Assessment | None = None,
        text: str | None = None,
    ) -> HandoffReason | None:
        """Record one caller turn; return why to hand off now, or None.

        ``intent_confidence`` is None on turns that were not classified (a date answer).
        ``question`` names the question this turn answered; ``question_failed`` says its
        answer could not be used; ``max_reprompts`` overrides the shared default for it.
        ``text`` (kept in memory only, for repeat detection) is the turn's transcript.
        """
        thresholds = self.policy.thresholds
        if finding is not None and finding.kind is FindingKind.HUMAN_REQUEST:
            return HandoffReason.CALLER_REQUEST

        if finding is not None and finding.kind is FindingKind.FRUSTRATION:
            self.frustration_signals += 1
        if text is not None:
            if self._repeats(text) and self.policy.frustration.count_repeats:
                self.frustration_signals += 1
            self._last_text = text
        if self.frustration_signals >= thresholds.frustration_signals:
            return HandoffReason.FRUSTRATION

        if question is not None and question_failed:
            self.failures[question] = self.failures.get(question, 0) + 1
            limit = thresholds.max_reprompts if max_reprompts is None else max_reprompts
            if self.failures[question] > limit:
                return HandoffReason.MAX_ATTEMPTS

        low = (asr_confidence is not None and asr_confidence < thresholds.asr_confidence_min) or (
            intent_confidence is not None and intent_confidence < thresholds.intent_confidence_min
        )
        if asr_confidence is not None or intent_confidence is not None:
            self.low_confidence_streak = self.low_confidence_streak + 1 if low else 0
        if self.low_confidence_streak >= thresholds.low_confidence_turns:
            return HandoffReason.LOW_CONFIDENCE
        return None

    def observe_dtmf(self, digits: str) -> HandoffReason | None:
        """A single key pressed outside digit collection; the human-request key hands off."""
        return (
            HandoffReason.CALLER_REQUEST
            if digits.strip() in self.policy.human_request.dtmf
            else None
        )

    def question_answered(self, question: str) -> None:
        """The question got a usable answer; later failures of it count from zero again."""
        self.failures.pop(question, None)

    def reset(self) -> None:
        self.low_confidence_streak = 0
        self.frustration_signals = 0
        self.failures.clear()
        self._last_text = ""

    def _repeats(self, text: str) -> bool:
        current = " ".join(text.lower().split())
        if len(current.split()) < _REPEAT_MIN_WORDS or not self._last_text:
            return False
        previous = " ".join(self._last_text.lower().split())
        return fuzz.ratio(current, previous) >= _REPEAT_SIMILARITY

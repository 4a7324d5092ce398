"""The shape of ``dialogs/policy.yaml``, as pydantic models.

Every section forbids unknown keys, so a misspelt setting is reported instead of silently
ignored. Checks that need to point at one list item (duplicates, empty words, bad template
variables) live in :mod:`voiceagent.handoff.loader`, which knows the file's line numbers.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Urgency = Literal["routine", "urgent", "emergency"]

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Identifier = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z][a-z0-9_]*$", max_length=64)
]
PhraseList = Annotated[list[Text], Field(min_length=1)]
# One word combination: a list of word groups that must all be heard close together; each
# group lists its alternatives separated by "|" ("pain | pressure | tight*").
Combination = Annotated[list[Text], Field(min_length=1, max_length=4)]

# Variables a spoken template may use; the engine fills them in.
TEMPLATE_VARIABLES = frozenset({"clinic_name", "next_opening", "hours_today"})


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Thresholds(Section):
    asr_confidence_min: float = Field(0.5, ge=0.0, le=1.0)
    intent_confidence_min: float = Field(0.4, ge=0.0, le=1.0)
    low_confidence_turns: int = Field(2, ge=1, le=10)
    max_reprompts: int = Field(2, ge=0, le=10)
    frustration_signals: int = Field(2, ge=1, le=10)
    word_similarity: int = Field(85, ge=70, le=100)
    phrase_similarity: int = Field(88, ge=70, le=100)
    word_window: int = Field(6, ge=1, le=20)
    phrase_gap: int = Field(1, ge=0, le=3)
    classifier_min: float = Field(0.9, ge=0.5, le=1.0)


class Matching(Section):
    sounds_like: dict[Text, Text] = Field(default_factory=dict)
    negation_words: PhraseList
    uncertain_words: list[Text] = Field(default_factory=list)
    not_symptoms: list[Text] = Field(default_factory=list)
    red_flag_words: list[Text] = Field(default_factory=list)


class EmergencyCategory(Section):
    id: Identifier
    label: Text
    reason: Text
    reason_code: Identifier = "emergency"
    urgency: Urgency = "emergency"
    guidance: Text
    phrases: PhraseList
    word_combinations: list[Combination] = Field(default_factory=list)


class SensitiveTopic(Section):
    id: Identifier
    label: Text
    reason: Text
    reason_code: Identifier
    urgency: Urgency = "routine"
    say: Text | None = None
    phrases: PhraseList
    word_combinations: list[Combination] = Field(default_factory=list)


class HumanRequest(Section):
    reason: Text
    reason_code: Identifier = "caller_request"
    urgency: Urgency = "routine"
    dtmf: list[Annotated[str, StringConstraints(pattern=r"^[0-9*#]$")]] = Field(
        default_factory=lambda: ["0"]
    )
    phrases: PhraseList
    short_answers: list[Text] = Field(default_factory=list)
    word_combinations: list[Combination] = Field(default_factory=list)


class Frustration(Section):
    reason: Text
    reason_code: Identifier = "frustration"
    urgency: Urgency = "routine"
    phrases: PhraseList
    swear_words: list[Text] = Field(default_factory=list)
    word_combinations: list[Combination] = Field(default_factory=list)
    repeated_no: int = Field(3, ge=2, le=10)
    count_repeats: bool = True


class UncertaintyReason(Section):
    reason: Text
    say: Text


class Uncertainty(Section):
    low_confidence: UncertaintyReason
    max_attempts: UncertaintyReason


class AfterHours(Section):
    no_transfer: Text
    ask_reason: Text
    callback_confirmation: Text
    emergency: Text


class Messages(Section):
    transfer: Text
    emergency_transfer: Text
    sensitive: Text
    human_request: Text
    frustration_noticed: Text
    frustration_transfer: Text
    # Said when the front desk did not answer a transfer; the request becomes a callback.
    transfer_failed: Text = (
        "I'm sorry, no one at the front desk could take your call right now. We've saved "
        "your request, and someone will call you back as soon as possible."
    )


class Policy(Section):
    """The whole policy file."""

    version: Literal[1]
    thresholds: Thresholds = Field(default_factory=Thresholds)
    matching: Matching
    emergencies: Annotated[list[EmergencyCategory], Field(min_length=1)]
    sensitive_topics: list[SensitiveTopic] = Field(default_factory=list)
    human_request: HumanRequest
    frustration: Frustration
    uncertainty: Uncertainty
    after_hours: AfterHours
    messages: Messages
    ordinary_requests: list[Text] = Field(default_factory=list)

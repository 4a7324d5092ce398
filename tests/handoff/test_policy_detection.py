"""Detection on held-out phrasings: emergencies, sensitive topics, asking for a person,
frustration, and ordinary requests that must not trigger anything."""

from __future__ import annotations

import pytest

from tests.handoff.heldout import (
    EMERGENCIES,
    EMERGENCY_MISSES,
    FRUSTRATION,
    HUMAN_REQUESTS,
    ORDINARY,
    SENSITIVE,
)
from voiceagent.handoff import Action, FindingKind, PolicyEngine

EMERGENCY_CASES = [
    (category, text)
    for category, texts in EMERGENCIES.items()
    for text in texts
    if text not in EMERGENCY_MISSES
]
SENSITIVE_CASES = [(topic, text) for topic, texts in SENSITIVE.items() for text in texts]


def test_every_category_has_enough_held_out_phrasings(engine: PolicyEngine) -> None:
    ids = {c.id for c in engine.policy.emergencies}
    required = set(EMERGENCIES)
    assert required <= ids
    for category, texts in EMERGENCIES.items():
        assert len([t for t in texts if t not in EMERGENCY_MISSES]) >= 5, category
    assert {t.id for t in engine.policy.sensitive_topics} == set(SENSITIVE)
    assert all(len(texts) >= 3 for texts in SENSITIVE.values())
    assert len(HUMAN_REQUESTS) >= 15
    assert len(ORDINARY) >= 40


@pytest.mark.parametrize(("category", "text"), EMERGENCY_CASES)
def test_emergency_is_recognised_with_911_guidance(
    engine: PolicyEngine, category: str, text: str
) -> None:
    finding = engine.assess(text)
    assert finding is not None and finding.kind is FindingKind.EMERGENCY, finding
    assert finding.urgency == "emergency"
    assert finding.action is Action.TRANSFER
    assert "9 1 1" in finding.say[0]
    if category == "self_harm":
        assert (finding.category, finding.reason_code) == ("self_harm", "self_harm")
        assert "9 8 8" in finding.say[0]
    else:
        assert finding.reason_code == "emergency"
        assert "9 8 8" not in finding.say[0]


@pytest.mark.parametrize(("topic", "text"), SENSITIVE_CASES)
def test_sensitive_topic_goes_to_staff(engine: PolicyEngine, topic: str, text: str) -> None:
    finding = engine.assess(text)
    assert finding is not None and finding.kind is FindingKind.SENSITIVE, finding
    assert finding.category == topic
    configured = {t.id: t.reason_code for t in engine.policy.sensitive_topics}
    assert finding.reason_code == configured[topic]
    assert finding.urgency == "routine"
    assert finding.action is Action.TRANSFER
    assert finding.reason.endswith(".")
    assert "front desk" in finding.say[-1]


@pytest.mark.parametrize("text", HUMAN_REQUESTS)
def test_asking_for_a_person_transfers(engine: PolicyEngine, text: str) -> None:
    finding = engine.assess(text)
    assert finding is not None and finding.kind is FindingKind.HUMAN_REQUEST, finding
    assert finding.reason_code == "caller_request"
    assert finding.action is Action.TRANSFER


@pytest.mark.parametrize("text", FRUSTRATION)
def test_frustration_is_a_signal_not_a_transfer(engine: PolicyEngine, text: str) -> None:
    finding = engine.assess(text)
    assert finding is not None and finding.kind is FindingKind.FRUSTRATION, finding
    assert finding.action is Action.CONTINUE
    assert not finding.hands_off


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_request_triggers_nothing(engine: PolicyEngine, text: str) -> None:
    assert engine.assess(text) is None


def test_held_out_recall_and_false_positives(engine: PolicyEngine) -> None:
    """The figures quoted in docs/policy.md; run with -rP to see them."""
    emergencies = [(c, t) for c, texts in EMERGENCIES.items() for t in texts]
    found = 0
    right_category = 0
    for category, text in emergencies:
        finding = engine.assess(text)
        if finding is not None and finding.is_emergency:
            found += 1
            right_category += finding.category == category
    false_alarms = sum(engine.assess(t) is not None for t in ORDINARY)
    recall = found / len(emergencies)
    print(
        f"held-out emergencies: {found}/{len(emergencies)} recognised ({recall:.1%}), "
        f"{right_category} in the expected category; ordinary requests flagged: "
        f"{false_alarms}/{len(ORDINARY)}"
    )
    assert recall >= 0.97
    assert false_alarms == 0


@pytest.mark.parametrize(
    "text",
    [
        "I want to die",
        "I have a plan to take all my pills and end it",
        "I'm thinking about overdosing on purpose",
    ],
)
def test_self_harm_wins_over_other_emergencies(engine: PolicyEngine, text: str) -> None:
    finding = engine.assess(text)
    assert finding is not None and finding.category == "self_harm"
    assert "9 8 8" in finding.say[0] and "9 1 1" in finding.say[0]


def test_priority_emergency_over_sensitive_over_person_over_frustration(
    engine: PolicyEngine,
) -> None:
    text = "this is ridiculous, let me talk to a person about my lab results, my chest hurts"
    assert engine.assess(text).kind is FindingKind.EMERGENCY
    text = "this is ridiculous, let me talk to a person about my lab results"
    assert engine.assess(text).kind is FindingKind.SENSITIVE
    text = "this is ridiculous, let me talk to a person"
    assert engine.assess(text).kind is FindingKind.HUMAN_REQUEST
    assert engine.assess("this is ridiculous").kind is FindingKind.FRUSTRATION


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("no chest pain, I just need a refill", None),
        ("No chest pain. I just need a refill.", None),
        ("I'm not having any trouble breathing, I just need my inhaler refilled", None),
        ("no shortness of breath or chest pain", None),
        ("my chest doesn't hurt anymore", None),
        ("I'm not suicidal, I just need my antidepressant refilled", None),
        ("it's not an emergency, I just need a refill", None),
        ("I don't need to speak to anyone", None),
        ("please don't transfer me", None),
        ("I'm not calling about my bill, I need to book", None),
        # An answer "no" followed by the symptom is not a denial.
        ("No, I'm having chest pain", FindingKind.EMERGENCY),
        ("no my chest really hurts", FindingKind.EMERGENCY),
        ("I have no fever, my chest hurts", FindingKind.EMERGENCY),
        # A new clause starts after "but".
        ("I don't have a fever but my chest is tight", FindingKind.EMERGENCY),
        # Doubt keeps the finding: when in doubt, escalate.
        ("not sure if it's a heart attack", FindingKind.EMERGENCY),
        ("I don't think he's breathing", FindingKind.EMERGENCY),
        # The denial is part of the symptom.
        ("he isn't breathing", FindingKind.EMERGENCY),
        ("my baby is not breathing", FindingKind.EMERGENCY),
        ("I don't want to live anymore", FindingKind.EMERGENCY),
        ("I don't want to talk to a robot", FindingKind.HUMAN_REQUEST),
    ],
)
def test_negation(engine: PolicyEngine, text: str, expected: FindingKind | None) -> None:
    finding = engine.assess(text)
    assert (finding.kind if finding else None) is expected, finding


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Borderline wording, decided and documented in docs/policy.md.
        ("my chest x-ray appointment is on Tuesday", None),
        ("I need a refill of my heart medication", None),
        ("I have Blue Cross", None),
        ("I have poison ivy", None),
        ("I need a refill on my seizure meds", None),
        ("I have a family emergency and need to cancel", None),
        ("I hurt myself at the gym", None),
        ("my daughter has a fever of 101, can she be seen today?", None),
        ("my baby has a fever", FindingKind.EMERGENCY),
        ("I had chest pain last week and want to see the doctor", FindingKind.EMERGENCY),
        ("I think I'm having a strike", FindingKind.EMERGENCY),  # misheard "stroke"
        ("I think I'm having a hard attack", FindingKind.EMERGENCY),  # misheard "heart"
        ("chess pain", FindingKind.EMERGENCY),
        ("I want to dispute a charge", FindingKind.SENSITIVE),  # not "I want to die"
        ("I talked to someone yesterday about my refill", None),
        ("this is Bill calling about my appointment", None),
        ("my phone number is 555-911-2345", None),  # digits in a row are one number
        ("should I call 9-1-1", FindingKind.EMERGENCY),
    ],
)
def test_borderline_phrases(engine: PolicyEngine, text: str, expected: FindingKind | None) -> None:
    finding = engine.assess(text)
    assert (finding.kind if finding else None) is expected, finding


@pytest.mark.parametrize("text", ["no no no", "No. No. No!", "no, no, no, no"])
def test_repeated_no_is_frustration(engine: PolicyEngine, text: str) -> None:
    assert engine.assess(text).kind is FindingKind.FRUSTRATION


@pytest.mark.parametrize("text", ["no", "No, no, the 14th", "No.", "", "   ", "um"])
def test_one_or_two_noes_and_empty_text_are_nothing(engine: PolicyEngine, text: str) -> None:
    assert engine.assess(text) is None


def test_dtmf_zero_asks_for_a_person(engine: PolicyEngine) -> None:
    finding = engine.assess_dtmf("0")
    assert finding is not None and finding.kind is FindingKind.HUMAN_REQUEST
    assert finding.action is Action.TRANSFER
    assert engine.assess_dtmf("5") is None
    assert engine.assess_dtmf("03031982") is None  # digits being collected, not a request


def test_evidence_is_the_policys_wording_not_the_callers(engine: PolicyEngine) -> None:
    finding = engine.assess("uh my dad Roberto is clutching his chest")
    assert finding is not None and finding.is_emergency
    assert "roberto" not in finding.evidence.lower()
    assert "chest" in finding.evidence


def test_explain_lists_denied_rules(engine: PolicyEngine) -> None:
    explanations = engine.explain("no chest pain, I just need a refill")
    assert explanations, "the denied chest-pain rule should be listed"
    assert all(not e.counts for e in explanations)
    assert {e.category for e in explanations} == {"chest_pain"}

from __future__ import annotations

import pytest

from voiceagent.understanding.entities import rank, resolve
from voiceagent.understanding.training import TrainingSet

MEDS = ["lisinopril", "metformin", "atorvastatin", "levothyroxine", "oxycodone", "albuterol"]
PROVIDERS = ["Dr. Anita Patel", "Dr. James Lee", "Karen Smith, NP"]
PROVIDER_ALIASES = {"Karen Smith, NP": ["the nurse practitioner", "NP"]}
TYPES = ["Annual physical", "Sick visit", "Follow-up visit", "New patient visit"]
TYPE_ALIASES = {"Annual physical": ["checkup", "check up", "wellness visit"]}
CARRIERS = ["Aetna", "Blue Cross Blue Shield", "Cigna", "Medicare", "Medicaid", "UnitedHealthcare"]
PHARMACIES = [
    "CVS Pharmacy on Main Street",
    "CVS Pharmacy on Elm Street",
    "Walgreens on Oak Avenue",
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I need my listen-up role", "lisinopril"),
        ("lice in a pril", "lisinopril"),
        ("the met for men", "metformin"),
        ("Lisinopril 10 milligrams", "lisinopril"),
        ("a tor va statin", "atorvastatin"),
        ("levo thyroxin", "levothyroxine"),
        ("albuterol inhaler", "albuterol"),
    ],
)
def test_medications_by_spelling_and_sound(text: str, expected: str) -> None:
    match = resolve(text, MEDS)
    assert match is not None
    assert match.value == expected
    assert 0.8 <= match.score <= 1.0


def test_listen_up_role_needs_lisinopril_on_the_list() -> None:
    assert resolve("listen-up role", ["metformin", "oxycodone"]) is None


@pytest.mark.parametrize(
    ("text", "candidates", "aliases", "expected"),
    [
        ("Dr. Lee", PROVIDERS, PROVIDER_ALIASES, "Dr. James Lee"),
        ("doctor patel", PROVIDERS, PROVIDER_ALIASES, "Dr. Anita Patel"),
        ("the nurse practitioner", PROVIDERS, PROVIDER_ALIASES, "Karen Smith, NP"),
        ("a physical", TYPES, TYPE_ALIASES, "Annual physical"),
        ("just a checkup", TYPES, TYPE_ALIASES, "Annual physical"),
        ("I'm sick", TYPES, TYPE_ALIASES, "Sick visit"),
        ("a follow up", TYPES, TYPE_ALIASES, "Follow-up visit"),
        ("blue cross", CARRIERS, None, "Blue Cross Blue Shield"),
        ("united", CARRIERS, None, "UnitedHealthcare"),
        ("etna", CARRIERS, None, "Aetna"),
        ("I have Signa", CARRIERS, None, "Cigna"),
        ("the CVS on Main", PHARMACIES, None, "CVS Pharmacy on Main Street"),
        ("CVS on Elm", PHARMACIES, None, "CVS Pharmacy on Elm Street"),
    ],
)
def test_names_from_other_lists(
    text: str, candidates: list[str], aliases: dict[str, list[str]] | None, expected: str
) -> None:
    match = resolve(text, candidates, aliases)
    assert match is not None
    assert match.value == expected


@pytest.mark.parametrize(
    ("text", "candidates"),
    [
        ("amoxicillin", MEDS),
        ("I need a refill please", MEDS),
        ("my blood pressure pill", MEDS),
        ("the cholesterol one", MEDS),
        ("Dr. Johnson", PROVIDERS),
        ("anybody is fine", PROVIDERS),
        ("I want to paint my kitchen", TYPES),
        ("I need a new appointment", TYPES),
        ("Geico", CARRIERS),
        ("medic", CARRIERS),  # Medicare or Medicaid: a tie is no answer
        ("the CVS", PHARMACIES),  # two CVS branches
        ("Costco", PHARMACIES),
        ("", MEDS),
    ],
)
def test_does_not_over_match(text: str, candidates: list[str]) -> None:
    assert resolve(text, candidates) is None


def test_no_medication_in_everyday_clinic_requests(training_set: TrainingSet) -> None:
    """Across hundreds of training phrases that name no medication, nothing resolves."""
    naming_medications = {"refill_request", "correction"}
    phrases = [
        text
        for intent, examples in training_set.intents.items()
        if intent not in naming_medications
        for text in examples
    ] + training_set.out_of_scope
    assert len(phrases) > 500
    matched = [text for text in phrases if resolve(text, MEDS) is not None]
    assert matched == []


def test_rank_orders_every_candidate() -> None:
    ranked = rank("met for men", MEDS)
    assert ranked[0].value == "metformin"
    assert [m.score for m in ranked] == sorted((m.score for m in ranked), reverse=True)
    assert ranked[0].heard == "met for men"

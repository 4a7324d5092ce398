from __future__ import annotations

import pytest

from voiceagent.understanding.entities import PersonName, name_similarity, parse_person_name


@pytest.mark.parametrize(
    ("text", "first", "last"),
    [
        ("my name is Maria Gonzalez", "Maria", "Gonzalez"),
        ("This is Maria Gonzalez.", "Maria", "Gonzalez"),
        ("It's Maria Gonzalez.", "Maria", "Gonzalez"),
        ("Maria Gonzalez", "Maria", "Gonzalez"),
        ("maria gonzalez", "Maria", "Gonzalez"),
        ("Gonzalez, Maria.", "Maria", "Gonzalez"),
        ("Maria, last name G-O-N-Z-A-L-E-Z.", "Maria", "Gonzalez"),
        ("Maria Gonzales, that's G O N Z A L E Z", "Maria", "Gonzalez"),
        ("Yeah hi, this is John Smith calling.", "John", "Smith"),
        ("Robert O'Brien", "Robert", "O'Brien"),
        ("My name's Anne-Marie Dubois", "Anne-Marie", "Dubois"),
        ("Carlos de la Cruz", "Carlos", "De La Cruz"),
        ("First name Kevin, last name Nguyen", "Kevin", "Nguyen"),
        ("My name is Maria Gonzalez and my birthday is March 3rd", "Maria", "Gonzalez"),
    ],
)
def test_names(text: str, first: str, last: str) -> None:
    name = parse_person_name(text)
    assert name is not None
    assert (name.first, name.last) == (first, last)


def test_middle_name_is_kept_apart() -> None:
    assert parse_person_name("Patricia Ann Miller") == PersonName("Patricia", "Miller", "Ann")


def test_spelled_name_alone_is_the_last_name() -> None:
    assert parse_person_name("G-O-N-Z-A-L-E-Z") == PersonName(None, "Gonzalez")


@pytest.mark.parametrize(
    "text", ["", "Yes.", "I want to book an appointment", "what's the address", "um"]
)
def test_not_a_name(text: str) -> None:
    assert parse_person_name(text) is None


def test_name_similarity_tolerates_whisper_but_not_other_people() -> None:
    heard = parse_person_name("It's Marie Gonzalez")
    assert heard is not None
    assert name_similarity(heard, "Maria", "Gonzalez") > 0.9
    assert name_similarity(PersonName("Gonzalez", "Maria"), "Maria", "Gonzalez") > 0.9
    assert name_similarity(PersonName("John", "Smith"), "Maria", "Gonzalez") < 0.5
    assert name_similarity(PersonName("Maria", None), "Maria", "Gonzalez") <= 0.5

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from voiceagent.understanding import Understanding, get_understanding


def test_facade_reaches_classifier_and_entities(dialogs_dir: Path, now: datetime) -> None:
    nlu = get_understanding(dialogs_dir)
    assert get_understanding(dialogs_dir) is nlu  # loaded once per process
    assert isinstance(nlu, Understanding)
    assert nlu.classify("I'd like to book an appointment").intent == "book_appointment"
    assert nlu.yes_no("yeah") is not None
    pref = nlu.time_preference("tomorrow", now)
    assert pref is not None and pref.earliest == date(2026, 11, 19)
    assert nlu.date_of_birth("3/3/82", date(2026, 1, 1)) == date(1982, 3, 3)
    assert nlu.digits("double five") == "55"
    assert nlu.phone("555 123 4567") == "+15551234567"
    assert nlu.member_id("W as in William 1 2 3 4") == "W1234"
    name = nlu.person_name("this is Maria Gonzalez")
    assert name is not None and name.last == "Gonzalez"
    assert nlu.choice("the second one", ["a", "b"]) == 1
    match = nlu.resolve("listen-up role", ["lisinopril"])
    assert match is not None and match.value == "lisinopril"
    assert nlu.hotwords_for("medication", ["lisinopril"]) == ["lisinopril"]


def test_reload_builds_a_new_model(dialogs_dir: Path) -> None:
    first = get_understanding(dialogs_dir)
    assert get_understanding(dialogs_dir, reload=True) is not first

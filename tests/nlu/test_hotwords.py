from __future__ import annotations

from voiceagent.understanding.entities import hotwords_for, resolve


def test_candidates_first_then_kind_vocabulary() -> None:
    words = hotwords_for("provider", ["Dr. Anita Patel", "Karen Smith, NP"])
    assert words[:3] == ["Dr. Anita Patel", "Anita", "Patel"]
    assert "Karen" in words and "Doctor" in words
    assert "Dr" not in words and "NP" not in words


def test_medication_hotwords_are_what_resolution_matches() -> None:
    meds = ["lisinopril", "metformin"]
    words = hotwords_for("medication", meds)
    assert words == meds
    assert all(resolve(w, meds) is not None for w in words)


def test_kind_only_and_deduplicated_and_capped() -> None:
    assert "March" in hotwords_for("date_of_birth")
    assert hotwords_for("digits", ["oh", "Oh"]).count("oh") == 1
    assert len(hotwords_for("medication", [f"drug{i}" for i in range(100)])) == 40
    assert hotwords_for("unknown_kind") == []

"""The scripted caller listens the way a person would."""

from __future__ import annotations

from voiceagent.simulate.caller import heard_as


def test_simulated_caller_hears_like_a_person_not_a_regex() -> None:
    assert heard_as("what day or time", "what day were time works best for you?")
    assert heard_as(
        "to confirm.*sick visit.*book", "to confirm a sick visit on monday, shall i book it?"
    )
    assert heard_as("9\\W?1\\W?1", "please hang up and dial 911 now")
    assert not heard_as("which medication", "which insurance company is it?")
    assert not heard_as("first and last name", "what is your date of birth?")
    assert not heard_as("refill.*pharmacy", "the pharmacy on file, then a refill")  # order matters

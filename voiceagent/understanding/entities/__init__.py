"""Entity parsers: pure functions from caller text to a typed value or None."""

from __future__ import annotations

from voiceagent.understanding.entities.choice import Option, parse_choice
from voiceagent.understanding.entities.date_of_birth import parse_date_of_birth
from voiceagent.understanding.entities.digits import parse_digits
from voiceagent.understanding.entities.hotwords import EntityKind, hotwords_for
from voiceagent.understanding.entities.member_id import parse_member_id
from voiceagent.understanding.entities.person_name import (
    PersonName,
    name_similarity,
    parse_person_name,
)
from voiceagent.understanding.entities.phone import parse_phone
from voiceagent.understanding.entities.resolve import Match, rank, resolve
from voiceagent.understanding.entities.time_preference import (
    TimePreference,
    parse_time_preference,
)
from voiceagent.understanding.entities.yes_no import YesNo, parse_yes_no

__all__ = [
    "EntityKind",
    "Match",
    "Option",
    "PersonName",
    "TimePreference",
    "YesNo",
    "hotwords_for",
    "name_similarity",
    "parse_choice",
    "parse_date_of_birth",
    "parse_digits",
    "parse_member_id",
    "parse_person_name",
    "parse_phone",
    "parse_time_preference",
    "parse_yes_no",
    "rank",
    "resolve",
]

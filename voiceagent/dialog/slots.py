"""Turning an answer (spoken or keyed) into a slot value of the type the flow asked for."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from voiceagent.dialog.base import DtmfMode, Expectation
from voiceagent.understanding import entities
from voiceagent.understanding.nlu import Understanding
from voiceagent.understanding.text import normalize

NO_PREFERENCE = re.compile(
    r"\b(no preference|(it )?doesn'?t matter|anyone|anybody|any (one|doctor|provider|of them"
    r"|time|day)|whoever|whichever|either( one)?|don'?t care|no one in particular|not really"
    r"|none|there isn'?t one|(i )?don'?t have (one|a group))\b"
)
# Kinds the NLU's hotword helper knows under another name.
_HOTWORD_KIND = {"carrier": "insurance_carrier", "group_number": "digits"}
_RESOLVED = frozenset({"medication", "provider", "appointment_type", "carrier", "pharmacy"})
_KEYPAD_DIGITS = {"date_of_birth": 8, "phone": 10}
_SLOW_ANSWERS = frozenset({"date_of_birth", "phone", "member_id", "group_number", "digits"})


@dataclass(frozen=True)
class Filled:
    """An understood answer (its value may be None for "no preference")."""

    value: Any


@dataclass(frozen=True)
class SlotRequest:
    type: str
    options: Sequence[Any] = ()
    candidates: Sequence[Any] = ()
    optional: bool = False


def candidate_name(item: Any) -> str:
    if isinstance(item, Mapping):
        return str(item.get("name") or item.get("label") or "")
    return str(item)


def _aliases(items: Sequence[Any]) -> dict[str, list[str]]:
    return {
        candidate_name(item): list(item.get("aliases") or [])
        for item in items
        if isinstance(item, Mapping) and item.get("aliases")
    }


def _option_key(option: Any) -> str | datetime:
    if isinstance(option, Mapping):
        start = option.get("start")
        return start if isinstance(start, datetime) else candidate_name(option)
    return option if isinstance(option, datetime) else str(option)


def extract(request: SlotRequest, text: str, nlu: Understanding, now: datetime) -> Filled | None:
    """The answer in ``text``, or None when it is not there."""
    kind = request.type
    if request.optional and NO_PREFERENCE.search(normalize(text)):
        return Filled(None)
    value: Any
    if kind == "yes_no":
        answer = nlu.yes_no(text)
        value = None if answer is None else answer.answer
    elif kind == "person_name":
        name = nlu.person_name(text)
        # A first or last name alone is not an answer: both are needed to verify anyone.
        value = name if name is not None and name.first and name.last else None
    elif kind == "date_of_birth":
        value = nlu.date_of_birth(text, today=now.date())
    elif kind == "phone":
        value = nlu.phone(text)
    elif kind == "member_id":
        value = nlu.member_id(text)
    elif kind in ("digits", "group_number"):
        value = nlu.member_id(text) if kind == "group_number" else nlu.digits(text)
    elif kind == "time_preference":
        value = nlu.time_preference(text, now=now)
    elif kind == "choice":
        index = nlu.choice(text, [_option_key(o) for o in request.options])
        value = request.options[index] if index is not None else None
    elif kind in _RESOLVED:
        value = _resolve(nlu, text, request.candidates)
    else:  # free text: whatever the caller said
        value = text.strip() or None
    return None if value is None else Filled(value)


def _resolve(nlu: Understanding, text: str, candidates: Sequence[Any]) -> Any:
    names = [candidate_name(c) for c in candidates]
    match = nlu.resolve(text, names, _aliases(candidates))
    if match is None:
        return None
    return next(c for c in candidates if candidate_name(c) == match.value)


def from_keypad(
    request: SlotRequest, digits: str, nlu: Understanding, today: date
) -> Filled | None:
    """A keypad answer: eight digits for a date of birth (MMDDYYYY), ten for a phone..."""
    kind = request.type
    value: Any = None
    if kind == "date_of_birth":
        value = nlu.date_of_birth(digits, today=today)
    elif kind == "phone":
        value = nlu.phone(digits)
    elif kind in ("member_id", "group_number", "digits"):
        value = digits or None
    elif kind == "yes_no":
        value = {"1": True, "2": False}.get(digits)
    elif kind == "choice" and digits.isdigit() and 1 <= int(digits) <= len(request.options):
        value = request.options[int(digits) - 1]
    return None if value is None else Filled(value)


def expectation(request: SlotRequest) -> Expectation:
    """What ASR and the endpointer should expect for this answer."""
    kind = _HOTWORD_KIND.get(request.type, request.type)
    names = [candidate_name(c) for c in request.candidates or request.options]
    hotwords = tuple(entities.hotwords_for(kind, names)) if kind != "text" else ()
    if request.type in _KEYPAD_DIGITS or request.type in _SLOW_ANSWERS:
        return Expectation(
            hotwords=hotwords,
            dtmf=DtmfMode.DIGITS,
            max_digits=_KEYPAD_DIGITS.get(request.type),
            # People read numbers in groups with pauses; do not cut them off mid-number.
            end_of_turn_ms=1100,
        )
    if request.type == "yes_no":
        return Expectation(hotwords=hotwords, end_of_turn_ms=450)
    return Expectation(hotwords=hotwords)

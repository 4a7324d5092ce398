"""Biasing words for ASR from what the dialog expects next.

The same candidate lists feed :func:`~voiceagent.understanding.entities.resolve.resolve`,
so what whisper is nudged toward is exactly what resolution can recognise. faster-whisper
takes hotwords as one prompt string; keep the list short (it shares whisper's 224-token
prompt budget), most specific words first.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from voiceagent.understanding.entities.resolve import GENERIC
from voiceagent.understanding.text import tokenize

EntityKind = Literal[
    "medication", "provider", "appointment_type", "insurance_carrier", "pharmacy",
    "person_name", "date_of_birth", "time_preference", "phone", "member_id", "digits",
    "yes_no", "choice",
]  # fmt: skip
MAX_HOTWORDS = 40

# Vocabulary whisper tends to get wrong for each kind when it is not primed.
_KIND_WORDS: dict[str, tuple[str, ...]] = {
    "date_of_birth": ("January", "February", "March", "April", "May", "June", "July",
                      "August", "September", "October", "November", "December"),
    "digits": ("zero", "oh", "double", "triple"),
    "phone": ("area code", "zero", "oh", "double"),
    "member_id": ("as in", "double-u", "zero", "oh"),
    "time_preference": ("morning", "afternoon", "a.m.", "p.m.", "next week", "Monday",
                        "Tuesday", "Wednesday", "Thursday", "Friday"),
    "yes_no": ("yes", "no", "yeah", "nope", "correct"),
    "provider": ("Doctor",),
}  # fmt: skip


def hotwords_for(kind: str, candidates: Iterable[str] = ()) -> list[str]:
    """Words to bias ASR toward for the next answer: candidate names, then kind vocabulary."""
    out: list[str] = []
    seen: set[str] = set()

    def add(word: str) -> None:
        key = word.lower()
        if word and key not in seen:
            seen.add(key)
            out.append(word)

    for name in candidates:
        add(name.strip())
        # Distinctive single words too ("Patel" from "Dr. Anita Patel"): callers use them.
        words = [w for w in name.replace(",", " ").split() if w.strip(".").lower() not in GENERIC]
        if len(words) > 1:
            for word in words:
                if len(tokenize(word)) == 1 and len(word.strip(".")) > 2:
                    add(word.strip("."))
    for word in _KIND_WORDS.get(kind, ()):
        add(word)
    return out[:MAX_HOTWORDS]

"""Resolve what the caller said against a known list of names, fuzzily and by sound.

Used for the patient's own medications, providers, appointment types, insurance carriers and
pharmacies. Whisper splits and respells unfamiliar words ("listen-up role" for lisinopril,
"met for men" for metformin), so every window of 1-6 words of the utterance is glued together
and compared with every surface form of every candidate by spelling (rapidfuzz) and by sound
(metaphone and NYSIIS codes from jellyfish). Short names get no phonetic leniency, and a
match must clear ``threshold``, so unrelated speech resolves to nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import jellyfish
from rapidfuzz import fuzz

from voiceagent.understanding.text import tokenize

DEFAULT_THRESHOLD = 0.8
# Words that never identify a candidate on their own ("Dr.", "Street", "visit").
GENERIC = frozenset(
    {
        "the", "a", "an", "on", "of", "and", "at", "in", "for", "to", "my", "doctor", "dr",
        "street", "st", "avenue", "ave", "road", "rd", "drive", "boulevard", "blvd", "lane",
        "visit", "appointment", "pharmacy", "drugstore", "np", "md", "pa", "rn", "do", "inc",
        "llc", "co", "health", "care", "insurance", "plan", "medical", "center", "clinic",
        "nurse", "mg", "tablet", "tablets", "pill", "pills", "patient", "new", "with",
    }
)  # fmt: skip
SHORT = 4  # forms this short (glued) must be spelled right: sound alone is too loose
PART_WEIGHT = 0.95  # a part of a name ("Patel" of "Dr. Anita Patel") ranks below the whole
PREFIX_SCORE = 0.9  # "united" for "UnitedHealthcare": a long enough prefix of one word
MIN_PREFIX = 5
MAX_WINDOW = 6
_NEVER_FIRST = frozenset({"the", "my", "and", "with", "to", "for"})


@dataclass(frozen=True)
class Match:
    value: str
    score: float
    heard: str = ""


@dataclass(frozen=True)
class _Form:
    value: str
    glued: str
    tokens: tuple[str, ...]
    weight: float


def _words(text: str) -> tuple[str, ...]:
    return tuple(t.replace("'", "") for t in tokenize(text))


@lru_cache(maxsize=4096)
def _codes(glued: str) -> tuple[str, str]:
    return jellyfish.metaphone(glued), jellyfish.nysiis(glued)


def _forms(value: str, aliases: Iterable[str]) -> list[_Form]:
    words = _words(value)
    forms = [_Form(value, "".join(words), words, 1.0)]
    forms += [_Form(value, "".join(_words(a)), _words(a), 1.0) for a in aliases if _words(a)]
    # Every run of words that is not all generic: "blue cross", "patel", "sick".
    for size in range(1, len(words)):
        for start in range(len(words) - size + 1):
            part = words[start : start + size]
            if all(w in GENERIC for w in part) or len("".join(part)) < 3:
                continue
            if part[0] in GENERIC or part[-1] in GENERIC:
                continue  # "doctor patel" is covered by "patel"
            forms.append(_Form(value, "".join(part), part, PART_WEIGHT))
    return forms


def similarity(heard: str, form: str) -> float:
    """0-1 likeness of two glued strings, by spelling and (for longer ones) by sound."""
    if heard == form:
        return 1.0
    spelled = fuzz.ratio(heard, form) / 100
    if len(form) <= SHORT or len(heard) <= SHORT:
        return spelled if spelled >= 0.85 else 0.0
    if not 0.5 <= len(heard) / len(form) <= 2.0:
        return 0.0
    heard_mp, heard_ny = _codes(heard)
    form_mp, form_ny = _codes(form)
    sound = max(fuzz.ratio(heard_mp, form_mp), fuzz.ratio(heard_ny, form_ny)) / 100
    if heard_mp[:1] != form_mp[:1]:
        sound *= 0.8  # a different first sound is rarely the same word
    return max(spelled, 0.4 * spelled + 0.6 * sound)


def _windows(tokens: tuple[str, ...]) -> list[tuple[str, str]]:
    out = []
    for size in range(1, MAX_WINDOW + 1):
        for start in range(len(tokens) - size + 1):
            part = tokens[start : start + size]
            if part[0] in _NEVER_FIRST and size > 1:
                continue  # "the lisinopril" is covered by "lisinopril"
            out.append(("".join(part), " ".join(part)))
    return out


def rank(
    text: str, candidates: Sequence[str], aliases: Mapping[str, Iterable[str]] | None = None
) -> list[Match]:
    """Every candidate with its best score against ``text``, best first."""
    tokens = _words(text)
    windows = _windows(tokens)
    said = set(tokens)
    best: dict[str, Match] = {}
    for value in candidates:
        for form in _forms(value, (aliases or {}).get(value, ())):
            for glued, heard in windows:
                score = similarity(glued, form.glued) * form.weight
                if (
                    score < PREFIX_SCORE * form.weight
                    and len(glued) >= MIN_PREFIX
                    and len(form.tokens) == 1
                    and form.glued.startswith(glued)
                ):
                    score = PREFIX_SCORE * form.weight
                if score > best.get(value, Match(value, 0.0)).score:
                    best[value] = Match(value, score, heard)
        if value in best:
            # Other distinctive words of the name said too ("CVS on *Main*") break ties
            # between branches of one chain.
            extra = {w for w in _words(value) if w not in GENERIC} & said
            bonus = 0.01 * max(0, len(extra) - 1)
            m = best[value]
            best[value] = Match(value, min(1.0, m.score + bonus), m.heard)
    return sorted(best.values(), key=lambda m: m.score, reverse=True)


def resolve(
    text: str,
    candidates: Sequence[str],
    aliases: Mapping[str, Iterable[str]] | None = None,
    *,
    threshold: float = DEFAULT_THRESHOLD,
) -> Match | None:
    """The candidate ``text`` names, or None when nothing is close enough or two tie."""
    ranked = [m for m in rank(text, candidates, aliases) if m.score >= threshold]
    if not ranked:
        return None
    if len(ranked) > 1 and ranked[0].score - ranked[1].score < 0.005:
        return None  # "Medic..." could be Medicare or Medicaid: ask, do not guess
    return ranked[0]

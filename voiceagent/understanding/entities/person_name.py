"""Person names: "my name is Maria Gonzalez", "Gonzalez, Maria", spelled "G-O-N-Z-A-L-E-Z".

Whisper gets names slightly wrong ("Marie" for "Maria"), so parsing keeps what was heard
and :func:`name_similarity` compares it with the record, fuzzily and by sound.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import jellyfish
from rapidfuzz import fuzz

_WORD = re.compile(r"[a-z]+(?:['-][a-z]+)*")
# Words that start a name answer without being part of it.
_LEAD = {
    "my", "name", "name's", "names", "is", "this", "it's", "its", "it", "i'm", "im", "i", "am",
    "yes", "yeah", "yep", "hi", "hello", "hey", "um", "uh", "sure", "okay", "ok", "so", "well",
    "the", "patient", "patient's", "you're", "speaking", "with", "calling", "for", "about",
    "on", "behalf", "of", "mister", "missus", "miss", "mr", "mrs", "ms", "full", "oh", "er",
}  # fmt: skip
# Everyday words that end (or rule out) a name; real first names such as Will, May, June
# or Grace are deliberately absent.
_COMMON = {
    "a", "an", "and", "the", "to", "of", "in", "on", "at", "for", "from", "with", "by", "but",
    "or", "is", "are", "was", "were", "be", "been", "am", "i", "you", "he", "she", "we", "they",
    "me", "my", "your", "his", "her", "our", "their", "it", "this", "that", "these", "those",
    "what", "when", "where", "why", "how", "who", "which", "do", "does", "did", "don't", "not",
    "no", "yes", "yeah", "want", "wanna", "need", "like", "would", "could", "can", "should",
    "have", "has", "had", "get", "got", "make", "book", "schedule", "appointment", "refill",
    "insurance", "doctor", "date", "birth", "born", "birthday", "phone", "number", "calling",
    "speaking", "here", "there", "please", "thanks", "thank", "know", "think", "sure", "okay",
    "just", "so", "well", "good", "morning", "afternoon", "evening", "name", "last", "first",
    "spelled", "spell", "that's", "thats", "it's", "i'm", "i'd", "i'll", "i've", "help",
    "cancel", "reschedule", "prescription", "medication", "about", "again",
    "sorry", "hold", "wait", "call", "called", "calls", "today", "tomorrow", "now", "going",
    "go", "come", "see", "talk", "speak", "tell", "said", "say", "nothing", "something", "all",
    "one", "two", "pm", "as", "if", "then", "also", "too", "very", "really", "real",
    "person", "someone", "somebody", "human", "operator", "um", "uh", "hi", "hello", "bye",
    "goodbye", "correct", "right", "wrong", "nope", "ok", "surname", "family", "middle",
    "where's", "what's", "looking", "trying", "check", "over", "up", "down", "out", "off",
    "actually", "never", "mind", "forget", "isn't", "working", "understanding", "later",
    "already", "told", "ridiculous", "stop", "start", "back", "repeat", "anyone",
}  # fmt: skip
# A name answer is mostly the name: "Maria Gonzalez, thanks". A longer sentence is only
# read as a name when the caller introduces one ("my name is ...").
_MAX_WORDS_AFTER_NAME = 3
_INTRODUCED = re.compile(r"\b(?:name is|name's|this is|it's|it is|i'm|i am|last name|first name)\b")
_PARTICLES = {
    "de",
    "la",
    "del",
    "della",
    "van",
    "von",
    "der",
    "den",
    "da",
    "di",
    "du",
    "le",
    "st",
    "bin",
    "al",
    "el",
}
_LAST_LABEL = re.compile(
    r"\b(?:last name|surname|family name)(?: is)?(?: spelled)?\s+(?P<v>[a-z][a-z'-]*)"
)
_FIRST_LABEL = re.compile(r"\bfirst name(?: is)?(?: spelled)?\s+(?P<v>[a-z][a-z'-]*)")
_SPELLED = re.compile(r"(?<![\w'])(?:[a-z][\s,.-]+){1,}[a-z]\b")
_COMMA_ORDER = re.compile(r"^\W*(?P<last>[a-z][a-z'-]+)\s*,\s*(?P<first>[a-z][a-z'-]+)\W*$")


@dataclass(frozen=True)
class PersonName:
    first: str | None
    last: str | None
    middle: str | None = None

    @property
    def full(self) -> str:
        return " ".join(p for p in (self.first, self.middle, self.last) if p)


def _cap(word: str) -> str:
    """Title-case each piece: "o'brien" -> "O'Brien", "anne-marie" -> "Anne-Marie"."""
    pieces = re.split(r"([-' ])", word)
    return "".join(p.capitalize() if p not in "-' " else p for p in pieces)


def _spelled_words(text: str) -> tuple[str, list[str]]:
    """Letters spelled one by one ("G-O-N-Z", "g o n z") become words; text without them."""
    words: list[str] = []

    def take(m: re.Match[str]) -> str:
        letters = re.sub(r"[^a-z]", "", m.group(0))
        if len(letters) >= 2:
            words.append(letters)
            return " "
        return m.group(0)

    return _SPELLED.sub(take, text), words


def _name_run(tokens: list[str]) -> tuple[list[str], int]:
    """The name-like words after any lead-in, and how many words follow them."""
    i = 0
    while i < len(tokens) and tokens[i] in _LEAD:
        i += 1
    run: list[str] = []
    while i < len(tokens) and tokens[i] not in _COMMON:
        run.append(tokens[i])
        i += 1
    return run, len(tokens) - i


def _closest(spelled: str, heard: list[str]) -> int | None:
    best, best_score = None, 0.0
    for k, word in enumerate(heard):
        if not word:
            continue
        score = fuzz.ratio(spelled, word) / 100
        if score > best_score:
            best, best_score = k, score
    return best if best_score >= 0.7 else None


def parse_person_name(text: str) -> PersonName | None:
    """The caller's name as (first, last); either part may be missing, never both."""
    lowered = text.lower().replace("’", "'")
    comma = _COMMA_ORDER.match(lowered)
    if comma and not {comma.group("first"), comma.group("last")} & (_COMMON | _LEAD):
        return PersonName(_cap(comma.group("first")), _cap(comma.group("last")))
    cleaned, spelled = _spelled_words(lowered)
    last_label = _LAST_LABEL.search(cleaned)
    first_label = _FIRST_LABEL.search(cleaned)
    run, words_after = _name_run(_WORD.findall(cleaned))
    if words_after > _MAX_WORDS_AFTER_NAME and not _INTRODUCED.search(cleaned) and not spelled:
        return None  # a sentence about something else, not a name
    first = first_label.group("v") if first_label else (run[0] if run else None)
    middle: str | None = None
    last: str | None = last_label.group("v") if last_label else None
    if last is None and len(run) >= 2:
        rest = run[1:]
        particle = next((k for k, w in enumerate(rest) if w in _PARTICLES), None)
        if particle is not None and particle < len(rest) - 1:
            last = " ".join(rest[particle:])
            middle = " ".join(rest[:particle]) or None
        else:
            last = rest[-1]
            middle = " ".join(rest[:-1]) or None
    for word in spelled:
        # A spelling confirms the heard name it resembles; otherwise it is the last name
        # (callers spell surnames far more often than first names).
        which = _closest(word, [first or "", last or ""])
        if which == 0:
            first = word
        elif which == 1 or last is None or first_label is None:
            last = word
    if first is not None and first in _COMMON:
        first = None
    if first is None and last is None:
        return None
    return PersonName(
        _cap(first) if first else None,
        _cap(last) if last else None,
        _cap(middle) if middle else None,
    )


def _similar(a: str, b: str) -> float:
    a, b = a.lower(), b.lower()
    spelled = fuzz.ratio(a, b) / 100
    sound = fuzz.ratio(jellyfish.metaphone(a), jellyfish.metaphone(b)) / 100
    return max(spelled, 0.9 * sound)


def name_similarity(heard: PersonName, first: str, last: str) -> float:
    """0-1 likeness of a heard name to a record's (either order, since "Gonzalez, Maria")."""
    if heard.first is None or heard.last is None:
        part = heard.first or heard.last or ""
        return max(_similar(part, first), _similar(part, last)) * 0.5
    straight = (_similar(heard.first, first) + _similar(heard.last, last)) / 2
    swapped = (_similar(heard.first, last) + _similar(heard.last, first)) / 2
    return max(straight, swapped * 0.95)

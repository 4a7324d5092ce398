"""Caller text -> comparable words, for the safety policy only.

Whisper varies case, punctuation, contractions ("can't" / "cannot" / "can not") and splits
or glues words ("epi pen", "my self"); the policy compares words, so all of that is folded
here, once, the same way for the policy's phrases and for what callers say. Punctuation is
not thrown away blindly: a comma or full stop ends a clause, which the negation rule needs
("No, my chest hurts" is not "no chest pain").

This module deliberately does not reuse ``voiceagent.understanding.text``: the safety check
must keep working whatever the intent classifier's normaliser does next, and it never needs
numbers turned into digits beyond "nine one one".
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz.distance import Indel

# Stands in for words blanked out before matching (the policy's ``not_symptoms``), so that
# every other word keeps its position.
MASK = "\x00"

# Hesitations carry no meaning and would only widen the gaps between words.
FILLERS = frozenset({"um", "umm", "uh", "uhh", "uhm", "erm", "ah", "ahh", "hmm", "mm", "mhm"})

# Written-out and split forms folded to one spelling (applied before the admin's own list).
_BUILTIN_REWRITES: dict[str, str] = {
    "cannot": "cant",
    "can not": "cant",
    "do not": "dont",
    "does not": "doesnt",
    "did not": "didnt",
    "is not": "isnt",
    "are not": "arent",
    "was not": "wasnt",
    "were not": "werent",
    "have not": "havent",
    "has not": "hasnt",
    "had not": "hadnt",
    "will not": "wont",
    "would not": "wouldnt",
    "could not": "couldnt",
    "should not": "shouldnt",
    "i am": "im",
    "wanna": "want to",
    "gonna": "going to",
    "gotta": "got to",
    "kinda": "kind of",
    "cuz": "because",
    "x ray": "xray",
    "x rays": "xrays",
    "9 1 1": "911",
    "nine one one": "911",
    "nine eleven": "911",
    "9 8 8": "988",
    "nine eight eight": "988",
    "nine eighty eight": "988",
}

_QUOTES = re.compile(r"[’‘`´ʼ]")
# A full stop after these is not the end of a sentence ("Dr. Patel's nurse", "9 a.m.").
_ABBREVIATION_DOT = re.compile(r"\b(dr|mr|mrs|ms|st|jr|sr|prof|vs|etc)\.")
_AM_PM = re.compile(r"\b([ap])\.\s?m\.?")
_INNER_APOSTROPHE = re.compile(r"(?<=[a-z])'(?=[a-z])")
_TOKEN = re.compile(r"\d+(?:\.\d+)?|[a-z]+|[,.?!;:]")
_SENTENCE_END = frozenset({".", "?", "!", ";"})
_CLAUSE_END = frozenset({",", ":"})


@dataclass(frozen=True)
class Words:
    """An utterance as words, with where clauses and sentences break.

    ``breaks`` holds the indices of words that follow punctuation; ``sentence`` gives each
    word's sentence number, so word combinations never reach across a full stop.
    """

    words: tuple[str, ...]
    breaks: frozenset[int]
    sentence: tuple[int, ...]

    def __len__(self) -> int:
        return len(self.words)


def _raw_tokens(text: str) -> list[str]:
    lowered = unicodedata.normalize("NFKC", text).lower()
    lowered = _QUOTES.sub("'", lowered)
    lowered = _INNER_APOSTROPHE.sub("", lowered)  # can't -> cant, baby's -> babys
    lowered = _AM_PM.sub(r"\1m", _ABBREVIATION_DOT.sub(r"\1", lowered))
    # Digits in a row are one number: "9-1-1" is 911, and "555 911 2345" is a phone
    # number, not a call for help.
    tokens: list[str] = []
    for token in _TOKEN.findall(lowered):
        if token.isdigit() and tokens and tokens[-1].isdigit():
            tokens[-1] += token
        else:
            tokens.append(token)
    return tokens


@dataclass(frozen=True)
class Rewriter:
    """Longest-first replacement of word sequences ("can not" -> "cant", "chess" -> "chest")."""

    table: Mapping[tuple[str, ...], tuple[str, ...]]
    longest: int

    @classmethod
    def build(cls, extra: Mapping[str, str] | None = None) -> Rewriter:
        table: dict[tuple[str, ...], tuple[str, ...]] = {}
        for source in (_BUILTIN_REWRITES, extra or {}):
            for heard, meant in source.items():
                key = tuple(t for t in _raw_tokens(heard) if t.isalnum())
                value = tuple(t for t in _raw_tokens(meant) if t.isalnum())
                if key:
                    table[key] = value
        return cls(table, max((len(k) for k in table), default=1))

    def apply(self, tokens: list[str]) -> list[str]:
        out: list[str] = []
        i = 0
        while i < len(tokens):
            for size in range(min(self.longest, len(tokens) - i), 0, -1):
                replacement = self.table.get(tuple(tokens[i : i + size]))
                if replacement is not None:
                    out.extend(replacement)
                    i += size
                    break
            else:
                out.append(tokens[i])
                i += 1
        return out


def to_words(text: str, rewriter: Rewriter) -> Words:
    """Split caller text into words, dropping fillers and noting clause breaks."""
    words: list[str] = []
    breaks: set[int] = set()
    sentence: list[int] = []
    current_sentence = 0
    pending_break = False
    for token in rewriter.apply(_raw_tokens(text)):
        if token in _SENTENCE_END:
            if words:
                current_sentence += 1
            pending_break = True
        elif token in _CLAUSE_END:
            pending_break = True
        elif token not in FILLERS:
            if pending_break and words:
                breaks.add(len(words))
            pending_break = False
            words.append(token)
            sentence.append(current_sentence)
    return Words(tuple(words), frozenset(breaks), tuple(sentence))


def phrase_words(text: str, rewriter: Rewriter) -> tuple[str, ...]:
    """A policy phrase as words (punctuation and fillers ignored)."""
    return to_words(text, rewriter).words


# Ordered: the first suffix that leaves a long enough stem wins.
# No "-ed": the past tense often changes what a sentence means here ("I talked to someone
# yesterday" is not asking for a person); where a past form matters the policy lists it or
# uses a wildcard ("faint*").
_SUFFIXES: tuple[tuple[str, int], ...] = (
    ("ingly", 4),
    ("ness", 4),
    ("ing", 3),
    ("ies", 3),
    ("es", 4),
    ("s", 3),
    ("ly", 4),
    ("e", 4),
)


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A crude English stem, enough to equate "hurts"/"hurting", "breathe"/"breathing".

    Not a linguistic stemmer: it only has to make the present-tense forms of a word meet.
    """
    if len(word) < 4 or not word.isalpha():
        return word
    for suffix, keep in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= keep:
            return word[: -len(suffix)]
    return word


@lru_cache(maxsize=262144)
def word_matches(word: str, pattern: str, prefix: bool, min_similarity: int) -> bool:
    """Does a caller's word count as the policy's word?

    Exact, same stem, a ``pattern*`` prefix, or, for longer words only, a near spelling
    ("unconcious", "siezure") with the same first letter: Whisper's misspellings keep the
    start of a word far more often than they keep its end, and requiring it stops pairs
    like "painted"/"fainted".
    """
    if prefix:
        return word.startswith(pattern)
    if word == pattern or stem(word) == stem(pattern):
        return True
    if len(pattern) < 6 or len(word) < 5 or word[0] != pattern[0]:
        return False
    return Indel.normalized_similarity(word, pattern) * 100 >= min_similarity

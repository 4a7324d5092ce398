"""Yes / no answers, and "no, I said Tuesday" (a no that carries the corrected value)."""

from __future__ import annotations

from dataclasses import dataclass

from voiceagent.understanding.text import normalize

# Longest phrases first at each position, so "not right" wins over "right" and
# "no problem" over "no". Phrases are matched on normalised tokens.
_NEGATIVE = (
    "no", "nope", "nah", "naw", "negative", "incorrect", "wrong", "uh uh", "nuh uh",
    "not right", "not correct", "not really", "not quite", "that's wrong", "thats wrong",
    "that's not right", "thats not right", "that's not correct", "that's incorrect",
    "that is not right", "that is not correct", "that is incorrect", "that is wrong",
    "isn't right", "isn't correct", "not at all", "don't", "do not", "i don't think so",
    "definitely not", "absolutely not", "no way", "not that", "that won't work",
    "that doesn't work", "doesn't work", "won't work", "i can't", "can't make it",
    "no thank you", "no thanks", "not that one", "never",
)  # fmt: skip
_POSITIVE = (
    "yes", "yeah", "yep", "yup", "ya", "yah", "yea", "yess", "sure", "correct", "right",
    "that's right", "thats right", "that is right", "that's correct", "that is correct",
    "uh huh", "mm hmm", "mhm", "mmhmm", "um hum", "absolutely", "definitely", "certainly",
    "of course", "ok", "okay", "alright", "all right", "sounds good", "sounds great",
    "that works", "works for me", "perfect", "great", "please do", "go ahead", "affirmative",
    "exactly", "you got it", "you bet", "that's it", "thats it", "that's me", "it is",
    "i do", "i am", "i would", "indeed", "no problem", "no worries", "fine", "that's fine",
    "true", "please", "yes please", "for sure", "why not", "let's do it", "do it", "book it",
)  # fmt: skip
# Not an answer at all, even though "don't" and "not" are in them.
_UNSURE = (
    "i don't know", "i dont know", "don't know", "dont know", "not sure", "i'm not sure",
    "maybe", "i guess", "perhaps", "possibly", "i have no idea", "no idea", "who knows",
    "i'm not certain", "not certain", "let me think", "hold on", "wait",
)  # fmt: skip
# Filler before the answer that does not change it.
_LEAD_FILLER = {"um", "uh", "oh", "well", "hmm", "er", "ah", "so", "and", "but"}
# Words joining the answer to a corrected value: "no, I said Tuesday", "no, it's the 14th".
_CORRECTION_LEADS = (
    "i said", "i meant", "i mean", "i wanted", "i want", "it's", "it is", "its", "actually",
    "make it", "make that", "rather", "instead", "it was", "i said it's", "that's", "thats",
    "not that", "but", "the correct one is", "i'd like", "i would like", "change it to",
)  # fmt: skip
# What may follow the answer without being a correction.
_POLITE = {
    "thanks", "thank", "you", "please", "that's", "thats", "right", "correct", "it", "is",
    "sir", "maam", "ma'am", "sure", "yes", "no", "yeah", "yep", "nope", "so", "think", "i",
    "don't", "dont", "fine", "good", "great", "perfect", "that", "works", "for", "me", "ok",
    "okay", "problem", "not", "all", "at", "thing", "go", "ahead", "do", "sounds", "to",
    "of", "course", "absolutely", "definitely", "exactly", "the", "one", "very", "much",
    "uh", "um", "huh", "hmm", "mm", "mhm", "oh", "well", "a", "we", "can", "let's",
    "lets", "this", "wrong", "incorrect", "nah", "nothing", "else", "just", "quite", "really",
}  # fmt: skip


@dataclass(frozen=True)
class YesNo:
    """``correction`` holds what followed a "no" that names a new value ("tuesday")."""

    answer: bool
    correction: str | None = None


def _phrases(words: tuple[str, ...]) -> list[tuple[str, ...]]:
    return sorted((tuple(w.split()) for w in words), key=len, reverse=True)


_NEG = _phrases(_NEGATIVE)
_POS = _phrases(_POSITIVE)
_LEADS = _phrases(_CORRECTION_LEADS)
_UNS = _phrases(_UNSURE)


def _match_at(tokens: list[str], i: int, phrases: list[tuple[str, ...]]) -> int:
    for phrase in phrases:
        if tuple(tokens[i : i + len(phrase)]) == phrase:
            return len(phrase)
    return 0


def parse_yes_no(text: str) -> YesNo | None:
    """The caller's yes or no; None when the utterance is neither, both, or unsure."""
    tokens = normalize(text).split()
    if any(_match_at(tokens, j, _UNS) for j in range(len(tokens))):
        return None
    fillers = 0
    start = 0
    # The first answer word decides; it must come early (up to three words after any
    # filler), so a stray "right" deep inside a question is not an answer.
    while start < len(tokens) and start < fillers + 3:
        neg = _match_at(tokens, start, _NEG)
        pos = _match_at(tokens, start, _POS)
        if neg > pos:
            rest = tokens[start + neg :]
            if _contradicts(rest, _POS, _NEG):
                return None
            return YesNo(False, _correction(rest))
        if pos:
            rest = tokens[start + pos :]
            if _contradicts(rest, _NEG, _POS):
                return None
            return YesNo(True, None)
        if tokens[start] in _LEAD_FILLER:
            fillers += 1
        start += 1
    return None


def _contradicts(
    rest: list[str], opposite: list[tuple[str, ...]], same: list[tuple[str, ...]]
) -> bool:
    """An opposite answer right after the first one ("yes no") makes the turn unusable."""
    for j in range(min(len(rest), 2)):
        if _match_at(rest, j, opposite) > _match_at(rest, j, same):
            return True
    return False


def _only_polite(rest: list[str]) -> bool:
    return all(t in _POLITE for t in rest)


def _correction(rest: list[str]) -> str | None:
    """Strip answer repeats and lead-ins; what is left is the new value, if any."""
    j = 0
    while j < len(rest):
        n = _match_at(rest, j, _NEG) if rest[j] not in ("it's", "its") else 0
        lead = _match_at(rest, j, _LEADS)
        if rest[j] in _LEAD_FILLER or rest[j] in ("no", "nope", "not", "sorry"):
            j += 1
        elif lead:
            j += lead
        elif n:
            j += n
        else:
            break
    tail = rest[j:]
    if not tail or _only_polite(tail):
        return None
    return " ".join(tail)

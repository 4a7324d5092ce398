"""Insurance member ids spelled out: "W as in William, one two three ..." -> "W123..."."""

from __future__ import annotations

from voiceagent.understanding.entities.letters import AMBIGUOUS, LETTER_NAMES, NATO, letter_of
from voiceagent.understanding.numbers import find_numbers
from voiceagent.understanding.text import tokenize

# Words around an id that neither belong to it nor end it.
_FILLER = {
    "my", "member", "id", "ids", "number", "is", "it's", "its", "the", "and", "um", "uh", "dash",
    "hyphen", "okay", "ok", "so", "that's", "thats", "capital", "letter", "then", "space",
    "er", "ah", "oh", "yeah", "yes", "it", "starts", "with", "followed", "by", "numbers",
    "digits", "insurance", "card", "subscriber", "policy", "sure", "let", "me", "see",
    "alright", "all", "right",
}  # fmt: skip
MIN_LENGTH = 4


def _letter_at(tokens: list[str], i: int) -> tuple[str | None, int]:
    """The letter spoken at i and how many tokens it took ("double u" is two)."""
    tok = tokens[i]
    nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
    if tok == "double" and nxt in ("u", "you", "yu", "ewe"):
        return "W", 2
    if tok == "x" and nxt == "ray":
        return "X", 2
    if tok in NATO or tok in LETTER_NAMES:
        return letter_of(tok), 1
    return None, 0


def _as_in(tokens: list[str], i: int, letter: str) -> int:
    """Tokens taken by an "as in William" / "for William" tail after a letter at i."""
    j = i + 1
    if tokens[j : j + 2] == ["as", "in"]:
        j += 2
    elif j < len(tokens) and tokens[j] in ("for", "like", "as"):
        j += 1
    else:
        return 0
    if j < len(tokens) and tokens[j].isalpha() and tokens[j][0].upper() == letter:
        extra = 1 if tokens[j] == "x" and tokens[j + 1 : j + 2] == ["ray"] else 0
        return j + extra - i
    return 0


def parse_member_id(text: str) -> str | None:
    """The id spelled in ``text`` (letters and digits, upper case), or None."""
    tokens = tokenize(text)
    numbers = {s.start: s for s in find_numbers(tokens) if not s.ordinal}
    out: list[str] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        span = numbers.get(i)
        if span is not None:
            out.append(span.digits)
            i = span.end
            continue
        letter, used = _letter_at(tokens, i)
        if letter is not None and (used > 1 or tok not in AMBIGUOUS or out):
            out.append(letter)
            i += used + _as_in(tokens, i + used - 1, letter)
            continue
        if letter is not None and _as_in(tokens, i, letter):
            out.append(letter)
            i += 1 + _as_in(tokens, i, letter)
            continue
        if tok.isalnum() and any(c.isdigit() for c in tok):
            out.append(tok.upper())
            i += 1
            continue
        if tok in _FILLER or not out:
            i += 1
            continue
        break  # an ordinary word after the id ends it
    found = "".join(out).upper()
    if len(found) < MIN_LENGTH or not any(c.isdigit() for c in found):
        return None
    return found

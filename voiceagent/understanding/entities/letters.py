"""Spoken letters: "W as in William", NATO words ("bravo"), letter names ("double-u")."""

from __future__ import annotations

NATO = {
    "alpha": "A", "alfa": "A", "bravo": "B", "charlie": "C", "delta": "D", "echo": "E",
    "foxtrot": "F", "golf": "G", "hotel": "H", "india": "I", "juliet": "J", "juliett": "J",
    "kilo": "K", "lima": "L", "mike": "M", "november": "N", "oscar": "O", "papa": "P",
    "quebec": "Q", "romeo": "R", "sierra": "S", "tango": "T", "uniform": "U", "victor": "V",
    "whiskey": "W", "whisky": "W", "xray": "X", "x-ray": "X", "yankee": "Y", "zulu": "Z",
}  # fmt: skip
# How whisper writes a letter said on its own.
LETTER_NAMES = {
    "a": "A", "ay": "A", "eh": "A", "b": "B", "bee": "B", "be": "B", "c": "C", "see": "C",
    "sea": "C", "cee": "C", "d": "D", "dee": "D", "e": "E", "ee": "E", "f": "F", "ef": "F",
    "eff": "F", "g": "G", "gee": "G", "h": "H", "aitch": "H", "age": "H", "i": "I", "eye": "I",
    "j": "J", "jay": "J", "k": "K", "kay": "K", "l": "L", "el": "L", "ell": "L", "m": "M",
    "em": "M", "n": "N", "en": "N", "o": "O", "p": "P", "pee": "P", "pea": "P", "q": "Q",
    "cue": "Q", "queue": "Q", "r": "R", "are": "R", "ar": "R", "s": "S", "es": "S", "ess": "S",
    "t": "T", "tee": "T", "tea": "T", "u": "U", "you": "U", "v": "V", "vee": "V", "w": "W",
    "x": "X", "ex": "X", "y": "Y", "why": "Y", "wye": "Y", "z": "Z", "zee": "Z", "zed": "Z",
}  # fmt: skip
# Bare letter names that are also everyday words; they count only next to other letters.
AMBIGUOUS = {
    "a",
    "i",
    "o",
    "are",
    "you",
    "why",
    "see",
    "sea",
    "be",
    "age",
    "eye",
    "tea",
    "pea",
    "eh",
}
AS_IN = ("as in", "for", "like", "as")


def letter_of(token: str) -> str | None:
    """The letter a single spoken token stands for, if any."""
    if token in NATO:
        return NATO[token]
    return LETTER_NAMES.get(token)

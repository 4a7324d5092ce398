"""Finding the policy's phrases and word combinations in what a caller said.

Three ways to match, from strict to loose:

* a phrase, word by word: each word exact, same stem ("hurts"/"hurting"), a ``word*``
  prefix, or a near spelling for longer words; up to ``phrase_gap`` extra words may sit
  in between ("my chest really hurts" still matches "my chest hurts");
* a phrase, as a whole: the phrase compared with every run of about as many words in the
  utterance by rapidfuzz's similarity ratio, which catches Whisper's split and misheard
  words ("hard attack", "kill my cell", "epic pen");
* a word combination: one word from each group, all within ``word_window`` words of each
  other in one sentence, in any order ("chest" + "tight*" matches "my chest feels so tight"
  and "tightness across my chest").

Every hit then passes the negation check (:class:`Negation`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise, product

import numpy as np
from rapidfuzz import fuzz, process
from rapidfuzz.distance import Indel

from voiceagent.handoff.text import MASK, Rewriter, Words, phrase_words, stem, word_matches

_MIN_FUZZY_PHRASE_CHARS = 10  # shorter phrases only match word by word
_FIRST_CACHE_SIZE = 50_000
_EDGE_WORD_SIMILARITY = 0.65  # "strike" ~ "stroke", "hard" ~ "heart"; not "dispute" ~ "die"
_CONTENT_WORD_SIMILARITY = 0.55  # "breed" ~ "breathe"; not "need" ~ "used" (0.5)


@dataclass(frozen=True)
class PatternWord:
    text: str
    prefix: bool = False


Alternative = tuple[PatternWord, ...]


@dataclass(frozen=True)
class Rule:
    """One phrase or word combination, tagged with the category it belongs to."""

    key: str  # category key, e.g. "emergency:chest_pain"
    label: str  # the policy's own wording (never the caller's words)
    groups: tuple[tuple[Alternative, ...], ...]
    is_phrase: bool


@dataclass(frozen=True)
class Hit:
    key: str
    label: str  # the policy's phrase, or the alternatives of a combination that matched
    start: int
    end: int  # exclusive
    parts: tuple[tuple[int, int], ...] = ()  # word spans of a combination's groups, in order
    fuzzy: bool = False  # matched only as a whole phrase, by similarity


@dataclass(frozen=True)
class MatchSettings:
    word_similarity: int
    phrase_similarity: int
    word_window: int
    phrase_gap: int


def compile_words(text: str, rewriter: Rewriter) -> Alternative:
    """Policy wording -> pattern words; a trailing ``*`` makes a word a prefix."""
    out: list[PatternWord] = []
    for raw in text.split():
        prefix = raw.endswith("*")
        for word in phrase_words(raw.rstrip("*"), rewriter):
            out.append(PatternWord(word, False))
        if prefix and out:
            out[-1] = PatternWord(out[-1].text, True)
    return tuple(out)


def phrase_rule(key: str, phrase: str, rewriter: Rewriter) -> Rule:
    return Rule(key, phrase, ((compile_words(phrase, rewriter),),), True)


def combination_rule(key: str, groups: Sequence[str], rewriter: Rewriter) -> Rule:
    compiled = tuple(
        tuple(alt for alt in (compile_words(a, rewriter) for a in group.split("|")) if alt)
        for group in groups
    )
    return Rule(key, " + ".join(g.strip() for g in groups), compiled, False)


class RuleSet:
    """All rules of one detection pass, matched against an utterance together.

    ``fuzzy_phrases`` turns on the whole-phrase comparison. It buys recall on misheard
    words at the price of also matching inflections ("talked to someone" ~ "talk to
    someone"), so it is used where recall matters most: emergencies.

    ``denials`` are the negation words. A phrase's gap may not swallow one ("my chest
    doesn't hurt" is not "my chest hurts"), and a fuzzy window must hold as many of them as
    the phrase ("isn't breathing" ~ "not breathing", but "it's not an emergency" is not
    "it's an emergency": that denial is for the negation check to weigh).
    """

    def __init__(
        self,
        rules: Iterable[Rule],
        settings: MatchSettings,
        *,
        fuzzy_phrases: bool = False,
        denials: frozenset[str] = frozenset(),
    ) -> None:
        self.rules = tuple(rules)
        self.settings = settings
        self._denials = denials
        # Whole-phrase fuzzy comparison, grouped by phrase length so each phrase is only
        # compared with word runs of about its own length (one cdist call per length).
        by_length: dict[int, list[tuple[str, Rule]]] = defaultdict(list)
        for rule in self.rules if fuzzy_phrases else ():
            if rule.is_phrase and not any(w.prefix for w in rule.groups[0][0]):
                words = rule.groups[0][0]
                joined = " ".join(w.text for w in words)
                if len(words) >= 2 and len(joined) >= _MIN_FUZZY_PHRASE_CHARS:
                    by_length[len(words)].append((joined, rule))
        self._fuzzy = {
            n: ([j for j, _ in items], [r for _, r in items]) for n, items in by_length.items()
        }
        # Every alternative indexed by its first word, so an utterance is only checked
        # against the alternatives that can start at each of its words.
        self._by_first: dict[PatternWord, list[tuple[int, int, Alternative]]] = defaultdict(list)
        for rule_index, rule in enumerate(self.rules):
            for group_index, group in enumerate(rule.groups):
                for alternative in group:
                    self._by_first[alternative[0]].append((rule_index, group_index, alternative))
        self._by_stem: dict[str, list[PatternWord]] = defaultdict(list)
        self._prefixes: list[PatternWord] = []
        self._long_by_letter: dict[str, list[PatternWord]] = defaultdict(list)
        for first in self._by_first:
            if first.prefix:
                self._prefixes.append(first)
                continue
            self._by_stem[stem(first.text)].append(first)
            if len(first.text) >= 6:
                self._long_by_letter[first.text[0]].append(first)
        self._first_cache: dict[str, tuple[PatternWord, ...]] = {}

    def hits(self, words: Words) -> list[Hit]:
        # occurrences[rule][group] = (start, end, the policy's alternative that matched)
        occurrences: dict[int, dict[int, list[tuple[int, int, str]]]] = defaultdict(
            lambda: defaultdict(list)
        )
        for position, word in enumerate(words.words):
            for first in self._first_matches(word):
                for rule_index, group_index, alternative in self._by_first[first]:
                    rule = self.rules[rule_index]
                    end = self._align(
                        words, position, alternative, gaps=None if rule.is_phrase else 0
                    )
                    if end is not None:
                        occurrences[rule_index][group_index].append(
                            (position, end, _spell(alternative))
                        )
        found: list[Hit] = []
        for rule_index, groups in occurrences.items():
            rule = self.rules[rule_index]
            if rule.is_phrase:
                found.extend(Hit(rule.key, rule.label, s, e) for s, e, _ in groups[0])
            elif len(groups) == len(rule.groups):
                hit = self._combination_hit(
                    rule, [groups[g] for g in range(len(rule.groups))], words
                )
                if hit is not None:
                    found.append(hit)
        found.extend(self._fuzzy_hits(words))
        return found

    def _first_matches(self, word: str) -> tuple[PatternWord, ...]:
        """The policy words an alternative may start with that ``word`` counts as (cached:
        callers' vocabulary is small, so after a few calls this is one dictionary lookup)."""
        cached = self._first_cache.get(word)
        if cached is None:
            similarity = self.settings.word_similarity
            found = set(self._by_stem.get(stem(word), ()))
            found.update(p for p in self._prefixes if word.startswith(p.text))
            found.update(
                p
                for p in self._long_by_letter.get(word[:1], ())
                if word_matches(word, p.text, False, similarity)
            )
            if len(self._first_cache) >= _FIRST_CACHE_SIZE:
                self._first_cache.clear()
            cached = self._first_cache[word] = tuple(found)
        return cached

    # -- phrases, word by word ---------------------------------------------------------

    def _align(
        self, words: Words, start: int, pattern: Alternative, gaps: int | None = None
    ) -> int | None:
        """End (exclusive) of ``pattern`` matched from ``start``, allowing a few extra words.

        Two-word phrases get no gap: "my bill" must not match "my husband Bill".
        """
        if gaps is None:
            gaps = self.settings.phrase_gap if len(pattern) >= 3 else 0
        budget = gaps
        similarity = self.settings.word_similarity
        text, sentence = words.words, words.sentence
        if not word_matches(text[start], pattern[0].text, pattern[0].prefix, similarity):
            return None
        i = start
        for pw in pattern[1:]:
            for skip in range(budget + 1):
                j = i + 1 + skip
                if j >= len(text) or sentence[j] != sentence[start]:
                    return None
                if skip and text[j - 1] in self._denials:
                    return None
                if word_matches(text[j], pw.text, pw.prefix, similarity):
                    budget -= skip
                    i = j
                    break
            else:
                return None
        return i + 1

    # -- phrases, as a whole -------------------------------------------------------------

    def _fuzzy_hits(self, words: Words) -> list[Hit]:
        found: list[Hit] = []
        cutoff = self.settings.phrase_similarity
        for length, (joined, rules) in self._fuzzy.items():
            spans = [
                (s, s + size)
                for size in (length - 1, length, length + 1)
                if size >= 1
                for s in range(len(words) - size + 1)
                if words.sentence[s] == words.sentence[s + size - 1]
            ]
            if not spans:
                continue
            windows = [" ".join(words.words[s:e]) for s, e in spans]
            scores = process.cdist(
                windows, joined, scorer=fuzz.ratio, score_cutoff=cutoff, dtype=np.uint8
            )
            for w_index, r_index in zip(*np.nonzero(scores), strict=True):
                rule = rules[int(r_index)]
                start, end = spans[int(w_index)]
                if self._plausible(words.words[start:end], rule.groups[0][0]):
                    found.append(Hit(rule.key, rule.label, start, end, fuzzy=True))
        return found

    def _plausible(self, window: tuple[str, ...], phrase: Alternative) -> bool:
        """Guards on a whole-phrase match, which letters alone can fool.

        The first and last words must themselves sound alike (the last usually carries the
        meaning: without this, "I want to dispute a charge" scores close to "I want to
        die"), and the window must deny exactly as often as the phrase does.
        """
        if not (
            _sounds_alike(window[0], phrase[0].text) and _sounds_alike(window[-1], phrase[-1].text)
        ):
            return False
        # Every longer word of the phrase must be heard as something like it: "I need my
        # EpiPen" is not "I used my EpiPen", however many letters they share.
        for expected in phrase:
            if len(expected.text) >= 4 and not any(
                _sounds_alike(w, expected.text, _CONTENT_WORD_SIMILARITY) for w in window
            ):
                return False
        denied = sum(w in self._denials for w in window)
        return denied == sum(w.text in self._denials for w in phrase)

    # -- word combinations ---------------------------------------------------------------

    def _combination_hit(
        self, rule: Rule, occurrences: list[list[tuple[int, int, str]]], words: Words
    ) -> Hit | None:
        """The tightest choice of one occurrence per group that fits the window."""
        best: tuple[int, int, tuple[tuple[int, int, str], ...], str] | None = None
        for choice in product(*occurrences):
            ordered = sorted(choice)
            if any(a[1] > b[0] for a, b in pairwise(ordered)):
                continue  # one word cannot serve two groups
            start, end = ordered[0][0], max(e for _, e, _ in ordered)
            if words.sentence[start] != words.sentence[end - 1]:
                continue
            # Blanked-out words do not count: "my [blood pressure] pills" is "my pills".
            blanks = words.words[start:end].count(MASK)
            if end - 1 - start - blanks > self.settings.word_window:
                continue
            if best is None or end - start < best[1] - best[0]:
                best = (start, end, tuple(ordered), " + ".join(label for *_, label in choice))
        if best is None:
            return None
        parts = tuple((s, e) for s, e, _ in best[2])
        return Hit(rule.key, best[3], best[0], best[1], parts)


def _spell(alternative: Alternative) -> str:
    return " ".join(w.text + ("*" if w.prefix else "") for w in alternative)


def _sounds_alike(heard: str, expected: str, minimum: float = 0.0) -> bool:
    threshold = minimum or _EDGE_WORD_SIMILARITY
    return stem(heard) == stem(expected) or Indel.normalized_similarity(heard, expected) > threshold


@dataclass(frozen=True)
class Negation:
    """Decides whether a hit is denied ("no chest pain", "I'm not having trouble breathing").

    The rule, chosen to fail towards escalation:

    * a negation word must come *before* the hit, in the same clause (a comma, full stop,
      "but", "and", "so" ... ends the clause), with only small words in between ("don't
      really have any");
    * after a bare "no", only determiners may sit in between: "no chest pain" is denied,
      "no, my chest hurts" and "no my chest hurts" are not;
    * a list joined by "or" stays negated: "no fever or chest pain";
    * words of doubt anywhere earlier in the clause cancel the negation: "I don't think
      he's breathing", "not sure if it's a heart attack";
    * negation words inside the hit are part of what was said ("he isn't breathing").
    """

    negations: tuple[tuple[str, ...], ...]
    uncertain: tuple[tuple[str, ...], ...]

    _MAX_LOOKBACK = 10
    _CLAUSE_WORDS = frozenset(
        {"but", "and", "so", "because", "cause", "though", "although", "however", "except",
         "then", "plus", "also", "yet", "still", "now", "anyway", "instead"}
    )  # fmt: skip
    _SMALL_WORDS = frozenset(
        {"have", "having", "had", "has", "any", "anymore", "a", "an", "the", "been",
         "experiencing", "experienced", "feel", "feeling", "felt", "get", "getting", "got",
         "with", "of", "really", "real", "severe", "serious", "bad", "much", "more", "it",
         "its", "is", "was", "there", "theres", "that", "this", "need", "needs", "want",
         "wants", "to", "some", "signs", "sign", "symptoms", "symptom", "from", "in", "on",
         "calling", "call", "about", "asking", "for", "regarding", "currently", "even", "at",
         "all", "actually", "do", "does", "did", "am", "are", "were", "be", "being",
         "suffering", "showing", "noticed", "seeing", "kind", "sort", "type", "new",
         "other", "further", "major", "sudden", "like", "anything"}
    )  # fmt: skip
    _DETERMINERS = frozenset(
        {"any", "more", "real", "serious", "severe", "bad", "major", "signs", "sign", "of",
         "symptoms", "symptom", "further", "other", "new", "really", "sudden", "kind", "sort"}
    )  # fmt: skip
    _LIST_WORDS = frozenset({"or", "nor"})

    @classmethod
    def build(
        cls, negations: Iterable[str], uncertain: Iterable[str], rewriter: Rewriter
    ) -> Negation:
        def compile_all(items: Iterable[str]) -> tuple[tuple[str, ...], ...]:
            return tuple(
                sorted(
                    {w for i in items if (w := phrase_words(i, rewriter))}, key=len, reverse=True
                )
            )

        return cls(compile_all(negations), compile_all(uncertain))

    def hit_is_negated(self, words: Words, hit: Hit) -> bool:
        if self._negated_before(words, hit.start, floor=0):
            return True
        # "my chest doesn't hurt": a negation between the parts of a combination.
        return any(
            self._negated_before(words, start, floor=previous_end)
            for (_, previous_end), (start, _) in pairwise(hit.parts)
        )

    def _ends_at(
        self, words: Words, index: int, phrases: tuple[tuple[str, ...], ...]
    ) -> tuple[str, ...] | None:
        for phrase in phrases:
            begin = index - len(phrase) + 1
            if begin >= 0 and words.words[begin : index + 1] == phrase:
                return phrase
        return None

    def _clause_start(self, words: Words, start: int, floor: int) -> int:
        i = start
        while i > floor and start - i < self._MAX_LOOKBACK:
            if i in words.breaks or words.sentence[i - 1] != words.sentence[start]:
                break
            if words.words[i - 1] in self._CLAUSE_WORDS:
                break
            i -= 1
        return i

    def _negated_before(self, words: Words, start: int, floor: int) -> bool:
        clause = self._clause_start(words, start, floor)
        if any(self._ends_at(words, i, self.uncertain) for i in range(clause, start)):
            return False
        only_determiners = True
        list_allowance = 0
        i = start - 1
        while i >= clause:
            negation = self._ends_at(words, i, self.negations)
            if negation is not None:
                # after a bare "no", only determiners: "no chest pain", not "no, my chest"
                return negation != ("no",) or only_determiners
            word = words.words[i]
            if word in self._LIST_WORDS:
                list_allowance = 3
            elif word in self._SMALL_WORDS:
                only_determiners = only_determiners and word in self._DETERMINERS
            elif list_allowance > 0:
                list_allowance -= 1
            else:
                return False
            i -= 1
        return False

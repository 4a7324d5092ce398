"""The safety policy, applied to every caller turn before anything else looks at it.

``PolicyEngine.assess(text)`` returns the most important finding in a turn, in this order:
emergency > sensitive topic > request for a person > frustration, or None. Within a kind,
the category listed first in ``policy.yaml`` wins (self-harm is listed first among the
emergencies so that a caller who mentions both pills and wanting to die hears 988).

Emergencies are matched on the text with the admin's ``not_symptoms`` masked out ("blood
pressure", "chest x-ray", "poison ivy"), so that a body part or a scary word in an ordinary
request does not count; every other kind is matched on the text as heard. A hit that the
caller denied ("no chest pain") does not count (see :class:`~.matching.Negation`); when in
doubt (a hedge, a list the rule cannot read) the hit counts, because escalating a caller who
is fine costs a minute of staff time and missing one who is not can cost a life.

What to say depends on whether the clinic is open: when it is closed there is nobody to
transfer to, so the action becomes a callback request and the wording comes from
``after_hours`` (emergencies still get their 911 or 988 guidance first).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jinja2 import StrictUndefined, Template

from voiceagent.handoff.classifier import EmergencyClassifier, Guess
from voiceagent.handoff.findings import Action, Assessment, FindingKind
from voiceagent.handoff.hours import ClinicHours
from voiceagent.handoff.matching import (
    Hit,
    MatchSettings,
    Negation,
    Rule,
    RuleSet,
    combination_rule,
    compile_words,
    phrase_rule,
)
from voiceagent.handoff.schema import Policy
from voiceagent.handoff.text import MASK, Rewriter, Words, phrase_words, to_words, word_matches
from voiceagent.handoff.uncertainty import HandoffReason, UncertaintyTracker
from voiceagent.sandbox import BoundedSandbox

# Words around a short answer that do not change it: "uh, agent please".
_POLITE = frozenset(
    {"please", "just", "ok", "okay", "yes", "yeah", "hi", "hello", "hey", "well", "so", "oh",
     "now", "a", "an", "the", "can", "i", "get", "me", "speak", "talk", "to", "with", "um"}
)  # fmt: skip


@dataclass(frozen=True)
class Explanation:
    """One policy rule that matched a text, for admins trying out phrases.

    ``counts`` is False when the caller denied it ("no chest pain") or, for the classifier,
    when its probability is under ``thresholds.classifier_min``.
    """

    kind: FindingKind
    category: str
    evidence: str
    counts: bool


class PolicyEngine:
    """Compiled policy: detection plus the wording for each outcome."""

    def __init__(
        self,
        policy: Policy,
        *,
        clinic_name: str = "our clinic",
        hours: ClinicHours | None = None,
    ) -> None:
        self.policy = policy
        self.clinic_name = clinic_name
        self.hours = hours
        t = policy.thresholds
        settings = MatchSettings(
            t.word_similarity, t.phrase_similarity, t.word_window, t.phrase_gap
        )
        m = policy.matching
        self._rewriter = Rewriter.build(m.sounds_like)
        self._negation = Negation.build(m.negation_words, m.uncertain_words, self._rewriter)
        self._masks = tuple(w for p in m.not_symptoms if (w := compile_words(p, self._rewriter)))
        self._similarity = t.word_similarity

        denials = frozenset(w[0] for w in self._negation.negations if len(w) == 1)
        self._emergency = RuleSet(
            self._rules(
                "emergency", [(c.id, c.phrases, c.word_combinations) for c in policy.emergencies]
            ),
            settings,
            fuzzy_phrases=True,
            denials=denials,
        )
        self._sensitive = RuleSet(
            self._rules(
                "sensitive",
                [(c.id, c.phrases, c.word_combinations) for c in policy.sensitive_topics],
            ),
            settings,
            denials=denials,
        )
        hr = policy.human_request
        self._human = RuleSet(
            self._rules("human", [("caller_request", hr.phrases, hr.word_combinations)]),
            settings,
            denials=denials,
        )
        self._short_answers = frozenset(
            _strip_polite(phrase_words(a, self._rewriter)) for a in hr.short_answers
        )
        fr = policy.frustration
        self._frustration = RuleSet(
            self._rules(
                "frustration",
                [("frustration", [*fr.phrases, *fr.swear_words], fr.word_combinations)],
            ),
            settings,
            denials=denials,
        )
        self._red_flags = RuleSet(
            [phrase_rule("red_flag:any", w, self._rewriter) for w in m.red_flag_words],
            settings,
            denials=denials,
        )
        self._classifier = (
            self._train_classifier() if t.classifier_min < 1.0 and m.red_flag_words else None
        )
        self._emergency_order = {c.id: i for i, c in enumerate(policy.emergencies)}
        self._sensitive_order = {c.id: i for i, c in enumerate(policy.sensitive_topics)}
        # The sandbox the loader checked the messages in: bounded, nothing that multiplies.
        self._env = BoundedSandbox(multiplying=False, undefined=StrictUndefined, autoescape=False)
        self._templates: dict[str, Template] = {}

    def _train_classifier(self) -> EmergencyClassifier:
        def prepared(text: str) -> str:
            return _model_text(self._masked(to_words(text, self._rewriter)))

        p = self.policy
        positives = [
            (c.id, prepared(phrase), phrase) for c in p.emergencies for phrase in c.phrases
        ]
        negatives = [
            prepared(phrase)
            for phrase in (
                *(x for topic in p.sensitive_topics for x in topic.phrases),
                *p.human_request.phrases,
                *p.frustration.phrases,
                *p.ordinary_requests,
            )
        ]
        return EmergencyClassifier(positives, negatives)

    def _rules(
        self, kind: str, categories: list[tuple[str, list[str], list[list[str]]]]
    ) -> list[Rule]:
        rules: list[Rule] = []
        for ident, phrases, combinations in categories:
            key = f"{kind}:{ident}"
            rules.extend(phrase_rule(key, p, self._rewriter) for p in phrases)
            rules.extend(combination_rule(key, c, self._rewriter) for c in combinations)
        return rules

    # -- detection ---------------------------------------------------------------------------

    def assess(self, text: str, *, now: datetime | None = None) -> Assessment | None:
        """The most important finding in one caller turn, or None."""
        words = to_words(text, self._rewriter)
        if not words.words:
            return None
        masked = self._masked(words)
        emergency = self._first(self._emergency, masked, words, self._emergency_order)
        if emergency is None:
            emergency = self._second_opinion(masked, words)
        if emergency is not None:
            return self._emergency_assessment(*emergency, now=now)
        sensitive = self._first(self._sensitive, words, words, self._sensitive_order)
        if sensitive is not None:
            return self._sensitive_assessment(*sensitive, now=now)
        human = self._human_evidence(words)
        if human is not None:
            return self._human_assessment(human, now=now)
        frustration = self._frustration_evidence(words)
        if frustration is not None:
            return self._frustration_signal(frustration)
        return None

    def assess_dtmf(self, digits: str, *, now: datetime | None = None) -> Assessment | None:
        """A single key pressed while the agent is not collecting digits ("0": a person)."""
        if digits.strip() in self.policy.human_request.dtmf:
            return self._human_assessment(f"keypad {digits.strip()}", now=now)
        return None

    def handoff(self, reason: HandoffReason | str, *, now: datetime | None = None) -> Assessment:
        """The transfer (or after-hours callback) for a reason the tracker gave."""
        reason = HandoffReason(reason)
        if reason is HandoffReason.CALLER_REQUEST:
            return self._human_assessment("", now=now)
        if reason is HandoffReason.FRUSTRATION:
            fr = self.policy.frustration
            opening = self._render(self.policy.messages.frustration_transfer, now)
            action, tail = self._transfer_or_callback(now)
            return Assessment(
                FindingKind.FRUSTRATION, "frustration", fr.reason_code, fr.reason, fr.urgency,
                action, (opening, *tail),
            )  # fmt: skip
        detail = getattr(self.policy.uncertainty, reason.value)
        action, tail = self._transfer_or_callback(now)
        return Assessment(
            FindingKind.UNCERTAINTY, reason.value, reason.value, detail.reason, "routine",
            action, (self._render(detail.say, now), *tail),
        )  # fmt: skip

    def new_tracker(self) -> UncertaintyTracker:
        return UncertaintyTracker(self.policy)

    def explain(self, text: str) -> list[Explanation]:
        """Every rule that matched, denied or not: for trying out phrases, not for calls."""
        words = to_words(text, self._rewriter)
        out: list[Explanation] = []
        passes = [
            (FindingKind.EMERGENCY, self._emergency, self._masked(words)),
            (FindingKind.SENSITIVE, self._sensitive, words),
            (FindingKind.HUMAN_REQUEST, self._human, words),
            (FindingKind.FRUSTRATION, self._frustration, words),
        ]
        for kind, rules, seen in passes:
            for hit in sorted(rules.hits(seen), key=lambda h: (h.start, h.label)):
                counts = not self._negation.hit_is_negated(words, hit)
                explanation = Explanation(kind, hit.key.split(":", 1)[1], hit.label, counts)
                if explanation not in out:
                    out.append(explanation)
        guess = self._classifier_guess(self._masked(words), words)
        if guess is not None:
            counts = guess.probability >= self.policy.thresholds.classifier_min
            evidence = f'classifier {guess.probability:.2f}, like "{guess.nearest}"'
            out.append(Explanation(FindingKind.EMERGENCY, guess.category, evidence, counts))
        return out

    def is_open(self, now: datetime) -> bool:
        if self.hours is None:
            return True
        return self.hours.is_open(now)

    def render_message(self, name: str, *, now: datetime) -> str:
        """A message by ``section.field``, e.g. ``after_hours.callback_confirmation``."""
        section, _, field = name.partition(".")
        return self._render(getattr(getattr(self.policy, section), field), now)

    # -- matching helpers ----------------------------------------------------------------------

    def _masked(self, words: Words) -> Words:
        """The words with ``not_symptoms`` blanked out, positions unchanged."""
        text = list(words.words)
        for mask in self._masks:
            for start in range(len(text) - len(mask) + 1):
                if all(
                    word_matches(text[start + k], w.text, w.prefix, self._similarity)
                    for k, w in enumerate(mask)
                ):
                    text[start : start + len(mask)] = [MASK] * len(mask)
        return Words(tuple(text), words.breaks, words.sentence)

    def _first(
        self, rules: RuleSet, seen: Words, words: Words, order: dict[str, int]
    ) -> tuple[str, str] | None:
        """(category id, evidence) of the best undenied hit: word-for-word hits before
        similarity-only ones, then the category listed first, then the earliest."""
        best: tuple[tuple[bool, int, int], str, str] | None = None
        for hit in rules.hits(seen):
            if self._negation.hit_is_negated(words, hit):
                continue
            ident = hit.key.split(":", 1)[1]
            rank = (hit.fuzzy, order[ident], hit.start)
            if best is None or rank < best[0]:
                best = (rank, ident, hit.label)
        return None if best is None else (best[1], best[2])

    def _classifier_guess(self, masked: Words, words: Words) -> Guess | None:
        """The classifier's view, asked only if a red-flag word was heard and not denied.

        It cannot read negation itself, so the words of every denied rule hit are removed
        first: "no chest pain, but my throat is scratchy" reaches it as "no but my throat
        is scratchy".
        """
        if self._classifier is None:
            return None
        flags = self._red_flags.hits(masked)
        if all(self._negation.hit_is_negated(words, h) for h in flags):
            return None
        denied = [
            h
            for h in (*flags, *self._emergency.hits(masked))
            if self._negation.hit_is_negated(words, h)
        ]
        kept = list(masked.words)
        for hit in denied:
            kept[hit.start : hit.end] = [MASK] * (hit.end - hit.start)
        return self._classifier.guess(" ".join(w for w in kept if w != MASK))

    def _second_opinion(self, masked: Words, words: Words) -> tuple[str, str] | None:
        guess = self._classifier_guess(masked, words)
        if guess is None or guess.probability < self.policy.thresholds.classifier_min:
            return None
        return guess.category, f'classifier {guess.probability:.2f}, like "{guess.nearest}"'

    def _undenied(self, rules: RuleSet, words: Words) -> Hit | None:
        hits = [h for h in rules.hits(words) if not self._negation.hit_is_negated(words, h)]
        return min(hits, key=lambda h: h.start) if hits else None

    def _human_evidence(self, words: Words) -> str | None:
        core = _strip_polite(words.words)
        if core in self._short_answers:
            return " ".join(core)
        hit = self._undenied(self._human, words)
        return hit.label if hit else None

    def _frustration_evidence(self, words: Words) -> str | None:
        hit = self._undenied(self._frustration, words)
        if hit is not None:
            return hit.label
        run = longest = 0
        for word in words.words:
            run = run + 1 if word == "no" else 0
            longest = max(longest, run)
        if longest >= self.policy.frustration.repeated_no:
            return "no " * (longest - 1) + "no"
        return None

    # -- wording -------------------------------------------------------------------------------

    def _render(self, template: str, now: datetime | None) -> str:
        compiled = self._templates.get(template)
        if compiled is None:
            compiled = self._templates[template] = self._env.from_string(template)
        return " ".join(compiled.render(self._context(template, now)).split())

    def _context(self, template: str, now: datetime) -> dict[str, Any]:
        context: dict[str, Any] = {
            "clinic_name": self.clinic_name,
            "next_opening": "",
            "hours_today": "",
        }
        if self.hours is not None and ("next_opening" in template or "hours_today" in template):
            context["next_opening"] = self.hours.describe_next_opening(now)
            context["hours_today"] = self.hours.describe_today(now)
        return context

    def _transfer_or_callback(self, now: datetime | None) -> tuple[Action, tuple[str, ...]]:
        if self.is_open(now):
            return Action.TRANSFER, (self._render(self.policy.messages.transfer, now),)
        after = self.policy.after_hours
        return Action.CALLBACK, (
            self._render(after.no_transfer, now),
            self._render(after.ask_reason, now),
        )

    def _emergency_assessment(
        self, ident: str, evidence: str, *, now: datetime | None
    ) -> Assessment:
        category = self.policy.emergencies[self._emergency_order[ident]]
        guidance = self._render(category.guidance, now)
        if self.is_open(now):
            action, tail = Action.TRANSFER, self.policy.messages.emergency_transfer
        else:
            action, tail = Action.CALLBACK, self.policy.after_hours.emergency
        return Assessment(
            FindingKind.EMERGENCY, category.id, category.reason_code, category.reason,
            category.urgency, action, (guidance, self._render(tail, now)), evidence,
        )  # fmt: skip

    def _sensitive_assessment(
        self, ident: str, evidence: str, *, now: datetime | None
    ) -> Assessment:
        topic = self.policy.sensitive_topics[self._sensitive_order[ident]]
        opening = self._render(topic.say or self.policy.messages.sensitive, now)
        action, tail = self._transfer_or_callback(now)
        return Assessment(
            FindingKind.SENSITIVE, topic.id, topic.reason_code, topic.reason, topic.urgency,
            action, (opening, *tail), evidence,
        )  # fmt: skip

    def _human_assessment(self, evidence: str, *, now: datetime | None) -> Assessment:
        hr = self.policy.human_request
        action, tail = self._transfer_or_callback(now)
        say = (
            (self._render(self.policy.messages.human_request, now), *tail)
            if action is Action.TRANSFER
            else tail
        )
        return Assessment(
            FindingKind.HUMAN_REQUEST, "caller_request", hr.reason_code, hr.reason, hr.urgency,
            action, say, evidence,
        )  # fmt: skip

    def _frustration_signal(self, evidence: str) -> Assessment:
        fr = self.policy.frustration
        noticed = self._render(self.policy.messages.frustration_noticed, None)
        return Assessment(
            FindingKind.FRUSTRATION, "frustration", fr.reason_code, fr.reason, fr.urgency,
            Action.CONTINUE, (noticed,), evidence,
        )  # fmt: skip


def _model_text(words: Words) -> str:
    return " ".join(w for w in words.words if w != MASK)


def _strip_polite(words: tuple[str, ...]) -> tuple[str, ...]:
    core = list(words)
    while core and core[0] in _POLITE:
        core.pop(0)
    while core and core[-1] in _POLITE:
        core.pop()
    deduped = [w for i, w in enumerate(core) if i == 0 or w != core[i - 1]]  # "agent, agent"
    return tuple(deduped)

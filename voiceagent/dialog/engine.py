"""FlowDialog: runs the admin's YAML flows for one call.

Every caller turn goes through the same gates, in order:

1. the safety policy (emergencies first, then sensitive topics, requests for a person,
   frustration) - it listens at every step, before identity is verified too;
2. hearing trouble (low ASR or intent confidence, twice in a row, hands off);
3. the question being asked (a typed answer fills its slot), global patterns ("repeat
   that", "go back", corrections...), or a switch to another flow the caller now wants;
4. otherwise the question is asked again, up to its limit, then its ``on_fail`` applies.

Steps run until one needs the caller (an ask or confirm) or the call leaves the agent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from voiceagent.clock import Clock, system_clock
from voiceagent.dialog import schema
from voiceagent.dialog.actions.registry import ActionContext, ActionRefused, ActionRegistry
from voiceagent.dialog.base import Expectation, Hangup, Interruption, Reply, Transfer, Utterance
from voiceagent.dialog.clinic import ClinicInfo
from voiceagent.dialog.context import build_context
from voiceagent.dialog.loader import CompiledStep, Flow, FlowSet
from voiceagent.dialog.slots import SlotRequest, expectation, extract, from_keypad
from voiceagent.dialog.state import DialogState, Frame, Question
from voiceagent.dialog.templates import Prompt, TemplateProblem
from voiceagent.handoff.desk import HandoffDesk, HandoffRequest
from voiceagent.handoff.findings import Action as PolicyAction
from voiceagent.handoff.findings import Assessment, FindingKind
from voiceagent.handoff.policy import PolicyEngine
from voiceagent.logs import get_logger
from voiceagent.store import Actor, Database, StoreError
from voiceagent.understanding.intents import IntentResult
from voiceagent.understanding.nlu import Understanding

log = get_logger(__name__)

MAX_STEPS_PER_TURN = 100  # a loop in an admin's flow must not hang a call
PATTERN_CONFIDENCE = 0.6
SWITCH_CONFIDENCE = 0.75
MENU_MISSES_BEFORE_HANDOFF = 2
SILENCES_BEFORE_GIVING_UP = 3
# "Anything else?" answered with "that's it" means no, though it sounds like a yes.
NOTHING_ELSE = re.compile(
    r"\b(that'?s (it|all|everything)|nothing( else)?|i'?m (good|all set|fine|done)|"
    r"all set|that (will|'ll) be all|no(pe)?|not (today|right now))\b",
    re.IGNORECASE,
)
# A turn that ends in a farewell ends the call, whatever came before ("never mind, bye").
FAREWELL = re.compile(
    r"\b(good ?bye|bye(-bye)?|talk to you later|have a (good|nice) (day|one))\W*$", re.IGNORECASE
)
# Words that promise more is coming ("I need a refill on my, um...").
TRAILING_FILLER = re.compile(
    r"\b(and|but|or|so|um+|uh+|er|the|a|an|my|to|for|with|of|on|at|is|it's|like)\W*$",
    re.IGNORECASE,
)
COMPLETE_CONFIDENCE = 0.7
OPEN_REQUEST_WAIT_MS = 350  # pause before ending an open request early (closed answers: 120)
# Answers callers give in pieces, with pauses: wait for the full end of turn.
PIECEMEAL = frozenset({"member_id", "group_number", "digits", "phone", "text"})
# Free-form answers (a name, a reason) could swallow "never mind" or "go back": for these,
# a confidently recognised pattern wins over the answer.
FREE_FORM = frozenset({"person_name", "text"})
FREE_FORM_PATTERN_CONFIDENCE = 0.8
# Slot types worth taking from the caller's opening request ("a physical next Tuesday").
PREFILLABLE = frozenset({"appointment_type", "provider", "time_preference", "carrier"})

GREETING = "Thank you for calling {clinic}. How can I help you today?"
MENU_HELP = (
    "Sorry, I didn't catch that. I can help you book, change or cancel an appointment, "
    "request a prescription refill, check your insurance, or tell you our hours and address. "
    "What would you like to do?"
)
ANYTHING_ELSE = "Is there anything else I can help you with?"
WHAT_ELSE = "Sure, what else can I help you with?"
GOODBYE = "Thank you for calling {clinic}. Goodbye."
STILL_THERE = "Are you still there?"
CANCELLED = "Okay, I've stopped that."
NOTHING_TO_CHANGE = "Sorry, what would you like to change?"
KEY_NOT_UNDERSTOOD = "Sorry, I didn't understand that key."
TROUBLE = "I'm sorry, I'm having trouble with that."
SYSTEM_TROUBLE = "I'm sorry, our system is having trouble right now."
RESTART = "I'm sorry, I have to hand you over to our front desk now."
RESTART_CALLBACK = (
    "I'm sorry, I have to end this call now. We've saved your request, and our staff will "
    "call you back after we open."
)


@dataclass
class EngineServices:
    """What every call's dialog shares: the flows, models, policy and the database."""

    db: Database
    flows: FlowSet
    nlu: Understanding
    policy: PolicyEngine
    actions: ActionRegistry
    desk: HandoffDesk
    clock: Clock = system_clock  # the runtime's; tests pin it


@dataclass
class _Out:
    lines: list[str] = field(default_factory=list)
    action: Transfer | Hangup | None = None
    expect: Expectation = field(default_factory=Expectation)
    fixed: bool = True  # every line is a fixed prompt (cacheable audio)

    def say(self, text: str, *, fixed: bool = False) -> None:
        if text:
            self.lines.append(text)
            self.fixed = self.fixed and fixed

    def reply(self) -> Reply:
        return Reply(
            say=tuple(self.lines), action=self.action, expect=self.expect, cacheable=self.fixed
        )


class FlowDialog:
    def __init__(
        self,
        services: EngineServices,
        *,
        call_sid: str,
        caller_number: str | None,
        clinic: ClinicInfo,
        name_hints: list[str] | None = None,
    ) -> None:
        self._svc = services
        self._flows = services.flows
        self._nlu = services.nlu
        self._policy = services.policy
        self.call_sid = call_sid
        self.caller_number = caller_number
        self.clinic = clinic
        self._name_hints = name_hints or []  # names on file for the caller ID (ASR bias only)
        self.state = DialogState()
        self._tracker = services.policy.new_tracker()
        self._actor = Actor.agent(call_sid)
        # After hours, a handoff waits here for the caller's message (a callback request).
        self._pending_callback: HandoffRequest | None = None

    # --- the Dialog interface -------------------------------------------------------------
    def greet(self) -> Reply:
        out = _Out()
        out.say(GREETING.format(clinic=self.clinic.name), fixed=True)
        return self._finish(out)

    def on_utterance(self, utterance: Utterance) -> Reply:
        text = utterance.text.strip()
        self.state.remember("caller", text)
        self.state.silences = 0
        now = self._now()
        finding = self._policy.assess(text, now=now)
        if finding is not None and finding.is_emergency:
            return self._hand_off(finding)
        if self._pending_callback is not None:
            return self._take_callback(text)
        intent = self._nlu.classify(text)
        unsure = utterance.confidence < self._policy.policy.thresholds.asr_confidence_min
        # Heard with little confidence, yet a valid answer to the question asked ("Listen,
        # upril" for one of the caller's medications): the words are good enough.
        answered = unsure and self._typed_answer(text) is not None
        reason = self._tracker.observe(
            asr_confidence=None if answered else utterance.confidence,
            intent_confidence=None if self.state.question else intent.confidence,
            finding=finding,
            text=text,
        )
        if finding is not None and finding.hands_off:
            return self._hand_off(finding)
        if reason is not None:
            return self._hand_off(self._policy.handoff(reason, now=now))
        if finding is not None and finding.kind is FindingKind.FRUSTRATION:
            return self._apologise(finding)
        if unsure and not answered:
            return self._not_heard()
        if FAREWELL.search(text):
            return self._goodbye(self._flows.patterns.get("goodbye"))
        if self.state.question is not None:
            return self._answer(text, intent)
        return self._menu(text, intent)

    def on_dtmf(self, digits: str) -> Reply:
        self.state.remember("caller", f"(keypad {len(digits)} keys)")
        now = self._now()
        question = self.state.question
        if digits in ("0", "0#"):
            finding = self._policy.assess_dtmf("0", now=now)
            if finding is not None:
                return self._hand_off(finding)
        if digits == "*":
            return self._repeat()
        if question is not None and question.request is not None:
            filled = from_keypad(question.request, digits.rstrip("#"), self._nlu, now.date())
            if filled is not None:
                return self._fill(question, filled.value)
        out = _Out()
        out.say(KEY_NOT_UNDERSTOOD, fixed=True)
        if question is not None:
            return self._retry(question, out)
        return self._finish(out)

    def on_silence(self) -> Reply:
        self.state.silences += 1
        out = _Out()
        if self.state.silences >= SILENCES_BEFORE_GIVING_UP:
            if self._policy.is_open(self._now()):
                return self._hand_off(self._policy.handoff("low_confidence", now=self._now()))
            out.say(GOODBYE.format(clinic=self.clinic.name), fixed=True)
            out.action = Hangup()
            return self._finish(out, record_outcome="no_response")
        out.say(STILL_THERE, fixed=True)
        if self.state.question is not None:
            out.lines += self.state.question.prompt_lines
            out.expect = self._expectation(self.state.question)
            return self._finish(out)
        out.say(
            ANYTHING_ELSE if self.state.mode == "anything_else" else "How can I help you today?"
        )
        return self._finish(out)

    def on_shutdown(self) -> Reply:
        """The server is stopping: hand the caller to a person with the call's summary (or,
        when the desk is closed, keep their request as a callback)."""
        if self.state.mode == "ended" or self.state.handed_off:
            return Reply()
        now = self._now()
        if not self._policy.is_open(now):
            request = self._handoff_request(
                "system_restart", "The call was cut short by a system restart.", "routine"
            )
            self._svc.desk.callback(request, caller_reason="(call ended by a system restart)")
            self.state.mode = "ended"
            out = _Out()
            out.say(RESTART_CALLBACK, fixed=True)
            out.action = Hangup()
            return self._finish(out)
        return self._hand_off(
            self._policy.handoff("caller_request", now=now),
            reason_code="system_restart",
            reason="The assistant is restarting, so the call was handed to staff.",
            lead=RESTART,
            skip_opening=True,
        )

    def is_complete(self, text: str) -> bool:
        """Whether the words so far already answer what the agent is waiting for.

        Only cheap, side-effect-free checks: the open question's answer parses (a yes/no, a
        whole date of birth, a name with first and last), or, with no question open, the
        request is understood with confidence. Answers people give in pieces (member ids,
        free text) always wait for the full end of turn.
        """
        text = text.strip()
        if not text or TRAILING_FILLER.search(text) or text.endswith((",", ";", "-", ":")):
            return False  # Whisper punctuates a pause mid-sentence with a comma
        question = self.state.question
        if question is None:
            if not text.endswith((".", "?", "!")):
                return False  # an open request: only a finished sentence ends it early
            intent = self._nlu.classify(text)
            if self.state.mode == "anything_else" and (
                NOTHING_ELSE.search(text) or self._nlu.yes_no(text) is not None
            ):
                return True
            return intent.intent is not None and intent.confidence >= COMPLETE_CONFIDENCE
        if question.request is None:
            return self._nlu.yes_no(text) is not None
        kind = question.request.type
        if kind in PIECEMEAL:
            return False
        filled = extract(question.request, text, self._nlu, self._now())
        if filled is None:
            return False
        if kind == "person_name":
            return bool(filled.value.first and filled.value.last)
        return True

    def on_interrupted(self, interruption: Interruption) -> None:
        # What matters for "repeat that" is what we meant to say; nothing else to do.
        return None

    def on_hangup(self) -> None:
        """The caller hung up. Work they had started (a refill half made, a slot being
        chosen, a message not yet left) becomes a callback, so nothing they said is lost."""
        pending, self._pending_callback = self._pending_callback, None
        if self.state.mode == "ended" or self.state.handed_off:
            return
        self.state.mode = "ended"
        if pending is not None:
            self._svc.desk.callback(pending, caller_reason="(hung up before leaving a message)")
            return
        frame = self.state.frame
        if frame is None:
            return  # between topics: nothing was left unfinished
        topic = self.state.stack[0].flow.name.replace("_", " ")
        request = self._handoff_request(
            "caller_hung_up", f"The caller hung up in the middle of: {topic}.", "routine"
        )
        self._svc.desk.callback(request, caller_reason=f"Unfinished {topic}")

    # --- the gates ------------------------------------------------------------------------
    def _answer(self, text: str, intent: IntentResult) -> Reply:
        question = self.state.question
        assert question is not None
        step = question.step.step
        pattern = self._pattern(intent)
        free_form = isinstance(step, schema.Ask) and step.type in FREE_FORM
        overrides = (
            pattern is not None
            and pattern.behavior != "correction"  # "no, Gonzalez" is an answer to a name
            and intent.confidence >= FREE_FORM_PATTERN_CONFIDENCE
        )
        if isinstance(step, schema.Ask) and not (free_form and overrides):
            filled = self._extract(question, text)
            if filled is not None:
                return self._fill(question, filled.value)
        if isinstance(step, schema.Confirm):
            answer = self._nlu.yes_no(text)
            if answer is not None and answer.correction and not answer.answer:
                # "No, Tuesday" changes an earlier answer; "No, keep it" is just no.
                corrected = self._correct(text)
                if corrected is not None:
                    return corrected
            if answer is not None:
                return self._confirmed(question, answer.answer)
        if pattern is not None:
            return self._run_pattern(pattern, text)
        target = self._switch_target(intent)
        if target is not None:
            return self._start_flow(target, text, switching=True)
        return self._retry(question, _Out())

    def _menu(self, text: str, intent: IntentResult) -> Reply:
        if self.state.mode == "anything_else":
            answer = self._nlu.yes_no(text)
            flow = self._startable(intent, SWITCH_CONFIDENCE)
            if flow is None and NOTHING_ELSE.search(text):
                return self._goodbye()
            if flow is None and answer is not None:
                if not answer.answer:
                    return self._goodbye()
                out = _Out()
                out.say(WHAT_ELSE, fixed=True)
                self.state.mode = "menu"
                return self._finish(out)
        pattern = self._pattern(intent)
        if pattern is not None:
            return self._run_pattern(pattern, text)
        flow = self._startable(intent, self._policy.policy.thresholds.intent_confidence_min)
        if flow is not None:
            self.state.menu_misses = 0
            return self._start_flow(flow, text)
        self.state.menu_misses += 1
        if self.state.menu_misses >= MENU_MISSES_BEFORE_HANDOFF:
            return self._hand_off(self._policy.handoff("low_confidence", now=self._now()))
        out = _Out()
        out.say(MENU_HELP, fixed=True)
        self.state.mode = "menu"
        return self._finish(out)

    def _typed_answer(self, text: str) -> object | None:
        """The open question's answer in ``text``, for typed questions only (a free-form
        answer says nothing about whether the words were heard right)."""
        question = self.state.question
        if question is None or question.request is None or question.request.type in FREE_FORM:
            return None
        return extract(question.request, text, self._nlu, self._now())

    def _apologise(self, finding: Assessment) -> Reply:
        """A first sign of frustration: acknowledge it and try the question again."""
        out = _Out()
        for line in finding.say or (
            self._policy.render_message("messages.frustration_noticed", now=self._now()),
        ):
            out.say(line)
        question = self.state.question
        if question is not None:
            return self._retry(question, out, count=False)
        out.say("How can I help you today?", fixed=True)
        return self._finish(out)

    def _not_heard(self) -> Reply:
        out = _Out()
        out.say("Sorry, I didn't quite hear that.", fixed=True)
        question = self.state.question
        if question is not None:
            out.lines += question.prompt_lines
            out.expect = self._expectation(question)
            return self._finish(out)
        out.say("How can I help you today?", fixed=True)
        return self._finish(out)

    # --- intents, patterns and flows ------------------------------------------------------
    def _startable(self, intent: IntentResult, threshold: float) -> Flow | None:
        flow = self._flows.flows.get(intent.intent or "")
        if flow is None or not flow.examples or intent.confidence < threshold:
            return None
        return flow

    def _pattern(self, intent: IntentResult) -> Flow | None:
        pattern = self._flows.patterns.get(intent.intent or "")
        if pattern is None or intent.confidence < PATTERN_CONFIDENCE:
            return None
        return pattern

    def _switch_target(self, intent: IntentResult) -> Flow | None:
        flow = self._startable(intent, SWITCH_CONFIDENCE)
        current = self.state.frame
        if flow is None or (current is not None and flow.name == current.flow.name):
            return None
        return flow

    def _start_flow(self, flow: Flow, text: str, *, switching: bool = False) -> Reply:
        if switching:
            self.state.stack.clear()
        self.state.question = None
        frame = Frame(flow)
        self.state.stack.append(frame)
        self._prefill(frame, text)
        self.state.mode = "flow"
        if self.state.intent is None:
            self.state.intent = flow.name
            self._svc.desk.note_intent(self.call_sid, flow.name)
        return self._run(_Out())

    def _prefill(self, frame: Frame, text: str) -> None:
        """ "A physical with Dr. Patel next Tuesday": answers given with the request are
        kept, so those questions are never asked. What the new request says replaces what an
        earlier one did ("do you take Cigna?" after asking about Aetna)."""
        for compiled in frame.flow.steps:
            step = compiled.step
            if not isinstance(step, schema.Ask) or step.type not in PREFILLABLE:
                continue
            try:
                request = self._request(compiled)
            except TemplateProblem:
                continue  # its candidates come from a later step (the patient's medications)
            # Not "optional" here: "any time" in a request is no answer to "which doctor".
            request = replace(request, optional=False)
            filled = extract(request, text, self._nlu, self._now())
            if filled is not None:
                self._set(frame, step.ask, compiled.index, filled.value)

    def _run_pattern(self, pattern: Flow, text: str) -> Reply:
        out = _Out()
        if pattern.steps:  # an admin replaced the behaviour with steps: run them as a sub-flow
            self.state.question = None
            self.state.stack.append(Frame(pattern))
            self.state.mode = "flow"
            return self._run(out)
        behavior = pattern.behavior
        if behavior == "repeat":
            return self._repeat()
        if behavior == "speak_to_person":
            return self._hand_off(self._policy.handoff("caller_request", now=self._now()))
        if behavior == "goodbye":
            return self._goodbye(pattern)
        if behavior == "cancel":
            self.state.stack.clear()
            self.state.question = None
            out.say(self._pattern_line(pattern, CANCELLED), fixed=pattern.say is None)
            return self._anything_else(out)
        if behavior == "correction":
            corrected = self._correct(text)
            if corrected is not None:
                return corrected
            out.say(self._pattern_line(pattern, NOTHING_TO_CHANGE))
            if self.state.question is not None:
                return self._retry(self.state.question, out, count=False)
            return self._finish(out)
        if behavior == "go_back":
            return self._go_back(out)
        if behavior == "start_over":
            frame = self.state.frame
            if frame is not None:
                for name, _index in frame.filled:
                    self.state.values.pop(name, None)
                frame.filled.clear()
                frame.index = 0
                self.state.question = None
                out.say(self._pattern_line(pattern, "Okay, let's start over."))
                return self._run(out)
            out.say("How can I help you today?", fixed=True)
            return self._finish(out)
        return self._finish(out)

    def _pattern_line(self, pattern: Flow, default: str) -> str:
        if pattern.say is None:
            return default
        return self._render(pattern.say)

    def _repeat(self) -> Reply:
        out = _Out()
        out.lines = list(self.state.last_said) or [GREETING.format(clinic=self.clinic.name)]
        question = self.state.question
        if question is not None:
            out.expect = self._expectation(question)
        return self._finish(out)

    def _goodbye(self, pattern: Flow | None = None) -> Reply:
        out = _Out()
        default = GOODBYE.format(clinic=self.clinic.name)
        out.say(self._pattern_line(pattern, default) if pattern else default, fixed=True)
        out.action = Hangup()
        self.state.stack.clear()
        self.state.question = None
        self.state.mode = "ended"
        return self._finish(out)

    def _go_back(self, out: _Out) -> Reply:
        frame = self.state.frame
        if frame is None or not frame.filled:
            out.say("Sorry, there's nothing to go back to.", fixed=True)
            if self.state.question is not None:
                return self._retry(self.state.question, out, count=False)
            return self._finish(out)
        name, index = frame.filled[-1]
        self._rewind(frame, name, index)
        return self._run(out)

    def _rewind(self, frame: Frame, name: str, index: int) -> None:
        """Forget ``name`` and everything this flow filled after it; resume at its step."""
        position = next(i for i, (n, _) in enumerate(frame.filled) if n == name)
        for later, _ in frame.filled[position:]:
            self.state.values.pop(later, None)
        del frame.filled[position:]
        frame.index = index
        self.state.question = None

    def _correct(self, text: str) -> Reply | None:
        """ "No, I said Tuesday": find which earlier answer the words fit, change it, and
        carry on from there (later answers that depended on it are asked again)."""
        frame = self.state.frame
        if frame is None:
            return None
        for name, index in reversed(frame.filled):
            step = frame.flow.steps[index].step
            if not isinstance(step, schema.Ask):
                continue
            request = self._request(frame.flow.steps[index])
            filled = extract(request, text, self._nlu, self._now())
            if filled is None or filled.value == self.state.values.get(name):
                continue
            self._rewind(frame, name, index)
            self._set(frame, name, index, filled.value)
            frame.index = index + 1
            out = _Out()
            out.say("Okay, got it.", fixed=True)
            return self._run(out)
        return None

    # --- questions and answers ------------------------------------------------------------
    def _request(self, compiled: CompiledStep) -> SlotRequest:
        step = compiled.step
        assert isinstance(step, schema.Ask)
        context = self._context()
        options = compiled.expressions.get("options")
        candidates = compiled.expressions.get("candidates")
        return SlotRequest(
            type=step.type,
            options=list(options.evaluate(context) or []) if options else [],
            candidates=list(candidates.evaluate(context) or [])
            if candidates
            else self._default_candidates(step.type),
            optional=step.optional,
        )

    def _default_candidates(self, kind: str) -> list[Any]:
        clinic = self.clinic
        if kind == "provider":
            return list(clinic.providers)
        if kind == "appointment_type":
            return list(clinic.appointment_types)
        if kind == "pharmacy":
            return list(clinic.pharmacies)
        if kind == "carrier":
            return list(clinic.known_carriers)
        if kind == "person_name":
            return list(self._name_hints)
        return []

    def _extract(self, question: Question, text: str) -> Any:
        assert question.request is not None
        return extract(question.request, text, self._nlu, self._now())

    def _expectation(self, question: Question) -> Expectation:
        if question.request is None:
            return Expectation(hotwords=("yes", "no"), end_of_turn_ms=450)
        return expectation(question.request)

    def _fill(self, question: Question, value: Any) -> Reply:
        step = question.step
        assert isinstance(step.step, schema.Ask)
        self._tracker.question_answered(self._question_key(question))
        self._set(question.frame, step.step.ask, step.index, value)
        question.frame.index = step.index + 1
        self.state.question = None
        return self._run(_Out())

    def _set(self, frame: Frame, name: str, index: int, value: Any) -> None:
        self.state.values[name] = value
        frame.filled = [(n, i) for n, i in frame.filled if n != name]
        frame.filled.append((name, index))

    def _confirmed(self, question: Question, yes: bool) -> Reply:
        step = question.step.step
        assert isinstance(step, schema.Confirm)
        self._tracker.question_answered(self._question_key(question))
        self.state.question = None
        return self._jump(question.frame, question.step, step.on_yes if yes else step.on_no, _Out())

    def _question_key(self, question: Question) -> str:
        return f"{question.frame.flow.name}:{question.step.index}"

    def _retry(self, question: Question, out: _Out, *, count: bool = True) -> Reply:
        step = question.step.step
        assert isinstance(step, schema.Ask | schema.Confirm)
        if count:
            question.attempts += 1
            reason = self._tracker.observe(
                question=self._question_key(question),
                question_failed=True,
                max_reprompts=step.max_attempts - 1,
            )
            if question.attempts >= step.max_attempts or reason is not None:
                self.state.question = None
                return self._jump(question.frame, question.step, step.on_fail, out)
        reprompts = question.step.prompts
        key = f"reprompt.{(question.attempts - 1) % max(1, len(step.reprompts))}"
        prompt = reprompts.get(key) or reprompts.get("prompt") or reprompts.get("confirm")
        assert prompt is not None
        line = self._render(prompt)
        out.say(line, fixed=prompt.fixed)
        question.prompt_lines = [line]
        out.expect = self._expectation(question)
        return self._finish(out)

    # --- running steps ----------------------------------------------------------------------
    def _run(self, out: _Out) -> Reply:
        for _ in range(MAX_STEPS_PER_TURN):
            frame = self.state.frame
            if frame is None:
                return self._anything_else(out)
            if frame.index >= len(frame.flow.steps):
                self._return_from(frame)
                continue
            compiled = frame.flow.steps[frame.index]
            try:
                if compiled.when is not None and not compiled.when.evaluate(self._context()):
                    frame.index += 1
                    continue
                reply = self._step(frame, compiled, out)
            except (TemplateProblem, ActionRefused, StoreError, SQLAlchemyError) as exc:
                # A broken flow or a database that stays down: a person takes over, and
                # the caller hears why instead of silence.
                log.error(
                    "flow_step_failed",
                    flow=frame.flow.name,
                    step=compiled.index,
                    error=type(exc).__name__,
                    code=getattr(exc, "code", None),
                )
                store_down = isinstance(exc, StoreError | SQLAlchemyError)
                return self._hand_off(
                    self._policy.handoff("max_attempts", now=self._now()),
                    reason_code="system_error" if store_down else "flow_error",
                    lead=SYSTEM_TROUBLE if store_down else TROUBLE,
                )
            if reply is not None:
                return reply
        log.error("flow_loop", flow=self.state.frame.flow.name if self.state.frame else None)
        return self._hand_off(
            self._policy.handoff("max_attempts", now=self._now()),
            reason_code="flow_error",
            lead=TROUBLE,
        )

    def _return_from(self, frame: Frame) -> None:
        self.state.stack.pop()
        parent = self.state.frame
        if parent is not None:
            parent.index += 1

    def _step(self, frame: Frame, compiled: CompiledStep, out: _Out) -> Reply | None:
        step = compiled.step
        match step:
            case schema.Say():
                for i in range(len(step.lines)):
                    prompt = compiled.prompts[f"say.{i}"]
                    out.say(self._render(prompt), fixed=prompt.fixed)
                frame.index += 1
            case schema.Ask():
                if step.ask in self.state.values:
                    frame.index += 1  # already known: never ask twice
                    return None
                return self._ask(frame, compiled, out)
            case schema.Confirm():
                prompt = compiled.prompts["confirm"]
                line = self._render(prompt)
                out.say(line, fixed=prompt.fixed)
                question = Question(frame, compiled, None, prompt_lines=[line])
                self.state.question = question
                out.expect = self._expectation(question)
                return self._finish(out)
            case schema.Action():
                result = self._call_action(step, compiled)
                if step.save_as:
                    self._set(frame, step.save_as, compiled.index, result)
                frame.index += 1
            case schema.SetVars():
                context = self._context()
                for name in step.set:
                    value = compiled.expressions[f"set.{name}"].evaluate(context)
                    self._set(frame, name, compiled.index, value)
                frame.index += 1
            case schema.Branch():
                context = self._context()
                for i, case in enumerate(step.branch):
                    if compiled.expressions[f"case.{i}"].evaluate(context):
                        return self._jump(frame, compiled, case.goto, out, resume=False)
                return self._jump(frame, compiled, step.otherwise, out, resume=False)
            case schema.Goto():
                return self._jump(frame, compiled, step.goto, out, resume=False)
            case schema.CallFlow():
                sub = self._flows.flows[step.call]
                if sub.skip_if is not None and sub.skip_if.evaluate(self._context()):
                    frame.index += 1
                else:
                    self.state.stack.append(Frame(sub))
            case schema.Switch():
                self.state.stack.pop()
                self.state.stack.append(Frame(self._flows.flows[step.switch]))
            case schema.Handoff():
                return self._flow_handoff(compiled, out)
            case schema.End():
                return self._end(frame, compiled, out)
            case schema.Forget():
                for name in step.forget:
                    self.state.values.pop(name, None)
                frame.filled = [(n, i) for n, i in frame.filled if n not in step.forget]
                frame.index += 1
        return None

    def _ask(self, frame: Frame, compiled: CompiledStep, out: _Out) -> Reply:
        prompt = compiled.prompts["prompt"]
        line = self._render(prompt)
        out.say(line, fixed=prompt.fixed)
        question = Question(frame, compiled, self._request(compiled), prompt_lines=[line])
        self.state.question = question
        out.expect = self._expectation(question)
        return self._finish(out)

    def _jump(
        self, frame: Frame, compiled: CompiledStep, target: str, out: _Out, *, resume: bool = True
    ) -> Reply:
        if target == "handoff":
            return self._hand_off(self._policy.handoff("max_attempts", now=self._now()), lead=None)
        if target == "return":
            self._return_from(frame)
        elif target == "next":
            frame.index = compiled.index + 1
        elif target == "retry":
            frame.index = compiled.index
        else:
            frame.index = frame.flow.ids[target]
            # Jumping back to a question means asking it again.
            step = frame.flow.steps[frame.index].step
            if isinstance(step, schema.Ask):
                self.state.values.pop(step.ask, None)
        return self._run(out)

    def _end(self, frame: Frame, compiled: CompiledStep, out: _Out) -> Reply | None:
        step = compiled.step
        assert isinstance(step, schema.End)
        if step.end:
            prompt = compiled.prompts["end"]
            out.say(self._render(prompt), fixed=prompt.fixed)
        if step.outcome:
            self.state.outcomes.append(step.outcome)
            self._svc.desk.note_outcome(self.call_sid, step.outcome)
        if step.hangup:
            out.action = Hangup()
            self.state.stack.clear()
            self.state.mode = "ended"
            return self._finish(out)
        # The whole conversation topic is done (sub-flows included).
        self.state.stack.clear()
        return self._anything_else(out)

    def _anything_else(self, out: _Out) -> Reply:
        self.state.mode = "anything_else"
        self.state.question = None
        out.say(ANYTHING_ELSE, fixed=True)
        return self._finish(out)

    def _call_action(self, step: schema.Action, compiled: CompiledStep) -> Any:
        context = self._context()
        args = {name: compiled.expressions[f"arg.{name}"].evaluate(context) for name in step.args}
        now = self._now()

        def work(session: Session) -> Any:
            ctx = ActionContext(
                session=session,
                actor=self._actor,
                call_sid=self.call_sid,
                caller_number=self.caller_number,
                clinic=self.clinic,
                now=now,
                state=self.state,
                nlu=self._nlu,
            )
            return self._svc.actions.call(step.action, ctx, args)

        return self._svc.db.run(work)

    # --- handing off ------------------------------------------------------------------------
    def _flow_handoff(self, compiled: CompiledStep, out: _Out) -> Reply:
        step = compiled.step
        assert isinstance(step, schema.Handoff)
        if step.say:
            prompt = compiled.prompts["say"]
            out.say(self._render(prompt), fixed=prompt.fixed)
        reason_prompt = compiled.prompts["reason"]
        reason = self._render(reason_prompt)
        generic = self._policy.handoff("caller_request", now=self._now())
        # The flow names its own reason; the policy supplies the transfer wording and
        # whether the desk is open (a callback instead after hours).
        return self._hand_off(
            generic,
            reason_code=step.handoff,
            reason=reason,
            urgency=step.urgency,
            out=out,
            skip_opening=True,
        )

    def _hand_off(
        self,
        finding: Assessment,
        *,
        reason_code: str | None = None,
        reason: str | None = None,
        urgency: str | None = None,
        out: _Out | None = None,
        lead: str | None = None,
        skip_opening: bool = False,
    ) -> Reply:
        out = out or _Out()
        if lead:
            out.say(lead, fixed=True)
        lines = list(finding.say)
        if skip_opening and finding.kind is FindingKind.HUMAN_REQUEST and len(lines) > 1:
            lines = lines[1:]  # "Of course." answers a request the caller did not make here
        for line in lines:
            out.say(line)
        request = self._handoff_request(
            reason_code or finding.reason_code,
            reason or finding.reason,
            urgency or finding.urgency,
            emergency=finding.is_emergency,
        )
        self.state.question = None
        self.state.stack.clear()
        if finding.action is PolicyAction.CALLBACK and not finding.is_emergency:
            # After hours: no live transfer; take a message for a call back.
            self._pending_callback = request
            return self._finish(out)
        handoff_id = self._svc.desk.transfer(
            request, callback_only=finding.action is PolicyAction.CALLBACK
        )
        self.state.handed_off = True
        self.state.mode = "ended"
        if finding.action is PolicyAction.CALLBACK:  # an emergency after hours: guidance, then end
            out.action = Hangup()
        else:
            out.action = Transfer(request.reason_code, request.urgency, handoff_id)  # type: ignore[arg-type]
        return self._finish(out)

    def _handoff_request(
        self, reason_code: str, reason: str, urgency: str, *, emergency: bool = False
    ) -> HandoffRequest:
        return HandoffRequest(
            call_sid=self.call_sid,
            caller_number=self.caller_number,
            patient_id=self.state.patient_id,
            verified=self.state.verified,
            flow=self.state.frame.flow.name if self.state.frame else self.state.intent,
            details=self._details(),
            reason_code=reason_code,
            reason=reason,
            urgency=urgency,
            transcript=list(self.state.transcript),
            emergency=emergency,
        )

    def _take_callback(self, text: str) -> Reply:
        request, self._pending_callback = self._pending_callback, None
        assert request is not None
        self._svc.desk.callback(request, caller_reason=text)
        out = _Out()
        out.say(self._policy.render_message("after_hours.callback_confirmation", now=self._now()))
        return self._anything_else(out)

    def _details(self) -> dict[str, str]:
        """What the caller told us so far, as short text for the staff summary."""
        from voiceagent.handoff.summary import describe_value

        return {
            name: text
            for name, value in self.state.values.items()
            if (text := describe_value(name, value)) is not None
        }

    # --- helpers ----------------------------------------------------------------------------
    def _now(self) -> datetime:
        return self._svc.clock().astimezone(self.clinic.timezone)

    def _context(self) -> dict[str, Any]:
        return build_context(self.state, self.clinic, self._now(), self.caller_number)

    def _render(self, prompt: Prompt) -> str:
        return prompt.render(self._context())

    def _finish(self, out: _Out, *, record_outcome: str | None = None) -> Reply:
        if self.state.question is None and out.action is None:
            # The caller will make an open request: let them finish their sentence.
            out.expect = replace(out.expect, complete_answer_wait_ms=OPEN_REQUEST_WAIT_MS)
        if record_outcome:
            self._svc.desk.note_outcome(self.call_sid, record_outcome)
        if out.lines:
            self.state.last_said = list(out.lines)
            for line in out.lines:
                self.state.remember("agent", line)
        return out.reply()

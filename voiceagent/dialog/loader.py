"""Reading, checking and compiling the flow files in ``dialogs/``.

Every problem is reported with file, line and column and a plain-English message, and all
of them at once, so an admin can fix a file in one pass. A directory with any problem
yields no FlowSet: the server keeps serving the last good one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from voiceagent.dialog import schema
from voiceagent.dialog.clinic import CLINIC_ATTRIBUTES
from voiceagent.dialog.context import CONTEXT_NAMES, JINJA_NAMES
from voiceagent.dialog.templates import Condition, Prompt, TemplateProblem, attributes_used
from voiceagent.understanding.training import TrainingSet
from voiceagent.yamlsource import Loc, Problem, YamlDocument, YamlSourceError, load_yaml

FLOW_DIRS = ("flows", "patterns")
OUT_OF_SCOPE_FILE = "out-of-scope.yaml"
# Values the identity sub-flow leaves behind for every flow that calls it.
SHARED_SLOTS = frozenset({"full_name", "date_of_birth", "identity"})


class FlowErrors(ValueError):
    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass
class CompiledStep:
    step: schema.Step
    index: int
    loc: Loc
    when: Condition | None = None
    prompts: dict[str, Prompt] = field(default_factory=dict)
    expressions: dict[str, Condition] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return self.step.kind


@dataclass
class Flow:
    name: str
    description: str
    document: YamlDocument  # the file as read, for locating problems and keeping versions
    examples: list[str]
    steps: list[CompiledStep]
    ids: dict[str, int]
    behavior: str | None = None
    say: Prompt | None = None
    skip_if: Condition | None = None

    @property
    def is_pattern(self) -> bool:
        return self.behavior is not None

    @property
    def path(self) -> Path:
        return self.document.path

    @property
    def text(self) -> str:
        return self.document.text


@dataclass
class FlowSet:
    flows: dict[str, Flow]
    patterns: dict[str, Flow]
    out_of_scope: list[str]
    fingerprint: str

    def training_set(self) -> TrainingSet:
        intents = {
            f.name: f.examples
            for f in [*self.flows.values(), *self.patterns.values()]
            if f.examples
        }
        return TrainingSet(intents=intents, out_of_scope=self.out_of_scope)

    def fixed_prompts(self) -> list[str]:
        """Prompts with no placeholders: their audio can be synthesized ahead of calls."""
        texts: list[str] = []
        for flow in [*self.flows.values(), *self.patterns.values()]:
            prompts = [s.prompts.values() for s in flow.steps]
            texts += [p.source for group in prompts for p in group if p.fixed]
            if flow.say is not None and flow.say.fixed:
                texts.append(flow.say.source)
        return sorted(set(texts))


def flow_files(dialogs_dir: Path) -> list[Path]:
    return sorted(p for d in FLOW_DIRS for p in (dialogs_dir / d).glob("*.yaml"))


def load_flows(dialogs_dir: Path, action_names: Callable[[], Iterable[str]]) -> FlowSet:
    """Load and check every flow; raise FlowErrors listing all problems."""
    problems: list[Problem] = []
    flows: dict[str, Flow] = {}
    patterns: dict[str, Flow] = {}
    digest = hashlib.sha256()
    files = flow_files(dialogs_dir)
    if not files:
        raise FlowErrors([Problem(str(dialogs_dir), 1, 1, "no flow files in flows/ or patterns/")])
    for path in files:
        try:
            document = load_yaml(path)
        except YamlSourceError as exc:
            problems += exc.problems
            continue
        digest.update(path.name.encode() + b"\0" + document.text.encode())
        flow, found = _compile_flow(document, path.parent.name == "patterns")
        problems += found
        if flow is None:
            continue
        table = patterns if flow.is_pattern else flows
        other = flows.get(flow.name) or patterns.get(flow.name)
        if other is not None:
            problems.append(
                document.problem(
                    ("flow",), f"flow {flow.name!r} is also defined in {other.path.name}"
                )
            )
            continue
        table[flow.name] = flow
    # Cross-flow checks run on every flow that compiled, so one bad file does not hide the
    # problems of the others.
    problems += _check_references(flows, patterns, set(action_names()))
    out_of_scope = _load_out_of_scope(dialogs_dir / OUT_OF_SCOPE_FILE, problems)
    if problems:
        raise FlowErrors(problems)
    return FlowSet(flows, patterns, out_of_scope, digest.hexdigest()[:16])


def _load_out_of_scope(path: Path, problems: list[Problem]) -> list[str]:
    if not path.exists():
        return []
    try:
        document = load_yaml(path)
    except YamlSourceError as exc:
        problems += exc.problems
        return []
    examples = document.data.get("examples") if isinstance(document.data, dict) else None
    if not isinstance(examples, list):
        problems.append(document.problem((), "expected `examples:` with a list of phrases"))
        return []
    for index, example in enumerate(examples):
        if not isinstance(example, str):
            problems.append(document.problem(("examples", index), _NOT_TEXT))
    return [e for e in examples if isinstance(e, str)]


# YAML reads some bare words as true/false or numbers; admins need to know to quote them.
_NOT_TEXT = "this is not text: put it in quotes (YAML reads yes, no, on and off as true/false)"


# --- one file -------------------------------------------------------------------------------
def _compile_flow(document: YamlDocument, in_patterns: bool) -> tuple[Flow | None, list[Problem]]:
    problems = [document.problem(loc, msg) for loc, msg in document.structural]
    if not isinstance(document.data, dict):
        return None, [
            *problems,
            document.problem((), "a flow file must be a mapping with `flow:` and `steps:`"),
        ]
    try:
        header = schema.FlowHeader.model_validate(document.data)
    except ValidationError as exc:
        return None, [*problems, *_friendly(document.validation_problems(exc))]
    if in_patterns and header.behavior is None and not header.steps:
        problems.append(document.problem(("flow",), "a pattern needs `behavior:` or `steps:`"))
    if not in_patterns and not header.steps:
        problems.append(
            document.problem(("flow",), "a flow needs at least one step under `steps:`")
        )
    steps: list[CompiledStep] = []
    for index, raw in enumerate(header.steps):
        compiled, found = _compile_step(document, index, raw)
        problems += found
        if compiled is not None:
            steps.append(compiled)
    ids: dict[str, int] = {}
    for compiled in steps:
        step_id = compiled.step.id
        if step_id is None:
            continue
        if step_id in ids:
            problems.append(
                document.problem((*compiled.loc, "id"), f"step id {step_id!r} is used twice")
            )
        ids[step_id] = compiled.index
    flow = Flow(
        name=header.flow,
        description=header.description,
        document=document,
        examples=list(header.intent.examples) if header.intent else [],
        steps=steps,
        ids=ids,
        behavior=header.behavior,
    )
    for key, setter in (("say", "say"), ("skip_if", "skip_if")):
        source = getattr(header, key)
        if source is None:
            continue
        try:
            setattr(flow, setter, Prompt(source) if key == "say" else Condition(source))
        except TemplateProblem as exc:
            problems.append(document.problem((key,), str(exc)))
    if problems:
        return None, problems
    problems += _check_flow(document, flow)
    return (None if problems else flow), problems


def _compile_step(
    document: YamlDocument, index: int, raw: dict[str, Any]
) -> tuple[CompiledStep | None, list[Problem]]:
    loc: Loc = ("steps", index)
    kinds = [key for key in raw if key in schema.STEP_KINDS]
    if len(kinds) > 1 and "say" in kinds:
        kinds.remove("say")  # `say:` is also an option of handoff steps
    if len(kinds) != 1:
        what = "none" if not kinds else ", ".join(kinds)
        message = f"a step needs exactly one of {', '.join(schema.STEP_KINDS)} (found {what})"
        return None, [document.problem(loc, message)]
    model = schema.STEP_KINDS[kinds[0]]
    try:
        step = model.model_validate(raw)
    except ValidationError as exc:
        return None, _friendly(document.validation_problems(exc, loc))
    compiled = CompiledStep(step=step, index=index, loc=loc)  # type: ignore[arg-type]
    problems: list[Problem] = []

    def prompt(key: str, source: str | None, where: Loc) -> None:
        if source is None:
            return
        try:
            compiled.prompts[key] = Prompt(source)
        except TemplateProblem as exc:
            problems.append(document.problem((*loc, *where), str(exc)))

    def expression(key: str, source: str | None, where: Loc) -> None:
        if source is None:
            return
        try:
            compiled.expressions[key] = Condition(source)
        except TemplateProblem as exc:
            problems.append(document.problem((*loc, *where), str(exc)))

    if step.when:
        try:
            compiled.when = Condition(step.when)
        except TemplateProblem as exc:
            problems.append(document.problem((*loc, "when"), str(exc)))
    match step:
        case schema.Say():
            for i, line in enumerate(step.lines):
                prompt(f"say.{i}", line, ("say",) if isinstance(step.say, str) else ("say", i))
        case schema.Ask():
            prompt("prompt", step.prompt, ("prompt",))
            for i, text in enumerate(step.reprompts):
                prompt(f"reprompt.{i}", text, ("reprompts", i))
            expression("options", step.options, ("options",))
            expression("candidates", step.candidates, ("candidates",))
        case schema.Confirm():
            prompt("confirm", step.confirm, ("confirm",))
            for i, text in enumerate(step.reprompts):
                prompt(f"reprompt.{i}", text, ("reprompts", i))
        case schema.Action():
            for name, source in step.args.items():
                expression(f"arg.{name}", source, ("args", name))
        case schema.SetVars():
            for name, source in step.set.items():
                expression(f"set.{name}", source, ("set", name))
        case schema.Branch():
            for i, case in enumerate(step.branch):
                expression(f"case.{i}", case.when, ("branch", i, "when"))
        case schema.Handoff():
            prompt("reason", step.reason, ("reason",))
            prompt("say", step.say, ("say",))
        case schema.End():
            prompt("end", step.end, ("end",))
    return compiled, problems


def _friendly(problems: list[Problem]) -> list[Problem]:
    """Pydantic's wording, made plainer for people who do not write Python."""
    replacements = {
        "Extra inputs are not permitted": "unknown key (check its spelling and indentation)",
        "Field required": "this is required",
        "String should match pattern '^[a-z][a-z0-9_]*$'": (
            "use lower-case letters, digits and underscores, starting with a letter"
        ),
    }
    out = []
    for p in problems:
        message = p.message
        for old, new in replacements.items():
            message = message.replace(old, new)
        out.append(Problem(p.file, p.line, p.column, message))
    return out


# --- checks within one flow -----------------------------------------------------------------
def _targets(step: schema.Step) -> list[tuple[Loc, str]]:
    match step:
        case schema.Ask():
            return [(("on_fail",), step.on_fail)]
        case schema.Confirm():
            return [
                (("on_yes",), step.on_yes),
                (("on_no",), step.on_no),
                (("on_fail",), step.on_fail),
            ]
        case schema.Branch():
            cases = [(("branch", i, "goto"), c.goto) for i, c in enumerate(step.branch)]
            return [*cases, (("otherwise",), step.otherwise)]
        case schema.Goto():
            return [(("goto",), step.goto)]
    return []


def _falls_through(step: schema.Step) -> bool:
    """Whether control can reach the next step after this one."""
    if step.when:
        return True
    match step:
        case schema.Goto() | schema.Switch() | schema.Handoff() | schema.End():
            return False
        case schema.Branch():
            return step.otherwise == "next"
    return True


def _check_flow(document: YamlDocument, flow: Flow) -> list[Problem]:
    problems: list[Problem] = []
    for compiled in flow.steps:
        step = compiled.step
        for where, target in _targets(step):
            if target not in schema.SPECIAL_TARGETS and target not in flow.ids:
                problems.append(
                    document.problem(
                        (*compiled.loc, *where),
                        f"there is no step with id {target!r} in this flow "
                        f"(or use one of: {', '.join(sorted(schema.SPECIAL_TARGETS))})",
                    )
                )
        if isinstance(step, schema.Ask | schema.Confirm) and not step.reprompts:
            problems.append(
                document.problem(
                    compiled.loc,
                    "add `reprompts:` - what to say when the answer is not understood",
                )
            )
        if isinstance(step, schema.Ask) and step.type == "choice" and step.options is None:
            problems.append(
                document.problem(
                    compiled.loc, "an ask of type choice needs `options:` (the list offered)"
                )
            )
        if isinstance(step, schema.Ask) and step.type == "medication" and not step.candidates:
            problems.append(
                document.problem(
                    compiled.loc,
                    "an ask of type medication needs `candidates:` (the patient's list)",
                )
            )
    problems += _check_reachable(document, flow)
    return problems


def _check_reachable(document: YamlDocument, flow: Flow) -> list[Problem]:
    reached: set[int] = set()
    todo = [0] if flow.steps else []
    while todo:
        index = todo.pop()
        if index in reached or index >= len(flow.steps):
            continue
        reached.add(index)
        step = flow.steps[index].step
        if _falls_through(step):
            todo.append(index + 1)
        for _where, target in _targets(step):
            if target == "next":
                todo.append(index + 1)
            elif target in flow.ids:
                todo.append(flow.ids[target])
    return [
        document.problem(
            s.loc,
            "this step can never run: the steps before it always go "
            "elsewhere and nothing jumps to it",
        )
        for s in flow.steps
        if s.index not in reached
    ]


# --- checks across flows --------------------------------------------------------------------
def _defined_names(
    flow: Flow, flows: dict[str, Flow], seen: frozenset[str] = frozenset()
) -> set[str]:
    names: set[str] = set()
    for compiled in flow.steps:
        step = compiled.step
        match step:
            case schema.Ask():
                names.add(step.ask)
            case schema.Action() if step.save_as:
                names.add(step.save_as)
            case schema.SetVars():
                names |= set(step.set)
            case schema.CallFlow() if step.call in flows and step.call not in seen:
                names |= _defined_names(flows[step.call], flows, seen | {flow.name})
    return names


def _check_references(
    flows: dict[str, Flow], patterns: dict[str, Flow], actions: set[str]
) -> list[Problem]:
    problems: list[Problem] = []
    all_flows = {**flows, **patterns}
    called: set[str] = set()
    for flow in all_flows.values():
        document = flow.document
        known = CONTEXT_NAMES | JINJA_NAMES | SHARED_SLOTS | _defined_names(flow, all_flows)
        for compiled in flow.steps:
            step = compiled.step
            if isinstance(step, schema.Action) and step.action not in actions:
                problems.append(
                    document.problem(
                        (*compiled.loc, "action"),
                        f"unknown action {step.action!r}; available: {', '.join(sorted(actions))}",
                    )
                )
            if isinstance(step, schema.CallFlow | schema.Switch):
                target = step.call if isinstance(step, schema.CallFlow) else step.switch
                called.add(target)
                if target not in flows:
                    problems.append(
                        document.problem(
                            (*compiled.loc, step.kind), f"there is no flow named {target!r}"
                        )
                    )
            names: set[str] = set()
            for prompt in compiled.prompts.values():
                names |= _names_of(prompt)
            for expr in [*compiled.expressions.values(), compiled.when]:
                if expr is not None:
                    names |= expr.names()
            for name in sorted(names - known):
                problems.append(
                    document.problem(
                        compiled.loc,
                        f"{name!r} is not defined: no step in this flow asks for it, saves it or "
                        "sets it",
                    )
                )
            for attribute in sorted(_clinic_attributes(compiled) - CLINIC_ATTRIBUTES):
                problems.append(
                    document.problem(
                        compiled.loc,
                        f"the clinic has no attribute {attribute!r}; available: "
                        f"{', '.join(sorted(CLINIC_ATTRIBUTES))}",
                    )
                )
    for flow in flows.values():
        if not flow.examples and flow.name not in called:
            problems.append(
                flow.document.problem(
                    ("flow",),
                    "nothing can start this flow: give it `intent: examples:` or "
                    "`call:` it from another flow",
                )
            )
    return problems


def _clinic_attributes(compiled: CompiledStep) -> set[str]:
    used: set[str] = set()
    for prompt in compiled.prompts.values():
        used |= attributes_used(prompt.source, "clinic")
    for expr in [*compiled.expressions.values(), compiled.when]:
        if expr is not None:
            used |= attributes_used(expr.source, "clinic", expression=True)
    return used


def _names_of(prompt: Prompt) -> set[str]:
    from voiceagent.dialog.templates import template_names

    return template_names(prompt.source)

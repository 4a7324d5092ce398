"""The shape of a flow file, as a clinic admin writes it.

A flow is a list of steps. Each step is a mapping with exactly one *kind* key (``say``,
``ask``, ``confirm``, ``action``, ``set``, ``branch``, ``goto``, ``call``, ``switch``,
``handoff``, ``end``, ``forget``) plus that kind's options, and optionally an ``id`` (to jump
to) and a ``when`` condition (the step is skipped unless it holds). Prompts are Jinja2
templates; ``when``, ``set``, ``args`` and ``options`` are Jinja2 expressions. Both run in
Jinja's sandbox.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

Name = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
Template = Annotated[str, StringConstraints(min_length=1, max_length=2000)]
Expression = Annotated[str, StringConstraints(min_length=1, max_length=500)]

SlotType = Literal[
    "yes_no",
    "person_name",
    "date_of_birth",
    "phone",
    "member_id",
    "group_number",
    "digits",
    "time_preference",
    "choice",
    "medication",
    "provider",
    "appointment_type",
    "carrier",
    "pharmacy",
    "text",
]
# Where a step may send the dialog instead of the next step: a step id in the same flow,
# or one of these: "next" step, "retry" the same step, "return" from this flow (to the
# flow that called it), "handoff" to the front desk.
SPECIAL_TARGETS = frozenset({"handoff", "return", "retry", "next"})


def _literals_as_expressions(value: Any) -> Any:
    """``new_patient: true`` or ``limit: 3`` in YAML are values, not text: as expressions
    they mean the same thing."""
    if not isinstance(value, dict):
        return value
    return {
        key: ("true" if item else "false")
        if isinstance(item, bool)
        else str(item)
        if isinstance(item, int | float)
        else item
        for key, item in value.items()
    }


class _Step(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: ClassVar[str]
    id: Name | None = None
    when: Expression | None = None


class Say(_Step):
    kind: ClassVar[str] = "say"
    say: Template | list[Template]

    @property
    def lines(self) -> list[str]:
        return [self.say] if isinstance(self.say, str) else list(self.say)


class Ask(_Step):
    """Collect a typed value into a slot; skipped when the slot is already known."""

    kind: ClassVar[str] = "ask"
    ask: Name
    type: SlotType
    prompt: Template
    reprompts: list[Template] = Field(default_factory=list)
    max_attempts: int = Field(3, ge=1, le=6)
    options: Expression | None = None  # for type choice: the list offered
    candidates: Expression | None = None  # names to resolve against (medications...)
    on_fail: str = "handoff"
    # "No preference" is an answer: the slot is set to none and the flow goes on.
    optional: bool = False


class Confirm(_Step):
    """A yes/no question; yes goes on (or to ``on_yes``), no goes to ``on_no``."""

    kind: ClassVar[str] = "confirm"
    confirm: Template
    reprompts: list[Template] = Field(default_factory=list)
    max_attempts: int = Field(3, ge=1, le=6)
    on_yes: str = "next"
    on_no: str
    on_fail: str = "handoff"


class Action(_Step):
    """Call a named Python action; its result is kept under ``save_as``."""

    kind: ClassVar[str] = "action"
    action: Name
    args: dict[Name, Expression] = Field(default_factory=dict)
    save_as: Name | None = None

    @field_validator("args", mode="before")
    @classmethod
    def _literals_are_expressions(cls, value: Any) -> Any:
        return _literals_as_expressions(value)


class SetVars(_Step):
    kind: ClassVar[str] = "set"
    set: dict[Name, Expression]

    @field_validator("set", mode="before")
    @classmethod
    def _literals_are_expressions(cls, value: Any) -> Any:
        return _literals_as_expressions(value)


class Case(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    when: Expression
    goto: str


class Branch(_Step):
    """The first case whose condition holds decides where to go; else ``otherwise``."""

    kind: ClassVar[str] = "branch"
    branch: list[Case] = Field(min_length=1)
    otherwise: str = "next"


class Goto(_Step):
    kind: ClassVar[str] = "goto"
    goto: str


class CallFlow(_Step):
    """Run another flow, then come back here (identity verification works this way)."""

    kind: ClassVar[str] = "call"
    call: Name


class Switch(_Step):
    """Hand the conversation over to another flow for good."""

    kind: ClassVar[str] = "switch"
    switch: Name


class Handoff(_Step):
    """Warm-transfer to the front desk (or take a callback after hours)."""

    kind: ClassVar[str] = "handoff"
    handoff: Name  # reason code, e.g. controlled_substance
    reason: Template  # one sentence for staff
    say: Template | None = None
    urgency: Literal["routine", "urgent", "emergency"] = "routine"


class End(_Step):
    """Finish the flow. With ``hangup`` the call ends; otherwise the caller is asked if
    there is anything else."""

    kind: ClassVar[str] = "end"
    end: Template | None = None
    hangup: bool = False
    outcome: Name | None = None  # what the call achieved, e.g. booked


class Forget(_Step):
    """Forget slots or saved values, so they are asked or computed again."""

    kind: ClassVar[str] = "forget"
    forget: list[Name] = Field(min_length=1)


STEP_KINDS: dict[str, type[_Step]] = {
    cls.kind: cls
    for cls in (
        Say,
        Ask,
        Confirm,
        Action,
        SetVars,
        Branch,
        Goto,
        CallFlow,
        Switch,
        Handoff,
        End,
        Forget,
    )
}
Step = (
    Say
    | Ask
    | Confirm
    | Action
    | SetVars
    | Branch
    | Goto
    | CallFlow
    | Switch
    | Handoff
    | End
    | Forget
)


class IntentSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    examples: list[Annotated[str, StringConstraints(min_length=2, max_length=300)]] = Field(
        min_length=3
    )


Behavior = Literal[
    "repeat", "go_back", "start_over", "speak_to_person", "goodbye", "cancel", "correction"
]


class FlowHeader(BaseModel):
    """Everything in a flow file except its steps (parsed one by one for precise errors)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    flow: Name
    description: str = ""
    intent: IntentSpec | None = None
    # Patterns are global behaviours ("repeat that", "go back"); admins may change their
    # wording with `say` or replace them with steps.
    behavior: Behavior | None = None
    say: Template | None = None
    # A sub-flow that has nothing to do when this holds (e.g. identity: "verified").
    skip_if: Expression | None = None
    steps: list[dict[str, Any]] = Field(default_factory=list)

    @field_validator("steps", mode="before")
    @classmethod
    def _steps_are_mappings(cls, value: Any) -> Any:
        if isinstance(value, list):
            for index, item in enumerate(value):
                if not isinstance(item, dict):
                    raise ValueError(f"step {index + 1} must be a mapping like `say: ...`")
        return value

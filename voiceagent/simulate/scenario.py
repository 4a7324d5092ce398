"""Scenario files for the scripted caller (``voiceagent simulate SCENARIO.yaml``).

A scenario is a list of steps the caller performs in order::

    name: Book an appointment
    caller: {from: "+15551234567", speed: 1.0, noise_dbfs: -45}
    steps:
      - wait_for: how can I help     # a case-insensitive regex the agent must say
      - say: I'd like to book an appointment
      - wait_for: (date of birth|name)
      - dtmf: "03031982#"
      - pause: 2.0                   # seconds of the caller saying nothing
      - barge_in: wait, sorry        # talk over the agent once it has spoken for `after` s
        after: 1.0
      - noise: cough                 # a noise burst (cough | click | mhm) while the agent talks
      - expect_no_clear: 2.0         # the agent keeps talking for this long (no `clear`)
      - inject: malformed_json       # a bad message (see BadMessage); the call must go on
      - hangup: true                 # or, to stay on the line until the agent ends the call:
      - expect_end: 30               # fails if the call is still up after this many seconds
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError


class _Step(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class WaitFor(_Step):
    wait_for: str
    timeout: float = 30.0
    # Wait for the agent to finish talking before the next step (a polite caller).
    until_quiet: bool = True


class Say(_Step):
    say: str
    speed: float | None = Field(None, gt=0.3, le=3)  # speaking rate: 1.2 is 20% faster


class Dtmf(_Step):
    dtmf: str = Field(pattern=r"^[0-9*#]+$")
    gap: float = 0.3  # seconds between key presses


class Pause(_Step):
    pause: float = Field(gt=0, le=60)


class BargeIn(_Step):
    barge_in: str
    after: float = 1.0  # seconds of agent audio before the caller starts talking
    timeout: float = 30.0


class Noise(_Step):
    noise: Literal["cough", "click", "mhm"]
    after: float = 1.0  # seconds of agent audio before the noise
    timeout: float = 30.0


class ExpectNoClear(_Step):
    expect_no_clear: float = Field(gt=0, le=30)


class Hangup(_Step):
    hangup: Literal[True] = True


class ExpectEnd(_Step):
    expect_end: float = Field(gt=0, le=120)


BadMessage = Literal[
    "malformed_json", "unknown_event", "bad_base64", "oversized", "invalid_fields", "second_start"
]


class Inject(_Step):
    """Send a message a broken or hostile client might send; the call must go on."""

    inject: BadMessage


Step = Annotated[
    WaitFor | Say | Dtmf | Pause | BargeIn | Noise | ExpectNoClear | Hangup | ExpectEnd | Inject,
    Field(union_mode="left_to_right"),
]


class CallerProfile(_Step):
    from_: str = Field("+15551234567", alias="from")
    to: str | None = None  # defaults to the clinic's number in the server's settings
    speed: float = Field(1.0, gt=0.3, le=3)  # speaking rate
    noise_dbfs: float | None = None  # steady background noise level, e.g. -45


class Scenario(_Step):
    name: str
    caller: CallerProfile = Field(default_factory=CallerProfile)
    steps: list[Step]


class ScenarioError(ValueError):
    pass


def load_scenario(path: Path) -> Scenario:
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{path}: not valid YAML: {exc}") from exc
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ScenarioError(f"{path}: {problems}") from exc

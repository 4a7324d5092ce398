"""Benchmark call scripts: what the caller says and does, turn by turn, without listening
to the words.

The benchmark's caller does not transcribe the agent (that would steal the server's CPU):
it takes turns by the agent's marks and silences. ``listen`` waits until the agent has
answered and then stopped: its last prompt's mark has arrived, that audio has played out
and no agent frame came for ``quiet`` seconds (0.6 s by default). Whether the call went
where the script meant is checked afterwards in the server's database (``expect``).

Steps::

    - listen                     # the agent's turn (greeting, answer), until it goes quiet
    - say: Maria Gonzalez.       # the caller's line (pre-synthesized before the run)
    - noise: mhm                 # cough | click | mhm, ``after`` s into the agent's turn
      after: 2.0
    - barge_in: Sorry, when do you close?   # talk over the agent ``after`` s into its turn
      after: 1.5
    - pause: 1.0                 # say nothing
    - hangup                     # the caller hangs up (else the call ends when the agent does)

``{appointment_day}`` in a line is replaced per call by a clinic working day at least a week
ahead of the clinic's clock (rotating, so simultaneous bookings do not race for one slot).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

SCENARIO_DIR = Path(__file__).resolve().parents[2] / "dialogs" / "scenarios" / "bench"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class Listen(_Model):
    listen: float = Field(30.0, gt=0, le=120)  # seconds the agent may take to answer


class Say(_Model):
    say: str
    speed: float | None = Field(None, gt=0.3, le=3)


class Noise(_Model):
    noise: Literal["cough", "click", "mhm"]
    after: float = Field(1.0, ge=0, le=30)


class BargeIn(_Model):
    barge_in: str
    after: float = Field(1.5, ge=0, le=30)


class Pause(_Model):
    pause: float = Field(gt=0, le=60)


class Hangup(_Model):
    hangup: Literal[True] = True


Step = Annotated[Listen | Say | Noise | BargeIn | Pause | Hangup, Field(union_mode="left_to_right")]


class Caller(_Model):
    from_: str = Field("+15551234567", alias="from")
    noise_dbfs: float | None = None  # steady background noise under everything the caller sends
    speed: float = Field(1.0, gt=0.3, le=3)


class Expect(_Model):
    """Columns of the server's ``calls`` row when the call is over."""

    intent: str | None = None
    outcome: str | None = None
    verified: bool | None = None


class BenchScenario(_Model):
    name: str
    description: str = ""
    weight: int = Field(1, ge=0)  # share of calls in a mixed run
    caller: Caller = Field(default_factory=Caller)
    expect: Expect = Field(default_factory=Expect)
    steps: list[Step]

    @model_validator(mode="before")
    @classmethod
    def _bare_steps(cls, data: Any) -> Any:
        """``- listen`` and ``- hangup`` may be written without a value."""
        if isinstance(data, dict) and isinstance(data.get("steps"), list):
            data = {
                **data,
                "steps": [
                    {step: True if step == "hangup" else 30.0} if isinstance(step, str) else step
                    for step in data["steps"]
                ],
            }
        return data

    def lines(self) -> list[str]:
        """Every line the caller speaks, templates unexpanded."""
        return [s.say if isinstance(s, Say) else s.barge_in for s in self.steps if _spoken(s)]

    def expanded(self, variables: dict[str, str]) -> BenchScenario:
        steps: list[Any] = []
        for step in self.steps:
            if isinstance(step, Say):
                step = step.model_copy(update={"say": step.say.format(**variables)})
            elif isinstance(step, BargeIn):
                step = step.model_copy(update={"barge_in": step.barge_in.format(**variables)})
            steps.append(step)
        return self.model_copy(update={"steps": steps})

    @property
    def templated(self) -> bool:
        return any("{" in line for line in self.lines())


def _spoken(step: object) -> bool:
    return isinstance(step, Say | BargeIn)


class ScenarioError(ValueError):
    pass


def load_scenario(path: Path) -> BenchScenario:
    try:
        return BenchScenario.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (yaml.YAMLError, ValidationError) as exc:
        raise ScenarioError(f"{path}: {exc}") from exc


def load_scenarios(
    directory: Path = SCENARIO_DIR, names: Iterable[str] = ()
) -> list[BenchScenario]:
    """The scenario files of ``directory`` (``*.yaml``), optionally only those ``names``."""
    wanted = set(names)
    found = [load_scenario(p) for p in sorted(directory.glob("*.yaml"))]
    found = [s for s in found if s.steps]
    if wanted:
        unknown = wanted - {s.name for s in found}
        if unknown:
            raise ScenarioError(f"unknown scenario(s): {', '.join(sorted(unknown))}")
        found = [s for s in found if s.name in wanted]
    if not found:
        raise ScenarioError(f"no scenarios in {directory}")
    return found


# --- per-call variables ----------------------------------------------------------------------
_ORDINAL = {1: "st", 2: "nd", 3: "rd"}


def spoken_day(day: date) -> str:
    suffix = "th" if 10 <= day.day % 100 <= 20 else _ORDINAL.get(day.day % 10, "th")
    return f"{day:%A}, {day:%B} {day.day}{suffix}"


def appointment_days(
    now: datetime, holidays: Iterable[date] = (), count: int = 12, ahead_days: int = 7
) -> list[str]:
    """Monday-to-Thursday clinic days from a week after ``now``, spoken ("Monday, December
    7th"); every provider of the demo clinic works mornings on some of them."""
    closed = set(holidays)
    days: list[str] = []
    day = now.date() + timedelta(days=ahead_days)
    while len(days) < count:
        if day.weekday() < 4 and day not in closed:
            days.append(spoken_day(day))
        day += timedelta(days=1)
    return days


def clinic_holidays(clinic_file: Path) -> list[date]:
    data = yaml.safe_load(clinic_file.read_text(encoding="utf-8")) or {}
    out: list[date] = []
    for value in (data.get("clinic") or {}).get("holidays") or []:
        out.append(value if isinstance(value, date) else date.fromisoformat(str(value)))
    return out


class ScenarioMix:
    """Hands out scenarios in a fixed weighted rotation, each with its variables filled in."""

    def __init__(self, scenarios: list[BenchScenario], days: list[str]) -> None:
        # Interleaved (a, b, c, a, c, ...) so that any stretch of calls is a mix.
        rounds = max((s.weight for s in scenarios), default=0)
        order = [s for r in range(rounds) for s in scenarios if s.weight > r]
        self._order = order or list(scenarios)
        self._days = days
        self._count = 0
        self._bookings = 0

    def variants(self) -> list[BenchScenario]:
        """Every expansion a run can use (so each line is synthesized before the run)."""
        out: list[BenchScenario] = []
        unique = {s.name: s for s in self._order}
        for scenario in unique.values():
            if scenario.templated:
                out += [scenario.expanded({"appointment_day": d}) for d in self._days]
            else:
                out.append(scenario)
        return out

    def next(self) -> BenchScenario:
        scenario = self._order[self._count % len(self._order)]
        self._count += 1
        if scenario.templated:
            day = self._days[self._bookings % len(self._days)]
            self._bookings += 1
            return scenario.expanded({"appointment_day": day})
        return scenario

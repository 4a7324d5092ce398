"""The clinic fixture: YAML -> validated pydantic model, with file:line in every error.

The format is documented in docs/clinic-fixture.md. Errors never quote the offending value
(it may be a patient's data): they name the file, the line, the path and the problem.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from voiceagent.logs import get_logger
from voiceagent.store.blind import normalize_phone
from voiceagent.store.errors import FixtureError
from voiceagent.store.schedule import WEEKDAYS, Window, parse_windows
from voiceagent.yamlsource import OperatorLoader, YamlRefused, compose

log = get_logger(__name__)

Loc = tuple[str | int, ...]
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
_RELATIVE = re.compile(r"^\+(\d{1,3})(d|bd)(?:\s+(\d{1,2}):(\d{2}))?$")


def _text(value: Any) -> Any:
    # YAML reads 88123 as an int and 2026-12-25 as a date; ids and numbers here are text.
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


def _phone(value: Any) -> Any:
    value = _text(value)
    if not isinstance(value, str):
        return value
    e164 = normalize_phone(value)
    if e164 is None:
        raise ValueError("not a phone number (use E.164, e.g. +15551234567)")
    return e164


def _time_windows(value: Any) -> Any:
    if not isinstance(value, str):
        raise ValueError('expected time windows like "09:00-12:00,13:00-17:00"')
    return parse_windows(value)


Text = Annotated[str, BeforeValidator(_text)]
Id = Annotated[str, BeforeValidator(_text), Field(pattern=ID_PATTERN)]
Phone = Annotated[str, BeforeValidator(_phone)]
Windows = Annotated[list[Window], BeforeValidator(_time_windows)]
WeekTemplate = dict[str, Windows]


def _check_weekdays(value: dict[str, Any]) -> dict[str, Any]:
    bad = [day for day in value if day not in WEEKDAYS]
    if bad:
        raise ValueError(f"unknown weekday {bad[0]!r}; use {', '.join(WEEKDAYS)}")
    return value


class _Model(BaseModel):
    # Unknown keys are kept (model_extra) and reported as warnings, or errors with --strict.
    model_config = ConfigDict(extra="allow", str_strip_whitespace=True)


class ClinicInfo(_Model):
    name: Text
    timezone: Text
    phone: Phone
    front_desk: Phone
    address: Text | None = None
    parking: Text | None = None
    fax: Phone | None = None
    hours: WeekTemplate
    holidays: list[date] = []
    refill_turnaround: Text | None = None

    _check_hours = field_validator("hours")(_check_weekdays)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("unknown time zone (use an IANA name like America/New_York)") from None
        return value


class PharmacyIn(_Model):
    id: Id
    name: Text
    phone: Phone | None = None
    fax: Phone | None = None
    address: Text | None = None


class AppointmentTypeIn(_Model):
    id: Id
    name: Text
    minutes: int = Field(gt=0, le=480, multiple_of=5)
    description: Text | None = None


class ProviderIn(_Model):
    id: Id
    name: Text
    title: Text | None = None
    appointment_types: list[Id]
    schedule: WeekTemplate = {}

    _check_schedule = field_validator("schedule")(_check_weekdays)


class BlockedIn(_Model):
    """Blocked time: a provider (or, without one, the whole clinic) is unavailable."""

    id: Id | None = None
    provider: Id | None = None
    day: Text | date = Field(alias="date")  # ISO date, or relative "+3d" / "+2bd"
    start: time | None = None
    end: time | None = None
    reason: Text | None = None

    @field_validator("day")
    @classmethod
    def _date_form(cls, value: str | date) -> str | date:
        if isinstance(value, str) and not _RELATIVE.match(value):
            date.fromisoformat(value)  # raises ValueError with a clear message
        return value


class MedicationIn(_Model):
    id: Id | None = None
    name: Text
    dose: Text | None = None
    refills_left: int = Field(0, ge=0)
    prescriber: Id | None = None
    controlled: bool = False
    active: bool = True


class InsuranceIn(_Model):
    carrier: Text
    member_id: Text
    group: Text | None = None


class AppointmentIn(_Model):
    id: Id | None = None
    provider: Id
    type: Id
    start: Text  # "2026-12-02T09:00" (clinic local) or "+3d 09:00" / "+2bd 10:20"
    status: str = Field("booked", pattern="^(booked|cancelled|completed|no_show)$")
    reason: Text | None = None

    @field_validator("start")
    @classmethod
    def _start_form(cls, value: str) -> str:
        match = _RELATIVE.match(value)
        if match:
            if match.group(3) is None:
                raise ValueError('a relative start needs a time, e.g. "+3d 09:00"')
            return value
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(
                'start must be clinic-local ISO ("2026-12-02T09:00") or relative ("+3d 09:00")'
            ) from None
        if parsed.tzinfo is not None:
            raise ValueError("start is clinic local time: leave out the UTC offset")
        return value


class PatientIn(_Model):
    id: Id
    first_name: Text
    last_name: Text
    dob: date
    phone: Phone | None = None
    address: Text | None = None
    pharmacy: Id | None = None
    medications: list[MedicationIn] = []
    insurance: InsuranceIn | None = None
    appointments: list[AppointmentIn] = []


class ClinicFixture(_Model):
    clinic: ClinicInfo
    insurance_accepted: list[Text] = []
    pharmacies: list[PharmacyIn] = []
    appointment_types: list[AppointmentTypeIn] = []
    providers: list[ProviderIn] = []
    blocked: list[BlockedIn] = []
    patients: list[PatientIn] = []


# Models whose unknown keys are data, not typos.
_EXTRAS_ALLOWED = (ClinicInfo,)


# --- locating YAML nodes -------------------------------------------------------------


def _index_lines(
    node: yaml.Node, path: Loc, lines: dict[Loc, int], problems: list[tuple[Loc, str]]
) -> None:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = key_node.value
            if key in seen:
                problems.append(((*path, key), "duplicate key"))
            seen.add(key)
            _index_lines(value_node, (*path, key), lines, problems)
            lines[(*path, key)] = key_node.start_mark.line + 1  # the key's line, not the value's
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _index_lines(item, (*path, i), lines, problems)


def _line_of(lines: dict[Loc, int], loc: Loc) -> int:
    while loc and loc not in lines:
        loc = loc[:-1]
    return lines.get(loc, 1)


def _dotted(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(document)"


@dataclass
class LoadedFixture:
    fixture: ClinicFixture
    path: Path
    warnings: list[str]


def load_fixture(path: str | Path, *, strict: bool = False) -> LoadedFixture:
    """Parse and validate a clinic fixture; raise FixtureError listing every problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise FixtureError([f"{path}: cannot read: {exc.strerror}"]) from None
    try:
        # Aliases are allowed (PyYAML writes them for repeated values) but what they
        # expand to is capped, so a few lines cannot stand for millions of values.
        root, data = compose(text, OperatorLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        what = exc.problem if isinstance(exc, YamlRefused) else f"invalid YAML: {exc.problem}"
        raise FixtureError([f"{path}:{line}: {what}"]) from None
    if root is None or not isinstance(data, dict):
        raise FixtureError([f"{path}:1: expected a mapping with a 'clinic:' section"])

    lines: dict[Loc, int] = {}
    structural: list[tuple[Loc, str]] = []
    _index_lines(root, (), lines, structural)
    problems = [f"{path}:{_line_of(lines, loc)}: {_dotted(loc)}: {msg}" for loc, msg in structural]

    try:
        fixture = ClinicFixture.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors(include_input=False, include_url=False):
            loc = tuple(err["loc"])
            if err["type"] != "missing":  # drop pydantic's union-member tags from the path
                while loc and loc not in lines:
                    loc = loc[:-1]
            message = err["msg"].removeprefix("Value error, ")
            problems.append(f"{path}:{_line_of(lines, loc)}: {_dotted(loc)}: {message}")
        raise FixtureError(problems) from None

    problems += [
        f"{path}:{_line_of(lines, loc)}: {_dotted(loc)}: {msg}"
        for loc, msg in _cross_check(fixture)
    ]
    unknown = [
        f"{path}:{_line_of(lines, loc)}: {_dotted(loc)}: unknown key (ignored)"
        for loc in _unknown_keys(fixture, ())
    ]
    if strict:
        problems += unknown
        unknown = []
    if problems:
        raise FixtureError(problems)
    for warning in unknown:
        log.warning("fixture_unknown_key", where=warning)
    return LoadedFixture(fixture, path, unknown)


def _unknown_keys(model: BaseModel, loc: Loc) -> Iterator[Loc]:
    if model.model_extra and not isinstance(model, _EXTRAS_ALLOWED):
        for key in model.model_extra:
            yield (*loc, key)
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            yield from _unknown_keys(value, (*loc, name))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, BaseModel):
                    yield from _unknown_keys(item, (*loc, name, i))


def _duplicates(items: list[Any], key: str, loc: Loc) -> Iterator[tuple[Loc, str]]:
    seen: set[str] = set()
    for i, item in enumerate(items):
        value = getattr(item, key)
        if value is None:
            continue
        if value in seen:
            yield (*loc, i, key), f"duplicate id {value!r}"
        seen.add(value)


def _cross_check(fx: ClinicFixture) -> Iterator[tuple[Loc, str]]:
    """References between sections: every id used must be defined."""
    pharmacies = {p.id for p in fx.pharmacies}
    types = {t.id: t for t in fx.appointment_types}
    providers = {p.id: p for p in fx.providers}
    yield from _duplicates(fx.pharmacies, "id", ("pharmacies",))
    yield from _duplicates(fx.appointment_types, "id", ("appointment_types",))
    yield from _duplicates(fx.providers, "id", ("providers",))
    yield from _duplicates(fx.patients, "id", ("patients",))
    yield from _duplicates(fx.blocked, "id", ("blocked",))
    for i, provider in enumerate(fx.providers):
        for j, type_id in enumerate(provider.appointment_types):
            if type_id not in types:
                yield (
                    ("providers", i, "appointment_types", j),
                    f"unknown appointment type {type_id!r}",
                )
    for i, block in enumerate(fx.blocked):
        if block.provider and block.provider not in providers:
            yield ("blocked", i, "provider"), f"unknown provider {block.provider!r}"
        if (block.start is None) != (block.end is None):
            yield ("blocked", i), "give both start and end, or neither (the whole day)"
        elif block.start and block.end and block.start >= block.end:
            yield ("blocked", i, "end"), "end must be after start"
    for i, patient in enumerate(fx.patients):
        at: Loc = ("patients", i)
        if patient.pharmacy and patient.pharmacy not in pharmacies:
            yield (*at, "pharmacy"), f"unknown pharmacy {patient.pharmacy!r}"
        yield from _duplicates(patient.medications, "id", (*at, "medications"))
        yield from _duplicates(patient.appointments, "id", (*at, "appointments"))
        for j, med in enumerate(patient.medications):
            if med.prescriber and med.prescriber not in providers:
                yield (*at, "medications", j, "prescriber"), f"unknown provider {med.prescriber!r}"
        for j, appt in enumerate(patient.appointments):
            where: Loc = (*at, "appointments", j)
            provider = providers.get(appt.provider)
            if provider is None:
                yield (*where, "provider"), f"unknown provider {appt.provider!r}"
            elif appt.type not in types:
                yield (*where, "type"), f"unknown appointment type {appt.type!r}"
            elif appt.type not in provider.appointment_types:
                yield (*where, "type"), f"{appt.provider} does not offer {appt.type!r}"
            if not _RELATIVE.match(appt.start):
                start = datetime.fromisoformat(appt.start)
                if start.minute % 5 or start.second:
                    yield (*where, "start"), "appointments start on a 5-minute grid"


# --- relative dates --------------------------------------------------------------------


def resolve_day(
    value: str | date,
    today: date,
    *,
    works_on: Any = None,
) -> date:
    """An ISO date, ``+Nd`` (N calendar days after ``today``) or ``+Nbd`` (the N-th day
    after ``today`` on which ``works_on(day)`` is true: a working day of the provider)."""
    if isinstance(value, date):
        return value
    match = _RELATIVE.match(value)
    if not match:
        return date.fromisoformat(value)
    count, unit = int(match.group(1)), match.group(2)
    if unit == "d" or works_on is None:
        return today + timedelta(days=count)
    day, found = today, 0
    for _ in range(count * 7 + 366):  # bounded: a provider who never works is an error
        day += timedelta(days=1)
        if works_on(day):
            found += 1
            if found == count:
                return day
    raise FixtureError([f"no working day found for {value!r}"])


def relative_time(value: str) -> time | None:
    match = _RELATIVE.match(value)
    if not match or match.group(3) is None:
        return None
    return time(int(match.group(3)), int(match.group(4)))


def is_relative(value: str) -> bool:
    return bool(_RELATIVE.match(value))

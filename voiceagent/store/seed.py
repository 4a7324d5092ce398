"""Load a clinic fixture into the database, idempotently.

Rows are matched by id (fixture ids are the primary keys: ``p-001``, ``dr-patel``; nested
rows without an id get a positional one such as ``p-001-med-2``). Only changed values are
written, so a second run with the same file (and the same day, for relative dates)
changes nothing: no new ciphertexts, no new audit entries. Seeding adds and updates; it
does not delete patients, medications or appointments that left the file. Weekly
schedules, appointment-type offers and fixture holidays/blocked time are reference data
and follow the file exactly.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from voiceagent.clock import system_clock
from voiceagent.logs import get_logger
from voiceagent.store import audit
from voiceagent.store.actor import Actor
from voiceagent.store.db import Database
from voiceagent.store.errors import SlotTaken, SlotUnavailable
from voiceagent.store.fixture import (
    AppointmentIn,
    ClinicFixture,
    ProviderIn,
    is_relative,
    load_fixture,
    relative_time,
    resolve_day,
)
from voiceagent.store.models import (
    Appointment,
    AppointmentType,
    Clinic,
    InsurancePolicy,
    Medication,
    Patient,
    PatientPharmacy,
    Pharmacy,
    Provider,
    ProviderSchedule,
    ScheduleException,
)
from voiceagent.store.repos.appointments import (
    book_appointment,
    cancel_appointment,
    reschedule_appointment,
)
from voiceagent.store.schedule import WEEKDAYS, format_windows, intersect, local_to_utc

log = get_logger(__name__)
SEED_ACTOR = Actor.system("seed")
_FIXTURE_EXCEPTION_PREFIXES = ("holiday-", "blocked-")


@dataclass
class SeedReport:
    created: Counter[str] = field(default_factory=Counter)
    updated: Counter[str] = field(default_factory=Counter)
    unchanged: Counter[str] = field(default_factory=Counter)
    removed: Counter[str] = field(default_factory=Counter)
    skipped: list[str] = field(default_factory=list)  # "p-003-appt-1: slot taken"

    @property
    def changed(self) -> bool:
        return bool(
            sum(self.created.values()) + sum(self.updated.values()) + sum(self.removed.values())
        )

    def lines(self) -> list[str]:
        kinds = sorted(
            set(self.created) | set(self.updated) | set(self.unchanged) | set(self.removed)
        )
        out = [
            f"{kind:<20} created {self.created[kind]:>4}  updated {self.updated[kind]:>4}  "
            f"unchanged {self.unchanged[kind]:>4}  removed {self.removed[kind]:>3}"
            for kind in kinds
        ]
        out += [f"skipped appointment {item}" for item in self.skipped]
        return out


def seed_file(
    db: Database, path: str | Path, *, today: date | None = None, strict: bool = False
) -> SeedReport:
    """Validate ``path`` and load it (one transaction)."""
    loaded = load_fixture(path, strict=strict)
    db.check_schema()
    with db.session() as session:
        return seed_fixture(session, loaded.fixture, today=today)


def seed_fixture(
    session: Session, fixture: ClinicFixture, *, today: date | None = None
) -> SeedReport:
    return _Seeder(session, fixture, today).run()


def _assign(obj: Any, values: dict[str, Any]) -> list[str]:
    """Set only the attributes whose value differs; return their names."""
    changed = []
    for key, value in values.items():
        if getattr(obj, key) != value:
            setattr(obj, key, value)
            changed.append(key)
    return changed


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


class _Seeder:
    def __init__(self, session: Session, fixture: ClinicFixture, today: date | None) -> None:
        self.s = session
        self.fx = fixture
        self.tz = ZoneInfo(fixture.clinic.timezone)
        # The fixture's history (its cancelled appointments) is stamped at the start of the
        # seed day: before any call of that day, on the pinned day of a test or demo too.
        self.today = today or system_clock().astimezone(self.tz).date()
        self.now = datetime.combine(self.today, time(0), tzinfo=self.tz)
        self.report = SeedReport()
        self.holidays = set(fixture.clinic.holidays)
        # (provider or None for the clinic, day, start, end); start/end None = all day
        self.blocks: list[tuple[str | None, date, Any, Any]] = []

    def run(self) -> SeedReport:
        self._clinic()
        self._keyed(
            Pharmacy,
            "pharmacy",
            {
                p.id: p.model_dump(include={"name", "phone", "fax", "address"})
                for p in self.fx.pharmacies
            },
        )
        self._keyed(
            AppointmentType,
            "appointment_type",
            {
                t.id: {
                    "name": t.name,
                    "minutes": t.minutes,
                    "description": t.description,
                    "active": True,
                }
                for t in self.fx.appointment_types
            },
        )
        self._providers()
        self._exceptions()
        self.s.flush()
        self._patients()
        self.s.flush()
        self._appointments()
        if self.report.changed:
            audit.record(
                self.s,
                SEED_ACTOR,
                "clinic.seed",
                "clinic",
                "1",
                created=sum(self.report.created.values()),
                updated=sum(self.report.updated.values()),
            )
        return self.report

    def _count(self, kind: str, created: bool, changed: list[str] | bool) -> None:
        if created:
            self.report.created[kind] += 1
        elif changed:
            self.report.updated[kind] += 1
        else:
            self.report.unchanged[kind] += 1

    # --- reference data ------------------------------------------------------------
    def _clinic(self) -> None:
        info = self.fx.clinic
        values = {
            "name": info.name,
            "timezone": info.timezone,
            "phone": info.phone,
            "front_desk": info.front_desk,
            "address": info.address,
            "parking": info.parking,
            "fax": info.fax,
            "hours": {day: format_windows(w) for day, w in info.hours.items()},
            "holidays": sorted(d.isoformat() for d in info.holidays),
            "refill_turnaround": info.refill_turnaround,
            "insurance_accepted": list(self.fx.insurance_accepted),
            "extra": _jsonable(info.model_extra or {}),
        }
        clinic = self.s.get(Clinic, 1)
        created = clinic is None
        if clinic is None:
            clinic = Clinic(id=1)
            self.s.add(clinic)
        self._count("clinic", created, _assign(clinic, values))

    def _keyed(self, model: type, kind: str, rows: dict[str, dict[str, Any]]) -> None:
        existing = {r.id: r for r in self.s.scalars(select(model).where(model.id.in_(rows)))}  # type: ignore[attr-defined]
        for row_id, values in rows.items():
            obj = existing.get(row_id)
            created = obj is None
            if obj is None:
                obj = model(id=row_id)
                self.s.add(obj)
            self._count(kind, created, _assign(obj, values))

    def _providers(self) -> None:
        types = {t.id: t for t in self.s.scalars(select(AppointmentType))}
        self._keyed(
            Provider,
            "provider",
            {p.id: {"name": p.name, "title": p.title, "active": True} for p in self.fx.providers},
        )
        for spec in self.fx.providers:
            provider = self.s.get(Provider, spec.id)
            assert provider is not None
            created = not provider.schedules and not provider.appointment_types
            changed = False
            if [t.id for t in provider.appointment_types] != sorted(spec.appointment_types):
                provider.appointment_types = [types[t] for t in sorted(spec.appointment_types)]
                changed = True
            changed |= self._schedules(provider, spec)
            if changed:
                self._count("provider_schedule", created, True)

    def _schedules(self, provider: Provider, spec: ProviderIn) -> bool:
        wanted = {}
        for day, windows in spec.schedule.items():
            for n, (start, end) in enumerate(windows, 1):
                wanted[f"{provider.id}-{day}-{n}"] = (WEEKDAYS.index(day), start, end)
        have = {row.id: (row.weekday, row.start_time, row.end_time) for row in provider.schedules}
        if have == wanted:
            return False
        provider.schedules = [
            row for row in provider.schedules if row.id in wanted and have[row.id] == wanted[row.id]
        ]
        self.s.flush()  # drop changed windows before re-adding them (unique per start)
        kept = {row.id for row in provider.schedules}
        for row_id, (weekday, start, end) in wanted.items():
            if row_id not in kept:
                provider.schedules.append(
                    ProviderSchedule(id=row_id, weekday=weekday, start_time=start, end_time=end)
                )
        return True

    def _business_day(self, day: date) -> bool:
        return WEEKDAYS[day.weekday()] in self.fx.clinic.hours and day not in self.holidays

    def _exceptions(self) -> None:
        wanted: dict[str, dict[str, Any]] = {}
        for day in self.fx.clinic.holidays:
            wanted[f"holiday-{day.isoformat()}"] = {
                "provider_id": None,
                "day": day,
                "start_time": None,
                "end_time": None,
                "kind": "holiday",
                "reason": "Clinic closed",
            }
        for i, block in enumerate(self.fx.blocked, 1):
            day = resolve_day(block.day, self.today, works_on=self._business_day)
            self.blocks.append((block.provider, day, block.start, block.end))
            wanted[block.id or f"blocked-{i}"] = {
                "provider_id": block.provider,
                "day": day,
                "start_time": block.start,
                "end_time": block.end,
                "kind": "blocked",
                "reason": block.reason,
            }
        self._keyed(ScheduleException, "schedule_exception", wanted)
        for row in self.s.scalars(select(ScheduleException)):
            if row.id.startswith(_FIXTURE_EXCEPTION_PREFIXES) and row.id not in wanted:
                self.s.delete(row)
                self.report.removed["schedule_exception"] += 1

    # --- patients (PHI: audited) ---------------------------------------------------
    def _patients(self) -> None:
        ids = [p.id for p in self.fx.patients]
        existing = {p.id: p for p in self.s.scalars(select(Patient).where(Patient.id.in_(ids)))}
        med_ids, ins_ids = [], []
        for spec in self.fx.patients:
            med_ids += [m.id or f"{spec.id}-med-{j}" for j, m in enumerate(spec.medications, 1)]
            ins_ids.append(f"{spec.id}-ins-1")
        meds = {
            m.id: m for m in self.s.scalars(select(Medication).where(Medication.id.in_(med_ids)))
        }
        policies = {
            p.id: p
            for p in self.s.scalars(select(InsurancePolicy).where(InsurancePolicy.id.in_(ins_ids)))
        }
        links = {
            (link.patient_id, link.pharmacy_id): link
            for link in self.s.scalars(
                select(PatientPharmacy).where(PatientPharmacy.patient_id.in_(ids))
            )
        }

        for spec in self.fx.patients:
            patient = existing.get(spec.id)
            created = patient is None
            if patient is None:
                patient = Patient(id=spec.id)
                self.s.add(patient)
            changed = _assign(
                patient,
                {
                    "first_name": spec.first_name,
                    "last_name": spec.last_name,
                    "dob": spec.dob,
                    "phone": spec.phone,
                    "address": spec.address,
                },
            )
            self._count("patient", created, changed)
            if created or changed:
                action = "patient.create" if created else "patient.update"
                audit.record(self.s, SEED_ACTOR, action, "patient", spec.id, fields=changed)
            self._pharmacy_link(spec.id, spec.pharmacy, links)
            for j, med in enumerate(spec.medications, 1):
                med_id = med.id or f"{spec.id}-med-{j}"
                self._child(
                    meds.get(med_id),
                    Medication,
                    med_id,
                    "medication",
                    spec.id,
                    {
                        "name": med.name,
                        "dose": med.dose,
                        "refills_left": med.refills_left,
                        "prescriber_id": med.prescriber,
                        "controlled": med.controlled,
                        "active": med.active,
                    },
                )
            if spec.insurance is not None:
                ins = spec.insurance
                self._child(
                    policies.get(f"{spec.id}-ins-1"),
                    InsurancePolicy,
                    f"{spec.id}-ins-1",
                    "insurance",
                    spec.id,
                    {
                        "carrier": ins.carrier,
                        "member_id": ins.member_id,
                        "group_number": ins.group,
                        "active": True,
                    },
                )

    def _child(
        self, obj: Any, model: type, row_id: str, kind: str, patient_id: str, values: dict[str, Any]
    ) -> None:
        created = obj is None
        if obj is None:
            obj = model(id=row_id, patient_id=patient_id)
            self.s.add(obj)
        changed = _assign(obj, values)
        self._count(kind, created, changed)
        if created or changed:
            action = f"{kind}.create" if created else f"{kind}.update"
            audit.record(
                self.s, SEED_ACTOR, action, kind, row_id, patient_id=patient_id, fields=changed
            )

    def _pharmacy_link(
        self,
        patient_id: str,
        pharmacy_id: str | None,
        links: dict[tuple[str, str], PatientPharmacy],
    ) -> None:
        current = {ph for (pid, ph) in links if pid == patient_id}
        wanted = {pharmacy_id} if pharmacy_id else set()
        if current == wanted and all(links[(patient_id, ph)].preferred for ph in wanted):
            return
        self._count("pharmacy_link", not current, True)
        for ph in current - wanted:
            self.s.delete(links[(patient_id, ph)])
        for ph in wanted:
            link = links.get((patient_id, ph))
            if link is None:
                self.s.add(PatientPharmacy(patient_id=patient_id, pharmacy_id=ph, preferred=True))
            else:
                link.preferred = True

    # --- appointments --------------------------------------------------------------
    def _works_on(self, provider: ProviderIn, at: Any, minutes: int) -> Any:
        def works(day: date) -> bool:
            if day in self.holidays:
                return False
            key = WEEKDAYS[day.weekday()]
            windows = intersect(provider.schedule.get(key, []), self.fx.clinic.hours.get(key, []))
            start = datetime.combine(day, at)
            end = start + timedelta(minutes=minutes)
            for who, blocked_day, b_start, b_end in self.blocks:
                if blocked_day != day or who not in (None, provider.id):
                    continue
                if b_start is None or (
                    start < datetime.combine(day, b_end) and datetime.combine(day, b_start) < end
                ):
                    return False
            return any(
                datetime.combine(day, w1) <= start and end <= datetime.combine(day, w2)
                for w1, w2 in windows
            )

        return works

    def _start_utc(self, appt: AppointmentIn) -> datetime:
        if is_relative(appt.start):
            provider = next(p for p in self.fx.providers if p.id == appt.provider)
            minutes = next(t.minutes for t in self.fx.appointment_types if t.id == appt.type)
            at = relative_time(appt.start)
            assert at is not None
            day_text = appt.start.split()[0]
            day = resolve_day(day_text, self.today, works_on=self._works_on(provider, at, minutes))
            return local_to_utc(day, at, self.tz)
        return datetime.fromisoformat(appt.start).replace(tzinfo=self.tz).astimezone(UTC)

    def _appointments(self) -> None:
        specs = [
            (spec.id, appt.id or f"{spec.id}-appt-{j}", appt)
            for spec in self.fx.patients
            for j, appt in enumerate(spec.appointments, 1)
        ]
        existing = {
            a.id: a
            for a in self.s.scalars(
                select(Appointment).where(Appointment.id.in_([s[1] for s in specs]))
            )
        }
        for patient_id, appt_id, appt in specs:
            start_utc = self._start_utc(appt)
            current = existing.get(appt_id)
            try:
                self._appointment(patient_id, appt_id, appt, start_utc, current)
            except (SlotTaken, SlotUnavailable) as exc:
                self.report.skipped.append(f"{appt_id}: {type(exc).__name__}")
                log.warning(
                    "seed_appointment_skipped", appointment_id=appt_id, problem=type(exc).__name__
                )

    def _appointment(
        self,
        patient_id: str,
        appt_id: str,
        appt: AppointmentIn,
        start_utc: datetime,
        current: Appointment | None,
    ) -> None:
        if current is None:
            booked = book_appointment(
                self.s,
                SEED_ACTOR,
                patient_id=patient_id,
                provider_id=appt.provider,
                appointment_type_id=appt.type,
                start_utc=start_utc,
                now=self.now,
                reason=appt.reason,
                source="fixture",
                check_schedule=False,
                appointment_id=appt_id,
            )
            if appt.status == "cancelled":
                cancel_appointment(
                    self.s, SEED_ACTOR, booked.id, now=self.now, reason_code="fixture"
                )
            elif appt.status != "booked":
                booked.status = appt.status
            self.report.created["appointment"] += 1
            return
        changed = False
        if current.status == "booked" and appt.status == "booked":
            if current.appointment_type_id != appt.type:
                current.appointment_type_id = appt.type
                changed = True
            if changed or current.start_utc != start_utc or current.provider_id != appt.provider:
                reschedule_appointment(
                    self.s,
                    SEED_ACTOR,
                    appt_id,
                    start_utc=start_utc,
                    now=self.now,
                    provider_id=appt.provider,
                    check_schedule=False,
                )
                changed = True
        elif current.status == "booked" and appt.status == "cancelled":
            cancel_appointment(self.s, SEED_ACTOR, appt_id, now=self.now, reason_code="fixture")
            changed = True
        changed |= bool(_assign(current, {"reason": appt.reason}))
        self._count("appointment", False, changed)

"""Patients: lookup by blind index, fuzzy/phonetic name matching, reads and writes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import jellyfish
from rapidfuzz import fuzz
from sqlalchemy import select
from sqlalchemy.orm import Session

from voiceagent.store import audit
from voiceagent.store.actor import Actor
from voiceagent.store.blind import normalize_name, normalize_phone
from voiceagent.store.models import Patient, PatientPharmacy, Pharmacy
from voiceagent.store.repos._common import blind_index, get_or_404, ids_of

DEFAULT_MIN_SCORE = 80.0
PHONETIC_FLOOR = 90.0  # a name that sounds the same scores at least this
# Each part must match on its own. The family name is the stricter: it is what tells
# records apart; a first name only has to be recognisably the one on file, since ASR bends
# unusual ones ("Siobhan" heard as "Shivaun" scores 57) and the whole must still reach the
# caller's threshold.
LAST_NAME_MIN_SCORE = 80.0
FIRST_NAME_MIN_SCORE = 55.0


@dataclass(frozen=True, slots=True)
class PatientMatch:
    patient: Patient
    score: float  # 0-100


def get_patient(session: Session, actor: Actor, patient_id: str) -> Patient:
    patient = get_or_404(session, Patient, patient_id, "patient")
    audit.record(session, actor, "patient.read", "patient", patient.id)
    return patient


def find_patients(
    session: Session,
    actor: Actor,
    *,
    last_name: str | None = None,
    dob: date | None = None,
    phone: str | None = None,
    limit: int = 20,
) -> list[Patient]:
    """Candidate patients by blind index, without decrypting the table.

    - last name + date of birth: exact (normalised) last name and date of birth; when
      that finds nobody, everyone born that day, so a misheard last name still yields
      candidates for :func:`match_patient_name` (which then needs both name parts to
      match, each on its own);
    - date of birth alone: everyone born that day;
    - with a phone number as well: the same, those on that number first;
    - phone number alone: everyone on that number (caller ID is a hint, not proof);
    - a last name alone is not enough and returns nothing.
    """
    index = blind_index(session)
    by = "none"
    rows: list[Patient] = []
    if dob is not None:
        if last_name and (digest := index.last_name_dob(last_name, dob)):
            rows = _where(session, Patient.last_name_dob_bidx == digest, limit)
            by = "last_name+dob"
        if not rows:
            rows = _where(session, Patient.dob_bidx == index.dob(dob), limit)
            by = "dob"
        if phone and (digest := index.phone(phone)):
            rows.sort(key=lambda p: p.phone_bidx != digest)
    elif phone and (digest := index.phone(phone)):
        rows = _where(session, Patient.phone_bidx == digest, limit)
        by = "phone"
    audit.record(
        session, actor, "patient.search", "patient", None, by=by, count=len(rows), ids=ids_of(rows)
    )
    return rows


def _where(session: Session, condition: object, limit: int) -> list[Patient]:
    stmt = select(Patient).where(condition).order_by(Patient.id).limit(limit)  # type: ignore[arg-type]
    return list(session.scalars(stmt))


def _part_score(said: str, actual: str) -> float:
    said_n = normalize_name(said)
    if not said_n:
        return 0.0
    best = 0.0
    # Compare with the whole name and with each part ("Garcia" vs "Garcia Lopez").
    parts = {normalize_name(actual), *(normalize_name(p) for p in actual.replace("-", " ").split())}
    for part in filter(None, parts):
        score = fuzz.ratio(said_n, part)
        if jellyfish.metaphone(said_n) == jellyfish.metaphone(part) or jellyfish.nysiis(
            said_n
        ) == jellyfish.nysiis(part):
            score = max(score, PHONETIC_FLOOR)
        best = max(best, score)
    return best


def name_score(first: str | None, last: str | None, patient: Patient) -> float:
    """How well a spoken name matches ``patient`` (0-100): spelling and sound.

    Both parts must be given, and each must match its own part on file by itself: a right
    last name cannot carry a wrong or missing first name (one part alone never verifies).
    """
    if not (first and last):
        return 0.0
    p_first, p_last = patient.first_name or "", patient.last_name or ""

    def score(f: str, la: str) -> float:
        first_score, last_score = _part_score(f, p_first), _part_score(la, p_last)
        if first_score < FIRST_NAME_MIN_SCORE or last_score < LAST_NAME_MIN_SCORE:
            return 0.0
        return 0.4 * first_score + 0.6 * last_score

    # Callers sometimes give the family name first.
    return max(score(first, last), score(last, first) - 5.0, 0.0)


def any_part_matches(
    first: str | None, last: str | None, patient: Patient, min_score: float
) -> bool:
    """Whether one spoken part matches its part on file: a near miss at that record."""
    p_first, p_last = patient.first_name or "", patient.last_name or ""
    return bool(first and _part_score(first, p_first) >= min_score) or bool(
        last and _part_score(last, p_last) >= min_score
    )


def match_patient_name(
    first: str | None,
    last: str | None,
    candidates: Iterable[Patient],
    *,
    min_score: float = DEFAULT_MIN_SCORE,
) -> list[PatientMatch]:
    """Score the (few) candidates against a spoken name, best first, above ``min_score``.

    "Marie Gonzales" finds "Maria Gonzalez": the parts are close in spelling and equal in
    sound (metaphone / NYSIIS).
    """
    matches = [PatientMatch(p, round(name_score(first, last, p), 1)) for p in candidates]
    return sorted((m for m in matches if m.score >= min_score), key=lambda m: m.score, reverse=True)


def create_patient(
    session: Session,
    actor: Actor,
    *,
    first_name: str,
    last_name: str,
    dob: date,
    phone: str | None = None,
    address: str | None = None,
    patient_id: str | None = None,
) -> Patient:
    patient = Patient(
        first_name=first_name,
        last_name=last_name,
        dob=dob,
        phone=(normalize_phone(phone) or phone) if phone else None,
        address=address,
    )
    if patient_id:
        patient.id = patient_id
    session.add(patient)
    session.flush()
    audit.record(session, actor, "patient.create", "patient", patient.id)
    return patient


def update_patient(session: Session, actor: Actor, patient_id: str, **fields: object) -> Patient:
    """Change first_name, last_name, dob, phone or address; audits which fields changed."""
    allowed = {"first_name", "last_name", "dob", "phone", "address"}
    unknown = set(fields) - allowed
    if unknown:
        raise TypeError(f"cannot update {sorted(unknown)}")
    patient = get_or_404(session, Patient, patient_id, "patient")
    changed = []
    for key, value in fields.items():
        if key == "phone" and isinstance(value, str):
            value = normalize_phone(value) or value
        if getattr(patient, key) != value:
            setattr(patient, key, value)
            changed.append(key)
    if changed:
        session.flush()
        audit.record(session, actor, "patient.update", "patient", patient.id, fields=changed)
    return patient


def preferred_pharmacy(session: Session, actor: Actor, patient_id: str) -> Pharmacy | None:
    """The patient's pharmacy on file (where refills go): a read of their record."""
    pharmacy = pharmacy_on_file(session, patient_id)
    audit.record(
        session,
        actor,
        "patient.pharmacy.read",
        "patient",
        patient_id,
        pharmacy_id=pharmacy.id if pharmacy else None,
    )
    return pharmacy


def pharmacy_on_file(session: Session, patient_id: str) -> Pharmacy | None:
    """For writes that already audit the record they change (a refill request)."""
    stmt = (
        select(Pharmacy)
        .join(PatientPharmacy, PatientPharmacy.pharmacy_id == Pharmacy.id)
        .where(PatientPharmacy.patient_id == patient_id)
        .order_by(PatientPharmacy.preferred.desc(), Pharmacy.id)
        .limit(1)
    )
    return session.scalars(stmt).first()

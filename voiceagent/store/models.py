"""The store's tables as SQLAlchemy 2.0 typed models.

Conventions:

- Every table holding PHI has a client-generated string id (``uuid4().hex``, or the
  fixture's natural id such as ``p-001``), so the id is known before INSERT and is bound
  into each ciphertext's associated data (``table.column:id``).
- PHI columns are ``LargeBinary`` envelopes behind an :class:`Encrypted` descriptor; the
  mapped attribute is the private ``_name`` and the column keeps the public name.
- Times are timezone-aware UTC (:class:`UTCDateTime`); clinic-local wall times only appear
  in schedule templates (``Time`` columns, interpreted in the clinic's time zone).
- The schema is created by Alembic (``migrations/``); ``metadata.create_all`` is for the
  model tests only.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    Time,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from voiceagent.store import encrypted
from voiceagent.store.blind import BlindIndex
from voiceagent.store.encrypted import Encrypted
from voiceagent.store.ids import new_id, utcnow
from voiceagent.store.types import UTCDateTime

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ID = String(64)
PHONE = String(20)
BIDX = String(64)

APPOINTMENT_STATUSES = ("booked", "cancelled", "completed", "no_show")
REFILL_STATUSES = ("pending", "approved", "denied", "needs_visit")
INSURANCE_CHANGE_STATUSES = ("pending", "verified", "rejected")
TRANSFER_STATUSES = ("new", "claimed", "done", "failed")
TRANSFER_URGENCIES = ("routine", "urgent", "emergency")
CALLBACK_STATUSES = ("open", "done")
ROLES = ("staff", "admin")
ACTOR_TYPES = ("agent", "staff", "api", "system")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
        list[str]: JSON(),
    }


encrypted.install(Base)


class HasId:
    """A client-side string primary key, assigned at construction."""

    id: Mapped[str] = mapped_column(ID, primary_key=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if self.id is None:
            self.id = new_id()


class Timestamps:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


# --- the clinic and its calendar (no PHI) ----------------------------------------------


class Clinic(Base):
    """The single clinic this install serves (the fixture's ``clinic:`` section)."""

    __tablename__ = "clinic"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False, default=1)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str] = mapped_column(PHONE)
    front_desk: Mapped[str] = mapped_column(PHONE)
    address: Mapped[str | None] = mapped_column(Text)
    parking: Mapped[str | None] = mapped_column(Text)
    fax: Mapped[str | None] = mapped_column(PHONE)
    hours: Mapped[dict[str, Any]] = mapped_column(default=dict)  # {"mon": "08:00-17:00"}
    holidays: Mapped[list[str]] = mapped_column(default=list)  # ISO dates
    refill_turnaround: Mapped[str | None] = mapped_column(String(200))
    insurance_accepted: Mapped[list[str]] = mapped_column(default=list)
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)  # fixture keys we do not model
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


provider_appointment_types = Table(
    "provider_appointment_types",
    Base.metadata,
    Column("provider_id", ID, ForeignKey("providers.id", ondelete="CASCADE"), primary_key=True),
    Column(
        "appointment_type_id",
        ID,
        ForeignKey("appointment_types.id", ondelete="CASCADE"),
        primary_key=True,
    ),
)


class AppointmentType(Base):
    __tablename__ = "appointment_types"
    __table_args__ = (CheckConstraint("minutes > 0 AND minutes % 5 = 0", name="minutes_grid"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    minutes: Mapped[int] = mapped_column(Integer)
    description: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Provider(Base):
    __tablename__ = "providers"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    appointment_types: Mapped[list[AppointmentType]] = relationship(
        secondary=provider_appointment_types, order_by=AppointmentType.id
    )
    schedules: Mapped[list[ProviderSchedule]] = relationship(
        back_populates="provider", cascade="all, delete-orphan", order_by="ProviderSchedule.id"
    )


class ProviderSchedule(Base):
    """One window of a provider's weekly template, in clinic-local wall time."""

    __tablename__ = "provider_schedules"
    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday"),
        CheckConstraint("start_time < end_time", name="window"),
        UniqueConstraint("provider_id", "weekday", "start_time"),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    provider_id: Mapped[str] = mapped_column(ForeignKey("providers.id", ondelete="CASCADE"))
    weekday: Mapped[int] = mapped_column(Integer)  # 0 = Monday (date.weekday())
    start_time: Mapped[time] = mapped_column(Time)
    end_time: Mapped[time] = mapped_column(Time)

    provider: Mapped[Provider] = relationship(back_populates="schedules")


class ScheduleException(Base):
    """A holiday (whole clinic) or blocked time (one provider), clinic-local."""

    __tablename__ = "schedule_exceptions"
    __table_args__ = (
        CheckConstraint(_in("kind", ("holiday", "blocked")), name="kind"),
        Index(None, "day"),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    provider_id: Mapped[str | None] = mapped_column(
        ForeignKey("providers.id", ondelete="CASCADE")
    )  # NULL = the whole clinic
    day: Mapped[date] = mapped_column(Date)
    start_time: Mapped[time | None] = mapped_column(Time)  # NULL = all day
    end_time: Mapped[time | None] = mapped_column(Time)
    kind: Mapped[str] = mapped_column(String(16), default="blocked")
    reason: Mapped[str | None] = mapped_column(String(200))


class Pharmacy(Base):
    __tablename__ = "pharmacies"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(PHONE)
    fax: Mapped[str | None] = mapped_column(PHONE)
    address: Mapped[str | None] = mapped_column(Text)


# --- patients (PHI) ----------------------------------------------------------------------


class Patient(HasId, Timestamps, Base):
    __tablename__ = "patients"

    _first_name: Mapped[bytes] = mapped_column("first_name", LargeBinary)
    _last_name: Mapped[bytes] = mapped_column("last_name", LargeBinary)
    _dob: Mapped[bytes] = mapped_column("dob", LargeBinary)
    _phone: Mapped[bytes | None] = mapped_column("phone", LargeBinary)
    _address: Mapped[bytes | None] = mapped_column("address", LargeBinary)
    first_name = Encrypted(str)
    last_name = Encrypted(str)
    dob = Encrypted(date)
    phone = Encrypted(str)
    address = Encrypted(str)

    dob_bidx: Mapped[str] = mapped_column(BIDX, index=True)
    last_name_dob_bidx: Mapped[str | None] = mapped_column(BIDX, index=True)
    phone_bidx: Mapped[str | None] = mapped_column(BIDX, index=True)

    pharmacies: Mapped[list[PatientPharmacy]] = relationship(
        back_populates="patient", cascade="all, delete-orphan"
    )
    medications: Mapped[list[Medication]] = relationship(
        back_populates="patient", order_by="Medication.id"
    )
    insurance_policies: Mapped[list[InsurancePolicy]] = relationship(
        back_populates="patient", order_by="InsurancePolicy.id"
    )

    def compute_blind_indexes(self, index: BlindIndex) -> None:
        dob, last_name, phone = self.dob, self.last_name, self.phone
        if dob is not None:
            self.dob_bidx = index.dob(dob)
        self.last_name_dob_bidx = index.last_name_dob(last_name, dob) if last_name and dob else None
        self.phone_bidx = index.phone(phone) if phone else None

    @property
    def preferred_pharmacy_id(self) -> str | None:
        for link in self.pharmacies:
            if link.preferred:
                return link.pharmacy_id
        return self.pharmacies[0].pharmacy_id if self.pharmacies else None


class PatientPharmacy(Base):
    __tablename__ = "patient_pharmacy"

    patient_id: Mapped[str] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), primary_key=True
    )
    pharmacy_id: Mapped[str] = mapped_column(ForeignKey("pharmacies.id"), primary_key=True)
    preferred: Mapped[bool] = mapped_column(Boolean, default=True)

    patient: Mapped[Patient] = relationship(back_populates="pharmacies")
    pharmacy: Mapped[Pharmacy] = relationship()


class Medication(HasId, Timestamps, Base):
    __tablename__ = "medications"
    __table_args__ = (CheckConstraint("refills_left >= 0", name="refills_left"),)

    patient_id: Mapped[str] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), index=True
    )
    _name: Mapped[bytes] = mapped_column("name", LargeBinary)
    _dose: Mapped[bytes | None] = mapped_column("dose", LargeBinary)
    name = Encrypted(str)
    dose = Encrypted(str)
    refills_left: Mapped[int] = mapped_column(Integer, default=0)
    prescriber_id: Mapped[str | None] = mapped_column(ForeignKey("providers.id"))
    controlled: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    patient: Mapped[Patient] = relationship(back_populates="medications")


class InsurancePolicy(HasId, Timestamps, Base):
    __tablename__ = "insurance_policies"

    patient_id: Mapped[str] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), index=True
    )
    carrier: Mapped[str] = mapped_column(String(100))
    _member_id: Mapped[bytes] = mapped_column("member_id", LargeBinary)
    _group_number: Mapped[bytes | None] = mapped_column("group_number", LargeBinary)
    member_id = Encrypted(str)
    group_number = Encrypted(str)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    verified_at: Mapped[datetime | None]

    patient: Mapped[Patient] = relationship(back_populates="insurance_policies")


# --- appointments ------------------------------------------------------------------------

BLOCK_MINUTES = 5


class Appointment(HasId, Timestamps, Base):
    __tablename__ = "appointments"
    __table_args__ = (
        CheckConstraint(_in("status", APPOINTMENT_STATUSES), name="status"),
        CheckConstraint("start_utc < end_utc", name="period"),
        # One booked appointment per provider start time, enforced by the database.
        Index(
            "uq_appointments_provider_start_booked",
            "provider_id",
            "start_utc",
            unique=True,
            sqlite_where=text("status = 'booked'"),
            postgresql_where=text("status = 'booked'"),
        ),
        Index(None, "patient_id", "start_utc"),
    )

    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    provider_id: Mapped[str] = mapped_column(ForeignKey("providers.id"))
    appointment_type_id: Mapped[str] = mapped_column(ForeignKey("appointment_types.id"))
    start_utc: Mapped[datetime]
    end_utc: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default="booked")
    source: Mapped[str] = mapped_column(String(16), default="agent")  # fixture|agent|staff|api
    call_id: Mapped[str | None] = mapped_column(ForeignKey("calls.id", ondelete="SET NULL"))
    _reason: Mapped[bytes | None] = mapped_column("reason", LargeBinary)
    reason = Encrypted(str)  # the patient's words for why they come: PHI
    cancelled_at: Mapped[datetime | None]

    provider: Mapped[Provider] = relationship()
    appointment_type: Mapped[AppointmentType] = relationship()


class AppointmentBlock(Base):
    """The 5-minute blocks a booked appointment occupies.

    The primary key (provider, block start) makes *overlapping* bookings impossible on
    any database, not only bookings with the same start: two appointments overlap exactly
    when they share a block (starts and lengths are on the 5-minute grid).
    """

    __tablename__ = "appointment_blocks"

    provider_id: Mapped[str] = mapped_column(ForeignKey("providers.id"), primary_key=True)
    start_utc: Mapped[datetime] = mapped_column(primary_key=True)
    appointment_id: Mapped[str] = mapped_column(
        ForeignKey("appointments.id", ondelete="CASCADE"), index=True
    )


# --- requests from calls -----------------------------------------------------------------


class RefillRequest(HasId, Timestamps, Base):
    __tablename__ = "refill_requests"
    __table_args__ = (
        CheckConstraint(_in("status", REFILL_STATUSES), name="status"),
        Index(None, "status", "created_at"),
    )

    patient_id: Mapped[str] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), index=True
    )
    medication_id: Mapped[str | None] = mapped_column(ForeignKey("medications.id"))
    pharmacy_id: Mapped[str | None] = mapped_column(ForeignKey("pharmacies.id"))
    _requested_medication: Mapped[bytes | None] = mapped_column("requested_medication", LargeBinary)
    requested_medication = Encrypted(str)  # what the caller asked for, when not on file
    status: Mapped[str] = mapped_column(String(16), default="pending")
    call_id: Mapped[str | None] = mapped_column(ForeignKey("calls.id", ondelete="SET NULL"))
    _staff_note: Mapped[bytes | None] = mapped_column("staff_note", LargeBinary)
    staff_note = Encrypted(str)
    decided_by: Mapped[str | None] = mapped_column(String(128))
    decided_at: Mapped[datetime | None]


class InsuranceChangeRequest(HasId, Timestamps, Base):
    __tablename__ = "insurance_change_requests"
    __table_args__ = (
        CheckConstraint(_in("status", INSURANCE_CHANGE_STATUSES), name="status"),
        Index(None, "status", "created_at"),
    )

    patient_id: Mapped[str] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), index=True
    )
    policy_id: Mapped[str | None] = mapped_column(ForeignKey("insurance_policies.id"))
    call_id: Mapped[str | None] = mapped_column(ForeignKey("calls.id", ondelete="SET NULL"))
    carrier: Mapped[str | None] = mapped_column(String(100))
    _member_id: Mapped[bytes | None] = mapped_column("member_id", LargeBinary)
    _group_number: Mapped[bytes | None] = mapped_column("group_number", LargeBinary)
    _staff_note: Mapped[bytes | None] = mapped_column("staff_note", LargeBinary)
    member_id = Encrypted(str)
    group_number = Encrypted(str)
    staff_note = Encrypted(str)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    decided_by: Mapped[str | None] = mapped_column(String(128))
    decided_at: Mapped[datetime | None]


# --- calls -------------------------------------------------------------------------------


class Call(HasId, Base):
    __tablename__ = "calls"

    call_sid: Mapped[str] = mapped_column(String(64), unique=True)
    _caller_number: Mapped[bytes | None] = mapped_column("caller_number", LargeBinary)
    caller_number = Encrypted(str)
    caller_bidx: Mapped[str | None] = mapped_column(BIDX, index=True)
    called_number: Mapped[str | None] = mapped_column(PHONE)  # the clinic line, not PHI
    started_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    ended_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16), default="in_progress")
    outcome: Mapped[str | None] = mapped_column(String(32))
    intent: Mapped[str | None] = mapped_column(String(64))
    transferred: Mapped[bool] = mapped_column(Boolean, default=False)
    transfer_reason: Mapped[str | None] = mapped_column(String(64))  # a reason code
    patient_id: Mapped[str | None] = mapped_column(
        ForeignKey("patients.id", ondelete="SET NULL"), index=True
    )
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    turn_count: Mapped[int] = mapped_column(Integer, default=0)
    greeting_ms: Mapped[int | None] = mapped_column(Integer)  # call start -> first audio out
    gap_p50_ms: Mapped[int | None] = mapped_column(Integer)  # caller stops -> agent audio
    gap_p95_ms: Mapped[int | None] = mapped_column(Integer)
    gap_max_ms: Mapped[int | None] = mapped_column(Integer)
    audio_ref: Mapped[str | None] = mapped_column(Text)  # where a recording lives, if any
    transcript_purged_at: Mapped[datetime | None]

    turns: Mapped[list[CallTurn]] = relationship(
        back_populates="call", order_by="CallTurn.seq", cascade="all, delete-orphan"
    )

    def compute_blind_indexes(self, index: BlindIndex) -> None:
        number = self.caller_number
        self.caller_bidx = index.phone(number) if number else None


class CallTurn(HasId, Base):
    __tablename__ = "call_turns"
    __table_args__ = (
        UniqueConstraint("call_id", "seq"),
        CheckConstraint(_in("speaker", ("caller", "agent")), name="speaker"),
        Index(None, "at"),
    )

    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    speaker: Mapped[str] = mapped_column(String(8))
    _text: Mapped[bytes] = mapped_column("text", LargeBinary)
    text = Encrypted(str)
    asr_confidence: Mapped[float | None] = mapped_column(Float)
    intent: Mapped[str | None] = mapped_column(String(64))
    response_gap_ms: Mapped[int | None] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(default=utcnow)

    call: Mapped[Call] = relationship(back_populates="turns")


class IdentityFailure(HasId, Base):
    """One failed identity check on a call: by calling number and by the records it came
    close to, so the guessing limit holds across calls and replicas. No PHI: the number is
    a blind index, the records are ids."""

    __tablename__ = "identity_failures"

    check_id: Mapped[str] = mapped_column(ID, index=True)  # one check near two records: 2 rows
    at: Mapped[datetime] = mapped_column(index=True)
    call_id: Mapped[str | None] = mapped_column(ForeignKey("calls.id", ondelete="SET NULL"))
    caller_bidx: Mapped[str | None] = mapped_column(BIDX, index=True)
    patient_id: Mapped[str | None] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), index=True
    )


class StreamToken(Base):
    """A single-use token for one call's media websocket; only its SHA-256 is stored."""

    __tablename__ = "stream_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    call_sid: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    used_at: Mapped[datetime | None]


class Transfer(HasId, Base):
    __tablename__ = "transfers"
    __table_args__ = (
        CheckConstraint(_in("status", TRANSFER_STATUSES), name="status"),
        CheckConstraint(_in("urgency", TRANSFER_URGENCIES), name="urgency"),
        Index(None, "status", "created_at"),
    )

    call_id: Mapped[str | None] = mapped_column(
        ForeignKey("calls.id", ondelete="SET NULL"), index=True
    )
    patient_id: Mapped[str | None] = mapped_column(ForeignKey("patients.id", ondelete="SET NULL"))
    reason_code: Mapped[str] = mapped_column(String(64))
    _reason: Mapped[bytes | None] = mapped_column("reason", LargeBinary)
    _summary: Mapped[bytes | None] = mapped_column("summary", LargeBinary)
    reason = Encrypted(str)  # free text may quote the caller
    summary = Encrypted(dict)
    urgency: Mapped[str] = mapped_column(String(16), default="routine")
    status: Mapped[str] = mapped_column(String(16), default="new")
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Callback(HasId, Base):
    __tablename__ = "callbacks"
    __table_args__ = (
        CheckConstraint(_in("status", CALLBACK_STATUSES), name="status"),
        Index(None, "status", "created_at"),
    )

    patient_id: Mapped[str | None] = mapped_column(
        ForeignKey("patients.id", ondelete="SET NULL"), index=True
    )
    call_id: Mapped[str | None] = mapped_column(ForeignKey("calls.id", ondelete="SET NULL"))
    _name: Mapped[bytes | None] = mapped_column("name", LargeBinary)
    _phone: Mapped[bytes | None] = mapped_column("phone", LargeBinary)
    _reason: Mapped[bytes | None] = mapped_column("reason", LargeBinary)
    _note: Mapped[bytes | None] = mapped_column("note", LargeBinary)
    name = Encrypted(str)
    phone = Encrypted(str)
    reason = Encrypted(str)
    note = Encrypted(str)
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    done_at: Mapped[datetime | None]
    done_by: Mapped[str | None] = mapped_column(String(128))


# --- staff and access --------------------------------------------------------------------


class StaffUser(HasId, Base):
    __tablename__ = "staff_users"
    __table_args__ = (CheckConstraint(_in("role", ROLES), name="role"),)

    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))  # argon2id
    role: Mapped[str] = mapped_column(String(16), default="staff")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]


class ApiToken(HasId, Base):
    __tablename__ = "api_tokens"
    __table_args__ = (CheckConstraint(_in("role", ROLES), name="role"),)

    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 hex
    name: Mapped[str | None] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16), default="staff")
    created_by: Mapped[str | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class StaffSession(Base):
    __tablename__ = "staff_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the cookie
    user_id: Mapped[str] = mapped_column(
        ForeignKey("staff_users.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)


# --- audit and flows ---------------------------------------------------------------------


class AuditEntry(Base):
    """One hash-chained, append-only audit record (see :mod:`voiceagent.store.audit`)."""

    __tablename__ = "audit_log"
    __table_args__ = (
        CheckConstraint(_in("actor_type", ACTOR_TYPES), name="actor_type"),
        Index(None, "record_type", "record_id"),
    )

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime]
    actor_type: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    record_type: Mapped[str | None] = mapped_column(String(64))
    record_id: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[str] = mapped_column(Text, default="{}")  # canonical JSON, no PHI
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The chain head (last seq and hash): the row appenders lock to stay in one chain."""

    __tablename__ = "audit_head"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))


class FlowVersion(HasId, Base):
    __tablename__ = "flow_versions"
    __table_args__ = (
        UniqueConstraint("flow_name", "version"),
        Index(
            "uq_flow_versions_active",
            "flow_name",
            unique=True,
            sqlite_where=text("active"),
            postgresql_where=text("active"),
        ),
    )

    flow_name: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer)
    yaml_text: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    diff: Mapped[str | None] = mapped_column(Text)

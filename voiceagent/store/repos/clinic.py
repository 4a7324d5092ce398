"""The clinic's reference data (no PHI, so no audit): clinic, providers, types, pharmacies."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from voiceagent.store.errors import StoreError
from voiceagent.store.models import AppointmentType, Clinic, Pharmacy, Provider


def get_clinic(session: Session) -> Clinic:
    clinic = session.get(Clinic, 1)
    if clinic is None:
        raise StoreError("no clinic in the database: run `voiceagent seed FILE`")
    return clinic


def clinic_timezone(session: Session) -> ZoneInfo:
    return ZoneInfo(get_clinic(session).timezone)


def list_providers(session: Session, *, appointment_type_id: str | None = None) -> list[Provider]:
    stmt = (
        select(Provider)
        .where(Provider.active)
        .options(selectinload(Provider.appointment_types), selectinload(Provider.schedules))
        .order_by(Provider.id)
    )
    if appointment_type_id is not None:
        stmt = stmt.where(Provider.appointment_types.any(AppointmentType.id == appointment_type_id))
    return list(session.scalars(stmt))


def list_appointment_types(session: Session) -> list[AppointmentType]:
    stmt = select(AppointmentType).where(AppointmentType.active).order_by(AppointmentType.id)
    return list(session.scalars(stmt))


def list_pharmacies(session: Session) -> list[Pharmacy]:
    return list(session.scalars(select(Pharmacy).order_by(Pharmacy.id)))

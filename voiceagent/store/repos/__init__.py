"""Repositories: plain functions taking a Session (and an Actor for anything touching PHI).

Every read or write of PHI appends an audit entry, written when the session commits.
"""

from __future__ import annotations

from voiceagent.store.repos.appointments import (
    book_appointment,
    cancel_appointment,
    get_appointment,
    list_appointments,
    next_appointment,
    reschedule_appointment,
)
from voiceagent.store.repos.callbacks import complete_callback, create_callback, list_callbacks
from voiceagent.store.repos.calls import (
    add_turn,
    close_call,
    find_calls_by_caller,
    get_call,
    link_patient,
    list_calls,
    open_call,
    record_status,
    set_call_progress,
)
from voiceagent.store.repos.clinic import (
    clinic_timezone,
    get_clinic,
    list_appointment_types,
    list_pharmacies,
    list_providers,
)
from voiceagent.store.repos.insurance import (
    decide_insurance_change,
    get_insurance,
    list_insurance_changes,
    request_insurance_change,
)
from voiceagent.store.repos.patients import (
    PatientMatch,
    create_patient,
    find_patients,
    get_patient,
    match_patient_name,
    preferred_pharmacy,
    update_patient,
)
from voiceagent.store.repos.refills import (
    create_refill_request,
    list_medications,
    list_refill_requests,
    update_refill_request,
)
from voiceagent.store.repos.slots import Slot, open_slots
from voiceagent.store.repos.stream_tokens import (
    consume_stream_token,
    issue_stream_token,
    purge_stream_tokens,
)
from voiceagent.store.repos.transfers import (
    claim_transfer,
    create_transfer,
    finish_transfer,
    get_transfer,
    list_transfers,
)

__all__ = [
    "PatientMatch",
    "Slot",
    "add_turn",
    "book_appointment",
    "cancel_appointment",
    "claim_transfer",
    "clinic_timezone",
    "close_call",
    "complete_callback",
    "consume_stream_token",
    "create_callback",
    "create_patient",
    "create_refill_request",
    "create_transfer",
    "decide_insurance_change",
    "find_calls_by_caller",
    "find_patients",
    "finish_transfer",
    "get_appointment",
    "get_call",
    "get_clinic",
    "get_insurance",
    "get_patient",
    "get_transfer",
    "issue_stream_token",
    "link_patient",
    "list_appointment_types",
    "list_appointments",
    "list_callbacks",
    "list_calls",
    "list_insurance_changes",
    "list_medications",
    "list_pharmacies",
    "list_providers",
    "list_refill_requests",
    "list_transfers",
    "match_patient_name",
    "next_appointment",
    "open_call",
    "open_slots",
    "preferred_pharmacy",
    "purge_stream_tokens",
    "record_status",
    "request_insurance_change",
    "reschedule_appointment",
    "set_call_progress",
    "update_patient",
    "update_refill_request",
]

"""Building each call's dialog from the current flows, policy and clinic.

The factory owns the *current* FlowSet. A reload swaps it atomically: calls in progress
keep the version they started with; a broken edit is refused and the last good version
keeps serving.
"""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy.orm import Session

from voiceagent.clock import Clock, system_clock
from voiceagent.config import Settings
from voiceagent.dialog.actions import ACTIONS
from voiceagent.dialog.clinic import ClinicInfo
from voiceagent.dialog.engine import GREETING, EngineServices, FlowDialog
from voiceagent.dialog.loader import FlowSet, load_flows
from voiceagent.dialog.versions import files_stamp, validate_dialogs
from voiceagent.handoff.desk import HandoffDesk
from voiceagent.handoff.loader import load_policy
from voiceagent.handoff.policy import PolicyEngine
from voiceagent.logs import get_logger
from voiceagent.store import Actor, Database
from voiceagent.store.repos import calls as call_repo
from voiceagent.store.repos import patients as patient_repo
from voiceagent.understanding.nlu import Understanding
from voiceagent.yamlsource import Problem

log = get_logger(__name__)


class FlowDialogFactory:
    def __init__(
        self,
        db: Database,
        dialogs_dir: Path,
        *,
        clock: Clock = system_clock,
    ) -> None:
        self._db = db
        self.dialogs_dir = dialogs_dir
        self._clock = clock
        self._lock = threading.Lock()
        self.desk = HandoffDesk(db, clock)  # one inbox per process: deferred writes outlive reloads
        with db.session() as session:
            self._clinic = ClinicInfo.load(session)
        # Taken before reading, so an edit made while loading shows as a newer stamp.
        self.files_stamp = files_stamp(dialogs_dir)
        self._services = self._build(load_flows(dialogs_dir, ACTIONS.names))

    @property
    def front_desk(self) -> str:
        return self._clinic.front_desk

    @property
    def clinic_name(self) -> str:
        return self._clinic.name

    @property
    def flows(self) -> FlowSet:
        return self._services.flows

    @property
    def services(self) -> EngineServices:
        return self._services

    def _build(self, flows: FlowSet) -> EngineServices:
        return EngineServices(
            db=self._db,
            flows=flows,
            nlu=_understanding(flows, self._clinic.timezone.key),
            policy=PolicyEngine(
                load_policy(self.dialogs_dir / "policy.yaml"),
                clinic_name=self._clinic.name,
                hours=self._clinic.hours,
            ),
            actions=ACTIONS,
            desk=self.desk,
            clock=self._clock,
        )

    def reload(self) -> list[Problem]:
        """Load the dialogs files (flows, patterns, policy) again; on any problem keep
        serving the current version."""
        self.files_stamp = files_stamp(self.dialogs_dir)
        problems = validate_dialogs(self.dialogs_dir)
        if problems:
            log.error("flows_rejected", problems=len(problems), first=str(problems[0]))
            return problems
        flows = load_flows(self.dialogs_dir, ACTIONS.names)
        services = self._build(flows)
        with self._lock:
            changed = services.flows.fingerprint != self._services.flows.fingerprint
            self._services = services
        if changed:
            log.info("flows_reloaded", fingerprint=flows.fingerprint, flows=len(flows.flows))
        return []

    def new_dialog(self, call_sid: str) -> FlowDialog:
        def work(session: Session) -> tuple[str | None, ClinicInfo, list[str]]:
            actor = Actor.agent(call_sid)
            caller = call_repo.caller_number_for(session, actor, call_sid)
            return caller, ClinicInfo.load(session), _names_on_number(session, actor, caller)

        caller, clinic, names = self._db.run(work)
        return FlowDialog(
            self._services,
            call_sid=call_sid,
            caller_number=caller,
            clinic=clinic,
            name_hints=names,
        )

    def fixed_phrases(self) -> list[str]:
        return [GREETING.format(clinic=self._clinic.name), *self._services.flows.fixed_prompts()]


def _names_on_number(session: Session, actor: Actor, caller: str | None) -> list[str]:
    """Names of the patients whose phone is the caller ID: words for ASR to listen for when
    the caller gives their name (a hint for hearing it right, never proof of who it is)."""
    if not caller:
        return []
    patients = patient_repo.find_patients(session, actor, phone=caller, limit=5)
    return [f"{p.first_name} {p.last_name}" for p in patients]


_TRAINED: dict[tuple[str, str], Understanding] = {}


def _understanding(flows: FlowSet, timezone: str) -> Understanding:
    """Training takes a fraction of a second; do it once per version of the flows."""
    key = (flows.fingerprint, timezone)
    if key not in _TRAINED:
        _TRAINED.clear()  # only the current version is ever needed again
        _TRAINED[key] = Understanding(flows.training_set(), timezone)
    return _TRAINED[key]


def build_dialog_factory(settings: Settings, db: Database, *, clock: Clock) -> FlowDialogFactory:
    return FlowDialogFactory(db, settings.dialogs_dir, clock=clock)

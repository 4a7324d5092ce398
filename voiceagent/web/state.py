"""What the staff pages and the API share in one process: settings, templates, the live
queue, and the clinic's time zone and hours (for showing times and counting after-hours
calls)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import jinja2
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from voiceagent.config import Settings
from voiceagent.handoff.hours import ClinicHours
from voiceagent.store.repos.clinic import get_clinic
from voiceagent.web.kpis import Counts
from voiceagent.web.kpis import counts as open_work
from voiceagent.web.sessions import SessionPolicy

if TYPE_CHECKING:
    from voiceagent.runtime import Runtime
    from voiceagent.store import Database
    from voiceagent.web.live import LiveQueue
    from voiceagent.web.sessions import Principal

WEB_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = WEB_DIR / "templates"
STATIC_DIR = WEB_DIR / "static"
STATIC_PREFIX = "/staff/static"

# Short messages shown after a form posts and redirects (?msg=...): codes in the URL,
# never anything about a patient.
MESSAGES: dict[str, tuple[str, str]] = {
    "claimed": ("ok", "You claimed the call. The caller is being connected to the front desk."),
    "taken": ("warn", "Someone else already claimed that call."),
    "transfer_done": ("ok", "Marked done."),
    "already_done": ("warn", "That item was already closed."),
    "callback_done": ("ok", "Callback marked done."),
    "refill_saved": ("ok", "Refill request updated."),
    "insurance_saved": ("ok", "Insurance change recorded."),
    "saved": ("ok", "Saved and live: new calls use this version."),
    "rolled_back": ("ok", "Rolled back: the earlier text is live again (kept as a new version)."),
    "user_created": ("ok", "Account created."),
    "user_updated": ("ok", "Account updated."),
    "password_set": ("ok", "Password changed; that account's sessions were signed out."),
    "token_revoked": ("ok", "Token revoked."),
    "not_found": ("warn", "That item no longer exists."),
    "logged_out": ("ok", "You are signed out."),
    "expired": ("warn", "You were signed out after a period of inactivity. Please sign in again."),
}


@dataclass(frozen=True)
class ClinicView:
    name: str
    zone: ZoneInfo
    hours: ClinicHours


class WebState:
    def __init__(self, app: FastAPI, settings: Settings) -> None:
        self._app = app
        self.settings = settings
        self.policy = SessionPolicy.from_settings(settings)
        self.templates = _templates(self)
        self.live: LiveQueue | None = None
        self._clinic: ClinicView | None = None

    @property
    def runtime(self) -> Runtime:
        return self._app.state.runtime  # type: ignore[no-any-return]

    @property
    def db(self) -> Database:
        return self.runtime.db

    def now(self) -> datetime:
        """The runtime's clock: sessions, sign-in windows and "today" follow it."""
        return self.runtime.clock()

    def clinic(self) -> ClinicView:
        """The clinic's name, zone and hours (read once; they change only with a re-seed)."""
        if self._clinic is None:
            with self.db.session() as session:
                clinic = get_clinic(session)
                self._clinic = ClinicView(
                    name=clinic.name,
                    zone=ZoneInfo(clinic.timezone),
                    hours=ClinicHours.from_config(
                        clinic.hours or {}, clinic.holidays or (), clinic.timezone
                    ),
                )
        return self._clinic

    def counts(self) -> Counts:
        """Open work for the navigation badges (counts only: nothing to audit)."""
        with self.db.session() as session:
            return open_work(session)

    def page(
        self,
        request: Request,
        template: str,
        principal: Principal | None = None,
        *,
        status_code: int = 200,
        **context: Any,
    ) -> HTMLResponse:
        message = MESSAGES.get(request.query_params.get("msg", ""))
        counts = self.counts() if principal is not None else None
        return self.templates.TemplateResponse(
            request,
            template,
            {
                "user": principal,
                "csrf_token": principal.csrf_token if principal else None,
                "message": message,
                "clinic_name": self.clinic().name,
                "path": request.url.path,
                "counts": counts.as_dict() if counts else {},
                **context,
            },
            status_code=status_code,
        )


def web_state(request: Request) -> WebState:
    return request.app.state.web  # type: ignore[no-any-return]


def _static_version() -> str:
    digest = hashlib.sha256()
    for path in sorted(STATIC_DIR.rglob("*")):
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


def _templates(web: WebState) -> Jinja2Templates:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    version = _static_version()

    def when(value: datetime | None, fmt: str = "%a %b %d, %I:%M %p") -> str:
        if value is None:
            return ""
        return value.astimezone(web.clinic().zone).strftime(fmt)

    def iso(value: datetime | None) -> str:
        return value.isoformat() if value else ""

    def who(label: str | None) -> str:
        return (label or "").split(":", 1)[-1]

    def words(code: str | None) -> str:
        return (code or "").replace("_", " ")

    env.filters.update(when=when, iso=iso, who=who, words=words)
    env.globals["static"] = lambda name: f"{STATIC_PREFIX}/{name}?v={version}"
    return Jinja2Templates(env=env)

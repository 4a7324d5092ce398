"""The clinic as flows see it: reference data only, no patient data."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from voiceagent.handoff.hours import ClinicHours
from voiceagent.store.repos import clinic as clinic_repo

_SPOKEN_DIGIT = dict(
    zip(
        "0123456789",
        ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"],
        strict=True,
    )
)


def spoken_phone(e164: str | None) -> str:
    """+15557654399 -> "555, 765, 4399" read as digits, the way people say numbers."""
    if not e164:
        return ""
    digits = [d for d in e164 if d.isdigit()]
    if len(digits) == 11 and digits[0] == "1":
        digits = digits[1:]
    groups = ["".join(digits[:3]), "".join(digits[3:6]), "".join(digits[6:])]
    return ", ".join(" ".join(g) for g in groups if g)


# Carriers callers commonly name, so "do you take Humana" is understood (and answered "no")
# even when the clinic does not accept it.
COMMON_CARRIERS = (
    "Aetna", "Ambetter", "Anthem", "Blue Cross Blue Shield", "Cigna", "Humana",
    "Kaiser Permanente", "Medicaid", "Medicare", "Molina", "Oscar", "Tricare",
    "UnitedHealthcare", "WellCare", "Highmark", "Health Net",
)  # fmt: skip

# What callers call a plan, curated: whether a plan is accepted is decided only by its exact
# name or one of these, never by a near spelling (Medicaid is not Medicare).
CARRIER_ALIASES: dict[str, tuple[str, ...]] = {
    "Blue Cross Blue Shield": ("BCBS", "Blue Cross", "Blue Shield", "Blue Cross and Blue Shield"),
    "UnitedHealthcare": (
        "UHC",
        "United Healthcare",
        "United Health Care",
        "United",
        "UnitedHealth",
    ),
    "Kaiser Permanente": ("Kaiser",),
    "Tricare": ("TRICARE", "Tri Care"),
    "Health Net": ("HealthNet",),
    "WellCare": ("Well Care",),
}


def carrier_key(name: str) -> str:
    """A plan's name compared exactly: case, spaces and punctuation aside."""
    return "".join(ch for ch in name.casefold() if ch.isalnum())


def canonical_carrier(name: str) -> str:
    """The plan a name or curated alias stands for (the name itself when unknown)."""
    key = carrier_key(name)
    for carrier, aliases in CARRIER_ALIASES.items():
        if key in {carrier_key(carrier), *map(carrier_key, aliases)}:
            return carrier
    return name


@dataclass(frozen=True)
class ClinicInfo:
    name: str
    timezone: ZoneInfo
    phone: str
    front_desk: str
    address: str
    parking: str
    fax: str
    refill_turnaround: str
    insurance_accepted: tuple[str, ...]
    holidays: tuple[str, ...]
    hours: ClinicHours
    providers: tuple[dict[str, object], ...] = field(default_factory=tuple)
    appointment_types: tuple[dict[str, object], ...] = field(default_factory=tuple)
    pharmacies: tuple[dict[str, object], ...] = field(default_factory=tuple)

    @property
    def known_carriers(self) -> list[dict[str, object]]:
        names = dict.fromkeys([*self.insurance_accepted, *COMMON_CARRIERS])
        return [
            {"name": name, "aliases": list(CARRIER_ALIASES.get(canonical_carrier(name), ()))}
            for name in names
        ]

    def accepts(self, carrier: str) -> bool:
        """Whether the clinic takes this plan: its exact name or a curated alias."""
        wanted = carrier_key(canonical_carrier(carrier))
        return any(
            carrier_key(canonical_carrier(accepted)) == wanted
            for accepted in self.insurance_accepted
        )

    @property
    def fax_spoken(self) -> str:
        return spoken_phone(self.fax)

    @property
    def phone_spoken(self) -> str:
        return spoken_phone(self.phone)

    @classmethod
    def load(cls, session: Session) -> ClinicInfo:
        row = clinic_repo.get_clinic(session)
        hours = ClinicHours.from_clinic(
            {"hours": row.hours, "holidays": row.holidays, "timezone": row.timezone}
        )
        providers = tuple(
            {
                "id": p.id,
                "name": p.name,
                "aliases": provider_aliases(p.name),
                "appointment_types": [t.id for t in p.appointment_types],
            }
            for p in clinic_repo.list_providers(session)
        )
        types = tuple(
            {
                "id": t.id,
                "name": t.name,
                "minutes": t.minutes,
                "aliases": list(getattr(t, "aliases", None) or []),
            }
            for t in clinic_repo.list_appointment_types(session)
        )
        pharmacies = tuple(
            {"id": p.id, "name": p.name} for p in clinic_repo.list_pharmacies(session)
        )
        return cls(
            name=row.name,
            timezone=ZoneInfo(row.timezone),
            phone=row.phone,
            front_desk=row.front_desk,
            address=row.address or "",
            parking=row.parking or "",
            fax=row.fax or "",
            refill_turnaround=row.refill_turnaround or "a few business days",
            insurance_accepted=tuple(row.insurance_accepted or ()),
            holidays=tuple(row.holidays or ()),
            hours=hours,
            providers=providers,
            appointment_types=types,
            pharmacies=pharmacies,
        )


def provider_aliases(name: str) -> list[str]:
    """How callers name a provider: "Dr. Anita Patel" -> "doctor Patel", "Patel", "Anita"."""
    words = [w for w in name.replace(".", "").split() if w.lower() not in ("dr", "np", "pa", "md")]
    if not words:
        return []
    last = words[-1]
    title = "doctor" if name.lower().startswith("dr") else "nurse"
    return sorted({f"{title} {last}", last, words[0], f"{words[0]} {last}"})


# What flow templates may read off ``clinic`` (checked when flows are validated).
CLINIC_ATTRIBUTES = frozenset(
    {f.name for f in fields(ClinicInfo)}
    | {name for name, value in vars(ClinicInfo).items() if isinstance(value, property)}
)

"""Who is acting: recorded with every audit entry."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ActorType = Literal["agent", "staff", "api", "system"]


@dataclass(frozen=True, slots=True)
class Actor:
    type: ActorType
    id: str

    @classmethod
    def agent(cls, call_sid: str) -> Actor:
        """The phone agent, acting within one call."""
        return cls("agent", call_sid)

    @classmethod
    def staff(cls, user: str) -> Actor:
        return cls("staff", user)

    @classmethod
    def api(cls, token_id: str) -> Actor:
        return cls("api", token_id)

    @classmethod
    def system(cls, name: str) -> Actor:
        """Maintenance jobs: seeding, rotation, retention."""
        return cls("system", name)

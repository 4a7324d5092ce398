"""One object the dialog engine holds: the trained intent model plus the entity parsers.

Training takes a fraction of a second but should still happen once per process, so
:func:`get_understanding` caches per dialogs directory; the engine calls it at start-up
and again (with ``reload=True``) when admins change the flow files.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from voiceagent.logs import get_logger
from voiceagent.understanding import entities
from voiceagent.understanding.intents import IntentClassifier, IntentResult
from voiceagent.understanding.training import TrainingSet, load_training_set

log = get_logger(__name__)
DEFAULT_DIALOGS_DIR = Path(__file__).resolve().parents[2] / "dialogs"


class Understanding:
    """Intent classification and entity extraction for one clinic."""

    def __init__(self, training_set: TrainingSet, timezone: str = "America/New_York") -> None:
        self.training_set = training_set
        self.timezone = ZoneInfo(timezone)
        self.classifier = IntentClassifier.train(training_set)
        log.info(
            "understanding.trained",
            intents=len(training_set.intents),
            examples=sum(len(v) for v in training_set.intents.values()),
            out_of_scope_examples=len(training_set.out_of_scope),
        )

    @classmethod
    def from_dir(cls, dialogs_dir: Path, timezone: str = "America/New_York") -> Understanding:
        return cls(load_training_set(dialogs_dir), timezone)

    def classify(self, text: str) -> IntentResult:
        return self.classifier.classify(text)

    # Entity parsers, bound to this clinic's timezone where it matters.
    def yes_no(self, text: str) -> entities.YesNo | None:
        return entities.parse_yes_no(text)

    def time_preference(self, text: str, now: datetime) -> entities.TimePreference | None:
        return entities.parse_time_preference(text, now, self.timezone)

    def date_of_birth(self, text: str, today: date) -> date | None:
        return entities.parse_date_of_birth(text, today)

    def digits(self, text: str) -> str | None:
        return entities.parse_digits(text)

    def phone(self, text: str, region: str = "US") -> str | None:
        return entities.parse_phone(text, region)

    def member_id(self, text: str) -> str | None:
        return entities.parse_member_id(text)

    def person_name(self, text: str) -> entities.PersonName | None:
        return entities.parse_person_name(text)

    def choice(self, text: str, options: Sequence[entities.Option]) -> int | None:
        return entities.parse_choice(text, options)

    def resolve(
        self,
        text: str,
        candidates: Sequence[str],
        aliases: Mapping[str, Iterable[str]] | None = None,
    ) -> entities.Match | None:
        return entities.resolve(text, candidates, aliases)

    def hotwords_for(self, kind: str, candidates: Iterable[str] = ()) -> list[str]:
        return entities.hotwords_for(kind, candidates)


@lru_cache(maxsize=8)
def _cached(dialogs_dir: Path, timezone: str) -> Understanding:
    return Understanding.from_dir(dialogs_dir, timezone)


def get_understanding(
    dialogs_dir: Path | None = None, timezone: str = "America/New_York", *, reload: bool = False
) -> Understanding:
    """The process-wide :class:`Understanding` for a dialogs directory."""
    key = Path(dialogs_dir or DEFAULT_DIALOGS_DIR).resolve()
    if reload:
        _cached.cache_clear()
    return _cached(key, timezone)

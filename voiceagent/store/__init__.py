"""The encrypted patient store.

Entry points::

    from voiceagent.store import Actor, Database, load_keyring, repos
    db = Database(settings.database_url, load_keyring(settings.keyring))
    db.migrate()                      # alembic upgrade head
    with db.session() as session:     # one unit of work; commits (and audits) on success
        found = repos.find_patients(session, Actor.agent(call_sid), last_name=..., dob=...)

Names are imported lazily so that ``voiceagent --help`` does not load SQLAlchemy.
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any

# Alembic narrates plugin set-up and context creation at INFO on import and on every call;
# the store reports what matters (the revision reached) itself. Set before alembic loads.
logging.getLogger("alembic").setLevel(logging.WARNING)

_EXPORTS = {
    "Actor": "voiceagent.store.actor",
    "Database": "voiceagent.store.db",
    "DecryptionError": "voiceagent.store.errors",
    "FixtureError": "voiceagent.store.errors",
    "InvalidTransition": "voiceagent.store.errors",
    "KeyringError": "voiceagent.store.errors",
    "MissingKeyError": "voiceagent.store.errors",
    "NotFound": "voiceagent.store.errors",
    "SchemaNotReady": "voiceagent.store.errors",
    "SlotTaken": "voiceagent.store.errors",
    "SlotUnavailable": "voiceagent.store.errors",
    "StoreError": "voiceagent.store.errors",
    "Keyring": "voiceagent.store.keyring",
    "ensure_dev_keyring": "voiceagent.store.keyring",
    "generate_keyring": "voiceagent.store.keyring",
    "load_keyring": "voiceagent.store.keyring",
}
__all__ = [
    "Actor",
    "Database",
    "DecryptionError",
    "FixtureError",
    "InvalidTransition",
    "Keyring",
    "KeyringError",
    "MissingKeyError",
    "NotFound",
    "SchemaNotReady",
    "SlotTaken",
    "SlotUnavailable",
    "StoreError",
    "ensure_dev_keyring",
    "generate_keyring",
    "load_keyring",
]

if TYPE_CHECKING:
    from voiceagent.store.actor import Actor
    from voiceagent.store.db import Database
    from voiceagent.store.errors import (
        DecryptionError,
        FixtureError,
        InvalidTransition,
        KeyringError,
        MissingKeyError,
        NotFound,
        SchemaNotReady,
        SlotTaken,
        SlotUnavailable,
        StoreError,
    )
    from voiceagent.store.keyring import (
        Keyring,
        ensure_dev_keyring,
        generate_keyring,
        load_keyring,
    )


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'voiceagent.store' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)

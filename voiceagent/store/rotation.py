"""Key rotation: re-encrypt every value that is not under the keyring's active key.

Works table by table in batches; each batch is its own transaction, and each value is
updated only if it still holds the ciphertext that was read (a concurrent write by the
application is already under the active key and is left alone). Interrupting loses
nothing; running again resumes, because the next batch is simply "values whose envelope
does not start with the active key's prefix".
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Row, Table, and_, bindparam, func, or_, select, update
from sqlalchemy.orm import Session

from voiceagent.store import audit
from voiceagent.store.actor import Actor
from voiceagent.store.crypto import aad_for, envelope_key_id, key_prefix, open_envelope, seal
from voiceagent.store.db import Database
from voiceagent.store.encrypted import encrypted_fields
from voiceagent.store.keyring import Keyring
from voiceagent.store.models import Base

ROTATE_ACTOR = Actor.system("keys-rotate")


def encrypted_tables() -> dict[Table, list[str]]:
    """Every table with encrypted columns, and those columns' names."""
    found: dict[Table, list[str]] = {}
    for mapper in Base.registry.mappers:
        fields = encrypted_fields(mapper.class_)
        if fields:
            table = mapper.local_table
            assert isinstance(table, Table)
            found[table] = [f.name for f in fields]
    return dict(sorted(found.items(), key=lambda item: item[0].name))


@dataclass
class RotationReport:
    active: str
    rotated: Counter[str] = field(default_factory=Counter)  # per table
    batches: int = 0
    complete: bool = False

    @property
    def total(self) -> int:
        return sum(self.rotated.values())


def rotate_keys(
    db: Database,
    *,
    batch_size: int = 500,
    max_batches: int | None = None,
    progress: Callable[[str, int], None] | None = None,
) -> RotationReport:
    """Re-encrypt values under old keys with the active key; see the module docstring."""
    keyring = db.keyring
    prefix = key_prefix(keyring.active)
    report = RotationReport(active=keyring.active)
    for table, names in encrypted_tables().items():
        columns = [table.c[name] for name in names]
        stale = or_(
            *(and_(c.is_not(None), func.substr(c, 1, len(prefix)) != prefix) for c in columns)
        )
        while True:
            if max_batches is not None and report.batches >= max_batches:
                return report
            with db.session() as session:
                rows = session.execute(
                    select(table.c.id, *columns).where(stale).order_by(table.c.id).limit(batch_size)
                ).all()
                if not rows:
                    break
                count = _reencrypt(session, keyring, table, names, rows, prefix)
                audit.record(
                    session,
                    ROTATE_ACTOR,
                    "keys.rotate",
                    table.name,
                    None,
                    values=count,
                    to_key=keyring.active,
                )
            report.rotated[table.name] += count
            report.batches += 1
            if progress is not None:
                progress(table.name, count)
    report.complete = True
    return report


def _reencrypt(
    session: Session,
    keyring: Keyring,
    table: Table,
    names: list[str],
    rows: Sequence[Row[Any]],
    prefix: bytes,
) -> int:
    """Re-encrypt one batch: one executemany per set of stale columns; returns values."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        values = row._mapping
        stale = tuple(
            n for n in names if values[n] is not None and not bytes(values[n]).startswith(prefix)
        )
        params: dict[str, Any] = {"_id": row.id}
        for name in stale:
            where = aad_for(table.name, name, row.id)
            plaintext = open_envelope(keyring, bytes(values[name]), where)
            params[f"_old_{name}"] = values[name]
            params[f"_new_{name}"] = seal(keyring, plaintext, where)
        groups.setdefault(stale, []).append(params)
    count = 0
    for stale, params_list in groups.items():
        if not stale:
            continue
        # Only where the value is still the one we read: a concurrent write wins (it is
        # already under the active key).
        stmt = (
            update(table)
            .where(table.c.id == bindparam("_id"))
            .where(*(table.c[n] == bindparam(f"_old_{n}") for n in stale))
            .values({n: bindparam(f"_new_{n}") for n in stale})
        )
        if session.get_bind().dialect.supports_sane_multi_rowcount:
            count += session.execute(stmt, params_list).rowcount * len(stale)
        else:  # both shipped drivers report executemany row counts; others go row by row
            count += sum(session.execute(stmt, p).rowcount for p in params_list) * len(stale)
    return count


def count_values_by_key(db: Database) -> dict[str, Counter[str]]:
    """For each table: how many encrypted values are under each key id."""
    counts: dict[str, Counter[str]] = {}
    with db.session() as session:
        for table, names in encrypted_tables().items():
            tally: Counter[str] = Counter()
            for name in names:
                column = table.c[name]
                for (value,) in session.execute(
                    select(column).where(column.is_not(None)), execution_options={"yield_per": 2000}
                ):
                    tally[envelope_key_id(bytes(value), f"{table.name}.{name}")] += 1
            counts[table.name] = tally
    return counts


def verify_decryptable(db: Database) -> int:
    """Decrypt every encrypted value (raising on the first failure); returns how many."""
    keyring = db.keyring
    total = 0
    with db.session() as session:
        for table, names in encrypted_tables().items():
            columns = [table.c[name] for name in names]
            for row in session.execute(
                select(table.c.id, *columns), execution_options={"yield_per": 2000}
            ):
                for name in names:
                    value = row._mapping[name]
                    if value is not None:
                        open_envelope(keyring, bytes(value), aad_for(table.name, name, row.id))
                        total += 1
    return total

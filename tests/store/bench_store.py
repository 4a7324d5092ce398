"""Store timings on this machine; prints numbers, asserts nothing.

Run: .venv/bin/python tests/store/bench_store.py [--extra-patients N]
With VOICEAGENT_TEST_POSTGRES_URL set, PostgreSQL is measured too (in a scratch schema).
(Not collected by pytest: speed belongs in benchmarks, not in unit tests.)
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import TypeVar

import psycopg
from sqlalchemy.engine import URL, make_url

from voiceagent.config import REPO_ROOT
from voiceagent.logs import configure_logging
from voiceagent.store import audit
from voiceagent.store.actor import Actor
from voiceagent.store.db import Database
from voiceagent.store.keyring import generate_keyring
from voiceagent.store.models import Patient
from voiceagent.store.rotation import count_values_by_key, rotate_keys
from voiceagent.store.seed import seed_file

DEMO = REPO_ROOT / "dialogs" / "demo-clinic.yaml"
T = TypeVar("T")


def timed(label: str, fn: Callable[[], T]) -> T:
    started = time.perf_counter()
    result = fn()
    print(f"  {label:<34} {time.perf_counter() - started:8.3f} s")
    return result


def databases() -> Iterator[tuple[str, URL]]:
    with tempfile.TemporaryDirectory() as tmp:
        yield "sqlite", make_url(f"sqlite:///{Path(tmp) / 'bench.db'}")
    pg = os.environ.get("VOICEAGENT_TEST_POSTGRES_URL")
    if not pg:
        return
    schema = f"bench_store_{uuid.uuid4().hex[:8]}"
    admin = make_url(pg).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield "postgresql", make_url(pg).update_query_dict({"options": f"-csearch_path={schema}"})
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def add_patients(db: Database, count: int, batch: int = 1000) -> None:
    actor = Actor.system("bench")

    for start in range(0, count, batch):
        with db.session() as s:
            for i in range(start, min(count, start + batch)):
                s.add(
                    Patient(
                        id=f"bench-{i}",
                        first_name=f"First{i}",
                        last_name=f"Last{i}",
                        dob=date(1950, 1, 1) + timedelta(days=i % 20000),
                        phone=f"+1555{3000000 + i:07d}",
                        address=f"{i} Bench Street",
                    )
                )
            audit.record(s, actor, "bench.patients", "patient", None, count=batch)


def bench(name: str, url: URL, extra: int) -> None:
    print(name)
    keyring = generate_keyring(key_id="bench-a")
    db = Database(url, keyring)
    timed("migrate (upgrade head)", db.migrate)
    report = timed("seed demo clinic (first run)", lambda: seed_file(db, DEMO))
    print(f"    {sum(report.created.values())} rows created")
    timed("seed demo clinic (second run)", lambda: seed_file(db, DEMO))
    if extra:
        timed(f"add {extra} synthetic patients", lambda: add_patients(db, extra))
    values = sum(sum(c.values()) for c in count_values_by_key(db).values())
    db.dispose()

    rotated_db = Database(url, keyring.with_new_key("bench-b"))
    result = timed("keys rotate (batch 500)", lambda: rotate_keys(rotated_db, batch_size=500))
    print(
        f"    {values} encrypted values; rotation re-encrypted {result.total} "
        f"in {result.batches} batches"
    )
    for table, count in sorted(result.rotated.items()):
        print(f"      {table:<28} {count}")
    rotated_db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--extra-patients", type=int, default=0)
    args = parser.parse_args()
    configure_logging("ERROR")
    for name, url in databases():
        bench(name, url, args.extra_patients)


if __name__ == "__main__":
    main()

"""The database handle: one engine, one session factory, a session per unit of work.

``Database`` is safe to share between threads (the web server calls the store from worker
threads); sessions are not: open one per unit of work with :meth:`Database.session`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from tenacity import Retrying, retry_if_exception, stop_after_delay, wait_exponential

from voiceagent.config import Settings, get_settings
from voiceagent.store import audit, migrate
from voiceagent.store.encrypted import KEYRING_INFO
from voiceagent.store.errors import SchemaNotReady
from voiceagent.store.keyring import Keyring, load_keyring

SQLITE_BUSY_TIMEOUT_MS = 15_000
RETRY_SECONDS = 8.0  # how long a unit of work keeps retrying a locked or unreachable database
T = TypeVar("T")


def is_transient(error: BaseException) -> bool:
    """A failure worth retrying: the database is locked, restarting or briefly unreachable
    (not a constraint violation or a bug, which would fail the same way again)."""
    if isinstance(error, OperationalError | InterfaceError):
        return True
    return isinstance(error, DBAPIError) and bool(error.connection_invalidated)


def normalize_url(url: str | URL) -> URL:
    """``postgresql://`` and ``postgres://`` mean psycopg 3 (the driver we ship)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def create_store_engine(
    url: str | URL, *, echo: bool = False, busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS
) -> Engine:
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed, echo=echo, busy_timeout_ms=busy_timeout_ms)
    # hide_parameters: SQL errors must not echo bound values into logs or tracebacks.
    return create_engine(parsed, echo=echo, hide_parameters=True, pool_pre_ping=True)


def _sqlite_engine(url: URL, *, echo: bool, busy_timeout_ms: int) -> Engine:
    database = url.database
    if database and database != ":memory:" and not database.startswith("file:"):
        path = Path(database).expanduser()
        path.parent.mkdir(parents=True, exist_ok=True)
        # Owner-only from the start (SQLite gives -wal/-shm the same mode): beyond the
        # ciphertexts, the file holds schedules and blind indexes.
        if not path.exists():
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    engine = create_engine(
        url,
        echo=echo,
        hide_parameters=True,
        connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # We emit BEGIN ourselves (below); sqlite3's implicit BEGIN would be DEFERRED.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Every unit of work writes (at least its audit entries). A deferred transaction
        # that reads and then writes can fail with SQLITE_BUSY instead of waiting when
        # another writer commits in between; IMMEDIATE takes the write lock up front, and
        # busy_timeout makes the others wait their turn.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


class Database:
    """Engine + session factory bound to a keyring."""

    def __init__(
        self,
        url: str | URL,
        keyring: Keyring,
        *,
        echo: bool = False,
        busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS,
        retry_seconds: float = RETRY_SECONDS,
    ) -> None:
        self.url = normalize_url(url)
        self.keyring = keyring
        self.retry_seconds = retry_seconds
        self.engine = create_store_engine(self.url, echo=echo, busy_timeout_ms=busy_timeout_ms)
        self._sessions = sessionmaker(
            self.engine, expire_on_commit=False, info={KEYRING_INFO: keyring}
        )
        audit.install(self._sessions)

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> Database:
        settings = settings or get_settings()
        return cls(settings.database_url, load_keyring(settings.keyring))

    @property
    def session_factory(self) -> sessionmaker[Session]:
        """For callers that manage the transaction themselves (sessions still audit)."""
        return self._sessions

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: commits on success (writing queued audit entries), rolls back
        on error. Never share the session across threads."""
        session = self._sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def run(self, work: Callable[[Session], T]) -> T:
        """One unit of work, retried with bounded backoff while the database is locked or
        unreachable. Each attempt is its own transaction, so a retry never half-applies;
        after ``retry_seconds`` the last error is raised."""
        retrying = Retrying(
            retry=retry_if_exception(is_transient),
            wait=wait_exponential(multiplier=0.05, max=1.0),
            stop=stop_after_delay(self.retry_seconds),
            reraise=True,
        )
        for attempt in retrying:
            with attempt, self.session() as session:
                return work(session)
        raise AssertionError("unreachable: tenacity reraises the last error")

    # --- schema ----------------------------------------------------------------------
    def migrate(self, revision: str = "head") -> None:
        migrate.upgrade(self.engine, revision)

    def downgrade(self, revision: str) -> None:
        migrate.downgrade(self.engine, revision)

    def current_revision(self) -> str | None:
        return migrate.current_revision(self.engine)

    def check_schema(self) -> None:
        current, head = self.current_revision(), migrate.head_revision()
        if current != head:
            raise SchemaNotReady(
                f"the database is at migration {current or 'none'}, this code needs {head}: "
                "run `voiceagent migrate`"
            )

    def dispose(self) -> None:
        self.engine.dispose()

"""Alembic environment.

Programmatic runs (``voiceagent migrate``, ``Database.migrate()``) pass an open connection
in ``config.attributes["connection"]``. Running ``alembic`` by hand uses the store engine
for ``VOICEAGENT_DATABASE_URL``.
"""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from sqlalchemy.engine import Connection

from voiceagent.store.models import Base

config = context.config
target_metadata = Base.metadata


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds tables instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_offline() -> None:
    from voiceagent.config import get_settings
    from voiceagent.store.db import normalize_url

    context.configure(
        url=normalize_url(get_settings().database_url),
        target_metadata=target_metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        return
    from voiceagent.config import get_settings
    from voiceagent.store.db import create_store_engine

    if config.config_file_name:
        fileConfig(config.config_file_name, disable_existing_loggers=False)
    engine = create_store_engine(get_settings().database_url)
    with engine.begin() as conn:
        _configure(conn)
    engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()

"""Cross-process locks in the database itself, so several daemons can share one.

PostgreSQL advisory locks name the critical sections: the processing of new
articles into stories and incidents (one writer at a time, so two daemons never
open two incidents for one event), and singleton jobs (one daemon sends a
notifier's messages, reports failed deliveries, flushes batched updates). A
daemon that dies loses its connection and with it its locks: nobody waits on a
corpse. SQLite needs none of this: ``BEGIN IMMEDIATE`` already serializes
writers, and one daemon per database file is enforced by a lock file.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session


def is_postgres(bind: Engine | Connection | Session) -> bool:
    engine = bind.get_bind() if isinstance(bind, Session) else bind
    return engine.dialect.name == "postgresql"


def lock_key(name: str, namespace: str) -> int:
    """A signed 64-bit key; the schema is part of it so two schemas never contend."""
    digest = hashlib.blake2b(f"{namespace}/cfwatch/{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _namespace(connection: Connection) -> str:
    """The database and schema, asked once per pooled connection (``info`` lives with it)."""
    namespace = connection.info.get("cfwatch_namespace")
    if namespace is None:
        namespace = str(connection.execute(text("SELECT current_database() || '.' || current_schema()")).scalar())
        connection.info["cfwatch_namespace"] = namespace
    return namespace


def hold_for_transaction(session: Session, name: str) -> None:
    """Wait for lock ``name`` until the session's transaction ends (PostgreSQL only)."""
    if not is_postgres(session):
        return
    connection = session.connection()
    session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_key(name, _namespace(connection))})


@contextmanager
def singleton(engine: Engine, name: str) -> Iterator[bool]:
    """Yield True when this process may run job ``name`` now, False when another one is.

    On PostgreSQL a session-level advisory lock is held on a connection of its own for
    the whole block, so the job's own short transactions commit as usual.
    """
    if engine.dialect.name != "postgresql":
        yield True
        return
    with engine.connect() as connection:
        key = lock_key(name, _namespace(connection))
        got = bool(connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar())
        connection.commit()
        try:
            yield got
        finally:
            if got:
                connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                connection.commit()


@contextmanager
def exclusive(engine: Engine, name: str) -> Iterator[None]:
    """Wait for lock ``name`` and hold it for the block (migrations at start)."""
    if engine.dialect.name != "postgresql":
        yield
        return
    with engine.connect() as connection:
        key = lock_key(name, _namespace(connection))
        connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
        connection.commit()
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
            connection.commit()

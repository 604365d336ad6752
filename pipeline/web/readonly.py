"""A read-only connection to the daemon's database, and whether its schema is current.

The web process must never change what the daemon relies on, so it neither migrates
(``pipeline.app.open_database`` would) nor writes:

- SQLite is opened as ``file:...?mode=ro``: SQLite itself refuses every write. Reads
  use plain deferred transactions, not the daemon's ``BEGIN IMMEDIATE`` (that takes the
  write lock and would make the daemon's writers queue behind page views); with WAL,
  readers see a consistent snapshot and never block the writer.
- PostgreSQL sessions start with ``default_transaction_read_only``, so a stray write
  fails in the database instead of landing.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from pipeline.db import MIGRATIONS, make_engine


def readonly_engine(url: str) -> Engine:
    """An engine for ``url`` (already resolved, as pipeline.app.database_url gives it) that cannot write."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        engine = make_engine(url)

        @event.listens_for(engine, "connect")
        def _read_only(dbapi_conn: Any, _record: Any) -> None:
            with dbapi_conn.cursor() as cursor:
                cursor.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
            dbapi_conn.commit()

        return engine
    database = parsed.database or ""
    if database in ("", ":memory:"):
        raise ValueError("the web pages need the daemon's database file, not an in-memory database")
    uri = f"file:{quote(str(Path(database).resolve()))}?mode=ro"
    # The file URL keeps SQLAlchemy's file pool (a bounded queue); the creator opens it read-only.
    engine = create_engine(parsed.set(database=str(Path(database).resolve())), creator=lambda: _sqlite_connect(uri))

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.execute("PRAGMA busy_timeout=5000")  # wait out a checkpoint, not 30 s as the daemon does

    return engine


def _sqlite_connect(uri: str) -> Any:
    import sqlite3

    return sqlite3.connect(uri, uri=True, check_same_thread=False, timeout=5)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@cache
def head_revisions() -> frozenset[str]:
    """The newest migration(s) this code knows (read from the migration scripts once)."""
    from alembic.script import ScriptDirectory

    return frozenset(ScriptDirectory(str(MIGRATIONS)).get_heads())


@dataclass(frozen=True)
class SchemaState:
    current: str | None
    heads: frozenset[str]

    @property
    def at_head(self) -> bool:
        return self.current in self.heads

    def describe(self) -> str:
        if self.at_head:
            return "at head"
        if self.current is None:
            return "not created yet: run `cfwatch init` or start the daemon"
        newest = ", ".join(sorted(self.heads))
        return (f"revision {self.current}, this code expects {newest}: start the daemon "
                f"(it migrates) or run the cfwatch version that matches the database")


def schema_state(session: Session) -> SchemaState:
    """Where the database's migrations are; reading alembic's table never creates it."""
    try:
        current = session.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except Exception:  # no table: a database nothing has migrated yet
        session.rollback()
        current = None
    return SchemaState(current, head_revisions())

"""Engine creation and schema migration.

SQLite gets WAL, a busy timeout and ``BEGIN IMMEDIATE`` for every transaction:
pysqlite's default deferred transactions lose concurrent read-modify-write updates
and plain ``BEGIN`` fails with "database is locked"; taking the write lock up front
with a busy timeout makes concurrent writers wait their turn instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

MIGRATIONS = Path(__file__).with_name("migrations")


def resolve_url(url: str, base_dir: Path) -> str:
    """Make a relative SQLite path relative to the config file, not the cwd."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        path = Path(parsed.database).expanduser()
        if not path.is_absolute():
            path = base_dir / path
        return parsed.set(database=str(path)).render_as_string(hide_password=False)
    return url


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        # Pollers, senders, the dispatcher and the heartbeat each hold a connection at
        # times; singleton locks hold one for a whole job. No pre-ping: it costs a round
        # trip per transaction (a quarter of a warm poll's time, measured). After a
        # database restart each pooled connection fails once, the pool drops it, and the
        # poll or send that met it is retried as any database error is.
        return create_engine(url, pool_size=10, max_overflow=20, pool_recycle=3600)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
    _sqlite_transactions(engine)
    return engine


def _sqlite_transactions(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's begin event, not pysqlite, decide when transactions start.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        # IMMEDIATE: a transaction that reads and then writes takes the write lock at
        # once, instead of failing to upgrade when another writer got there first. A
        # reader (``reading``) starts a deferred one: in WAL it waits for no writer.
        conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(_READ_ONLY) else "BEGIN IMMEDIATE")


_READ_ONLY = "cfwatch_read_only"


def reading(engine: Engine) -> Engine:
    """The same engine and pool, for transactions that only read.

    On SQLite they do not take the write lock (see ``_begin``): a poll's "already
    stored?" lookup, made before its rules run, does not wait for other polls' writes
    (with 8 polling threads on a cold start that wait was a sixth of the time).
    Other databases are unaffected."""
    return engine.execution_options(**{_READ_ONLY: True})


def head_revision() -> str:
    """The newest migration's revision id (files are named ``NNNN_what.py``, id ``NNNN``)."""
    return max(p.name.split("_", 1)[0] for p in (MIGRATIONS / "versions").glob("[0-9]*_*.py"))


def at_head(engine: Engine) -> bool:
    """Is the schema current? Read without importing Alembic (about 10 MB of a daemon's memory)."""
    with engine.connect() as connection:
        try:
            stored = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        except SQLAlchemyError:  # no table yet: a new database
            return False
    return stored == [head_revision()]


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (idempotent; runs at every start).

    Daemons started together on one PostgreSQL take turns (an advisory lock): the
    first migrates, the others find the schema at head.
    """
    if at_head(engine):
        return
    from alembic import command
    from alembic.config import Config as AlembicConfig

    from pipeline.locks import exclusive

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with exclusive(engine, "migrate"), engine.connect() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")
        connection.commit()

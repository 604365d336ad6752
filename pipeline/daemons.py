"""Who is running: each daemon (and ``poll --once``) registers and heartbeats.

A row per process with its host, pid and last heartbeat lets ``cfwatch status`` show
the fleet, and lets a daemon tell a claim left by a dead process (no heartbeat for
``DEAD_AFTER``) from one a live process is still working on. The heartbeat also
renews the process's feed leases, so a long poll keeps its feed while a dead
daemon's feeds come free within one lease period.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from pipeline.logfmt import log_event
from pipeline.models import Daemon, Feed

log = logging.getLogger("cfwatch.daemons")

HEARTBEAT = timedelta(seconds=5)
DEAD_AFTER = timedelta(seconds=30)  # six missed heartbeats


@dataclass(frozen=True)
class Identity:
    id: str
    host: str
    pid: int
    role: str

    @classmethod
    def new(cls, role: str) -> Identity:
        host = socket.gethostname()[:150]
        pid = os.getpid()
        # The random part tells apart two processes that reuse a pid after a restart.
        return cls(f"{host[:40]}:{pid}:{secrets.token_hex(4)}", host, pid, role)


def register(session: Session, me: Identity, now: datetime) -> None:
    session.add(Daemon(id=me.id, host=me.host, pid=me.pid, role=me.role, started_at=now, heartbeat_at=now))


def beat(session: Session, me: Identity, now: datetime, lease: timedelta) -> None:
    """Heartbeat, and renew the leases of the feeds this process is polling now."""
    found = session.execute(update(Daemon).where(Daemon.id == me.id).values(heartbeat_at=now, stopped_at=None))
    if not found.rowcount:  # the row was cleaned away by hand: come back
        register(session, me, now)
    session.execute(update(Feed).where(Feed.lease_owner == me.id).values(lease_until=now + lease))


def stopped(session: Session, me: Identity, now: datetime) -> None:
    """A clean stop: release this process's leases so others need not wait them out."""
    session.execute(update(Daemon).where(Daemon.id == me.id).values(stopped_at=now, heartbeat_at=now))
    session.execute(update(Feed).where(Feed.lease_owner == me.id).values(lease_owner=None, lease_until=None))


def alive(session: Session, now: datetime) -> set[str]:
    """Processes that heartbeat; one on this host whose pid has exited is dead at once.

    The pid check lets a daemon restarted after a crash settle its predecessor's claims
    without waiting out ``DEAD_AFTER``; a reused pid only means waiting, never a repeat.
    """
    rows = session.execute(select(Daemon.id, Daemon.host, Daemon.pid).where(
        Daemon.stopped_at.is_(None), Daemon.heartbeat_at >= now - DEAD_AFTER))
    here = socket.gethostname()[:150]
    return {i for i, host, pid in rows if host != here or _running(pid)}


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, under another user
        return True
    return True


def end_others(session: Session, me: Identity, now: datetime) -> int:
    """Single-instance stores (SQLite with its lock file): every other process is gone."""
    return session.execute(update(Daemon).where(Daemon.id != me.id, Daemon.stopped_at.is_(None))
                           .values(stopped_at=now)).rowcount


def fleet(session: Session, now: datetime, recent: timedelta = timedelta(hours=1)) -> list[Daemon]:
    """Live daemons and those that stopped or died within ``recent``, newest first."""
    return list(session.scalars(select(Daemon).where(Daemon.heartbeat_at >= now - recent)
                                .order_by(Daemon.started_at.desc())))


class Heartbeat:
    """A thread that beats every ``HEARTBEAT`` until stopped; a failed beat is logged, not fatal."""

    def __init__(self, sessions: sessionmaker[Session], me: Identity, clock: Callable[[], datetime],
                 lease: timedelta, interval: float = HEARTBEAT.total_seconds()) -> None:
        self.sessions, self.me, self.clock, self.lease, self.interval = sessions, me, clock, lease, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)

    def start(self) -> Heartbeat:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                with self.sessions.begin() as session:
                    beat(session, self.me, self.clock(), self.lease)
            except Exception as exc:  # noqa: BLE001 (the database may be away for a while)
                log_event(log, logging.WARNING, "heartbeat_failed", error=f"{type(exc).__name__}: {exc}"[:300])

"""A bounded pool of idle keep-alive connections (used by pipeline.plainhttp).

Bounded per key and in total, least recently used evicted first, idle ones dropped
after ``idle_timeout``; thread-safe. A connection is anything with a ``key``, an
``idle_since`` the pool sets, ``looks_idle()`` (checked, outside the lock, before it
is handed out) and ``close()``. A forked child drops the idle connections it
inherited: they are the parent's connections too.
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, Generic, Protocol, TypeVar


class Pooled(Protocol):
    key: Hashable
    idle_since: float
    sock: Any

    def looks_idle(self) -> bool: ...

    def close(self) -> None: ...


C = TypeVar("C", bound=Pooled)
Key = Hashable


class Pool(Generic[C]):
    """Idle connections, bounded per key and in total, least recently used evicted first."""

    def __init__(self, per_key: int, total: int, idle_timeout: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.per_key, self.total, self.idle_timeout, self.clock = per_key, total, idle_timeout, clock
        self.lock = threading.Lock()
        self.idle: dict[Key, list[C]] = {}  # per key, most recently used last
        self.order: OrderedDict[C, None] = OrderedDict()  # all idle ones, oldest first
        self.closed = False
        POOLS.add(self)

    def forget_after_fork(self) -> None:
        """In a forked child: the idle sockets are the parent's connections too (two
        processes reading one connection would take each other's responses), and the
        lock may have been held by a thread that does not exist here."""
        self.lock = threading.Lock()
        conns = list(self.order)
        self.idle.clear()
        self.order.clear()
        for conn in conns:
            conn.sock.close()  # the child's descriptor only: no FIN while the parent holds it

    def take(self, key: Key) -> C | None:
        """The most recently used idle connection for ``key`` that still looks usable."""
        while True:
            with self.lock:
                doomed = self._evict(self.clock())
                conns = self.idle.get(key)
                conn = conns[-1] if conns else None
                if conn is not None:
                    self._forget(conn)
            for old in doomed:
                old.close()
            if conn is None:
                return None
            if conn.looks_idle():  # outside the lock: a syscall
                return conn
            conn.close()

    def give(self, conn: C) -> None:
        conn.idle_since = self.clock()
        with self.lock:
            if self.closed:
                doomed = [conn]
            else:
                self.idle.setdefault(conn.key, []).append(conn)
                self.order[conn] = None
                doomed = self._evict(conn.idle_since, conn.key)
        for old in doomed:  # closed outside the lock: close() is a syscall or two
            old.close()

    def close(self) -> None:
        with self.lock:
            self.closed = True
            doomed = list(self.order)
            self.idle.clear()
            self.order.clear()
        for conn in doomed:
            conn.close()

    def count(self, key: Key | None = None) -> int:
        with self.lock:
            return len(self.order) if key is None else len(self.idle.get(key, ()))

    def _evict(self, now: float, key: Key | None = None) -> list[C]:
        """Over a bound, or idle too long: out of the pool (the caller closes them).

        Only ``key`` can have just gone over its bound; ``order`` is oldest first, so
        this looks at a handful of entries, never the whole pool."""
        doomed = []
        while key is not None and len(self.idle.get(key, ())) > self.per_key:
            doomed.append(self.idle[key][0])
            self._forget(self.idle[key][0])
        while self.order:
            oldest = next(iter(self.order))
            if len(self.order) <= self.total and now - oldest.idle_since < self.idle_timeout:
                break
            doomed.append(oldest)
            self._forget(oldest)
        return doomed

    def _forget(self, conn: C) -> None:
        self.order.pop(conn, None)
        conns = self.idle.get(conn.key)
        if conns is not None:
            conns.remove(conn)
            if not conns:
                del self.idle[conn.key]


POOLS: weakref.WeakSet[Pool[Any]] = weakref.WeakSet()  # every pool, for the fork hook


def _after_fork_in_child() -> None:
    for pool in list(POOLS):
        pool.forget_after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)

"""One thread that enforces every fetch's total deadline.

A ``threading.Timer`` per fetch started and stopped a thread for every poll (a
warm cycle of 1,000 unchanged feeds started 1,000 threads). Here one daemon thread
sleeps until the earliest deadline in a heap; arming a deadline is a heap push
under a lock, and disarming it only marks it: a disarmed entry is dropped when it
comes to the top. The thread is only woken when a new deadline is earlier than the
one it sleeps towards, which never happens when every fetch has the same timeout.

The callback runs on the watchdog thread and must be quick and must not raise
(pipeline.fetch shuts sockets down).
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable


class Deadline:
    """One armed deadline; ``cancel()`` disarms it (idempotent, any thread)."""

    __slots__ = ("at", "action", "cancelled")

    def __init__(self, at: float, action: Callable[[], None]) -> None:
        self.at = at
        self.action = action
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True
        self.action = _nothing  # drop what the action holds (sockets) now, not at the deadline


def _nothing() -> None:
    return None


class Watchdog:
    """Runs ``action`` at monotonic time ``at`` unless cancelled first."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._heap: list[tuple[float, int, Deadline]] = []
        self._order = itertools.count()  # ties: first armed fires first, never compares Deadlines
        self._wake = threading.Condition(threading.Lock())
        self._thread: threading.Thread | None = None

    def arm(self, at: float, action: Callable[[], None]) -> Deadline:
        deadline = Deadline(at, action)
        with self._wake:
            earliest = self._heap[0][0] if self._heap else None
            heapq.heappush(self._heap, (at, next(self._order), deadline))
            if self._thread is None or not self._thread.is_alive():  # first use, or after fork
                self._thread = threading.Thread(target=self._run, name="fetch-deadlines", daemon=True)
                self._thread.start()
            elif earliest is None or at < earliest:
                self._wake.notify()
        return deadline

    def pending(self) -> int:
        """Entries in the heap, disarmed ones not yet dropped included (for tests)."""
        with self._wake:
            return len(self._heap)

    def _run(self) -> None:
        while True:
            due = self._next_due()
            for deadline in due:
                try:
                    deadline.action()
                except Exception:  # noqa: BLE001 - the one thread every fetch relies on must survive
                    pass

    def _next_due(self) -> list[Deadline]:
        """Wait until something is due; return it (disarmed entries dropped on the way)."""
        with self._wake:
            while True:
                now = self._clock()
                due: list[Deadline] = []
                heap = self._heap
                while heap and (heap[0][2].cancelled or heap[0][0] <= now):
                    _, _, deadline = heapq.heappop(heap)
                    if not deadline.cancelled:
                        due.append(deadline)
                if due:
                    return due
                self._wake.wait(heap[0][0] - now if heap else None)


_shared: Watchdog | None = None
_shared_lock = threading.Lock()


def shared() -> Watchdog:
    """The process's watchdog (its thread starts on first use)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = Watchdog()
        return _shared

"""The daemon's two loops: claim due feeds and poll them; send what the outbox holds.

Polls are not one scheduler job per feed: the schedule lives in the database
(``feeds.next_poll_at`` and leases, see pipeline.leases), so several daemons share
the feeds without polling one twice, and a dead daemon's feeds are simply due for
the others. The poll loop claims due feeds for its workers a round ahead and wakes as
soon as a worker frees up, so a cold start runs at full concurrency.

Each notifier has its own sender thread (a slow channel delays no other). It wakes
every second, and at once when a poll commits an alert: waiting for the next tick
would add up to a second to every alert.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from pipeline.app import App
from pipeline.config import FeedConfig
from pipeline.leases import FeedRow

log = logging.getLogger("cfwatch.daemon")


class PollLoop:
    def __init__(self, app: App, on_alert: Callable[[], None], tick: float = 1.0) -> None:
        self.app = app
        self.on_alert = on_alert
        self.tick = tick
        self.size = app.config.fetch.concurrency
        self.feeds = {f.name: f for f in app.feeds}
        self.pool = ThreadPoolExecutor(self.size, thread_name_prefix="poll")
        self._busy = 0
        self._guard = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="dispatch", daemon=True)
        app.ingestor.defer_unchanged = True  # written in batches by this loop (Ingestor.flush_unchanged)

    def start(self) -> PollLoop:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Claim nothing more; polls in flight go on (see ``wait``)."""
        self._stop.set()
        self._wake.set()
        self._thread.join(5)

    def wait(self) -> None:
        """Polls in flight finish; claimed polls not yet started are dropped (their leases
        end with the daemon's clean stop, so other daemons take them at once)."""
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.app.ingestor.flush_unchanged(force=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()  # before looking: a wake-up from here on is not lost
            # Claim a round ahead: up to twice the workers in flight, topped up once a
            # round has drained, so a claim (one statement) serves several polls.
            with self._guard:
                free = 2 * self.size - self._busy if self._busy <= self.size else 0
            if free > 0 and self.feeds:
                try:
                    claimed = self.app.ingestor.claim_due(self.feeds, free)
                except Exception:  # noqa: BLE001 (the database may be away: try again next tick)
                    log.exception("claiming due feeds failed")
                    claimed = []
                for feed, row in claimed:
                    with self._guard:
                        self._busy += 1
                    self.pool.submit(self._poll, feed, row)
            try:
                self.app.ingestor.flush_unchanged()
            except Exception:  # noqa: BLE001 (never stop claiming over it; the leases run out)
                log.exception("writing unchanged polls failed")
            self._wake.wait(self.tick)

    def _poll(self, feed: FeedConfig, row: FeedRow) -> None:
        try:
            report = self.app.ingestor.poll(feed, leased=row)
            if report.alerts:
                self.on_alert()
        except Exception:  # a bug must not silently stop this worker
            log.exception("poll of feed %s crashed", feed.name)
        finally:
            with self._guard:
                self._busy -= 1
            self._wake.set()


class SendLoop:
    """One thread per notifier draining its due deliveries."""

    def __init__(self, app: App, tick: float = 1.0) -> None:
        self.app = app
        self.tick = tick
        self._stop = threading.Event()
        self._wakes = {name: threading.Event() for name in app.notifiers}
        self._threads = [threading.Thread(target=self._run, args=(name,), name=f"send:{name}", daemon=True)
                         for name in app.notifiers]

    def start(self) -> SendLoop:
        for thread in self._threads:
            thread.start()
        return self

    def wake(self) -> None:
        for event in self._wakes.values():
            event.set()

    def stop(self, timeout: float) -> None:
        self._stop.set()
        self.wake()
        for thread in self._threads:
            thread.join(timeout)

    def _run(self, name: str) -> None:
        wake = self._wakes[name]
        while not self._stop.is_set():
            wake.clear()  # before the round: an alert committed during it wakes the next one
            try:
                self.app.outbox.deliver_due(name)
            except Exception:  # noqa: BLE001
                log.exception("delivery round for %s crashed", name)
            wake.wait(self.tick)

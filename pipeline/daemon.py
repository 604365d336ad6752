"""``cfwatch run``: APScheduler with one job per feed plus the delivery sender.

The scheduler keeps an in-memory job store (a persistent one must never be shared
between processes). Polls run in a thread pool; deliveries run in their own executor
so a slow channel never delays polling. SIGINT/SIGTERM stop the scheduler with
``wait=True``: polls in flight finish and commit, then the process exits 0.
"""

from __future__ import annotations

import fcntl
import logging
import os
import random
import signal
import threading
from datetime import datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import IO

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy.engine import make_url

from pipeline.app import App, database_url
from pipeline.config import FeedConfig
from pipeline.logfmt import log_event

log = logging.getLogger("cfwatch.daemon")


class AlreadyRunning(RuntimeError):
    pass


def lock_database(url: str) -> IO[str] | None:
    """One daemon per SQLite file: a second one would double every alert."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    path = Path(f"{parsed.database}.lock")
    handle = path.open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise AlreadyRunning(f"another cfwatch daemon is already running on {parsed.database} "
                             f"(lock {path} is held); stop it first") from None
    return handle


def build_scheduler(app: App, rng: random.Random | None = None) -> BackgroundScheduler:
    rng = rng or random.Random()
    scheduler = BackgroundScheduler(
        executors={"default": ThreadPoolExecutor(app.config.fetch.concurrency),
                   "delivery": ThreadPoolExecutor(max(1, len(app.notifiers)))},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60},
        timezone="UTC",
    )
    now = datetime.now().astimezone()
    for feed in app.feeds:
        # Start soon, but spread the first polls over a few seconds.
        first = now + timedelta(seconds=rng.uniform(0, min(5.0, feed.every.total_seconds())))
        scheduler.add_job(_poll_job, "interval", args=(app, feed), id=f"feed:{feed.name}",
                          seconds=feed.every.total_seconds(), next_run_time=first,
                          jitter=max(1, int(feed.every.total_seconds() * app.config.fetch.jitter)))
    scheduler.add_job(_flush_job, "interval", args=(app,), id="incident-updates", seconds=30)
    scheduler.add_job(_health_job, "interval", args=(app,), id="delivery-health", seconds=60)
    for name in app.notifiers:  # one sender per notifier: a hanging channel delays no other
        scheduler.add_job(_deliver_job, "interval", args=(app, name), id=f"deliver:{name}", seconds=1,
                          executor="delivery", next_run_time=now)
    return scheduler


def _poll_job(app: App, feed: FeedConfig) -> None:
    try:
        app.ingestor.poll(feed)
    except Exception:  # a bug must not silently kill this feed's job
        log.exception("poll of feed %s crashed", feed.name)


def _flush_job(app: App) -> None:
    try:
        app.ingestor.flush_updates()
    except Exception:
        log.exception("sending batched incident updates crashed")


def _health_job(app: App) -> None:
    try:
        app.ingestor.operator.report_failed_deliveries()
    except Exception:
        log.exception("reporting failed deliveries crashed")


def _deliver_job(app: App, notifier: str) -> None:
    try:
        app.outbox.deliver_due(notifier)
    except Exception:
        log.exception("delivery round for %s crashed", notifier)


def run_daemon(app: App, stop: threading.Event | None = None) -> int:
    """Run until SIGINT/SIGTERM (or ``stop`` is set); returns the exit code."""
    lock = lock_database(database_url(app.config))
    stop = stop or threading.Event()
    _install_signals(stop)
    app.outbox.recover()
    scheduler = build_scheduler(app)
    scheduler.start()
    log_event(log, logging.INFO, "started", feeds=len(app.feeds), rules=len(app.ruleset),
              notifiers=",".join(app.notifiers) or "none")
    try:
        stop.wait()
    finally:
        log_event(log, logging.INFO, "stopping", reason="signal")
        _stop_within(scheduler, grace_period(app))
        app.outbox.deliver_due()
        app.close()
        if lock is not None:
            lock.close()
    log_event(log, logging.INFO, "stopped")
    return 0


def grace_period(app: App) -> float:
    """Polls in flight end by their fetch deadline; a little more for their commit."""
    return app.config.fetch.total_timeout + 10.0


def _stop_within(scheduler: BackgroundScheduler, grace: float) -> None:
    """``shutdown(wait=True)``, but never longer than ``grace`` seconds.

    A job past the grace period (a notifier hanging, a bug) must not keep the process
    from stopping: nothing is lost by leaving, since every write commits in one
    transaction and a delivery in flight is reconciled at the next start.
    """
    waiter = threading.Thread(target=scheduler.shutdown, kwargs={"wait": True}, daemon=True)
    waiter.start()
    waiter.join(grace)
    if waiter.is_alive():
        log_event(log, logging.ERROR, "stop_grace_exceeded", grace_s=grace)
        logging.shutdown()
        os._exit(0)  # pool threads are not daemons: a normal exit would wait for them


def _install_signals(stop: threading.Event) -> None:
    if threading.current_thread() is not threading.main_thread():
        return

    def handler(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)

"""``cfwatch poll --once``: every feed now, then deliver and drain the outbox."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from pipeline.app import App
from pipeline.ingest import PollReport
from pipeline.outbox import DeliveryReport


@dataclass
class CycleReport:
    polls: list[PollReport] = field(default_factory=list)
    delivery: DeliveryReport = field(default_factory=DeliveryReport)
    still_pending: int = 0

    @property
    def alerts(self) -> int:
        return sum(p.alerts for p in self.polls)

    @property
    def errors(self) -> int:
        return sum(1 for p in self.polls if p.outcome == "error")

    def summary(self) -> str:
        new = sum(p.new for p in self.polls)
        dups = sum(p.duplicates for p in self.polls)
        return (f"polled {len(self.polls)} feeds ({self.errors} failed): {new} new articles, "
                f"{dups} duplicates, {self.alerts} alerts; deliveries sent {self.delivery.sent}, "
                f"failed {self.delivery.failed}, still pending {self.still_pending}")


def run_once(app: App, *, sleep: float = 0.2) -> CycleReport:
    """Poll all enabled feeds concurrently, whatever their schedule, then drain deliveries.

    Waits up to ``delivery.drain_timeout`` seconds for retries that are due soon; what
    is still pending after that stays in the outbox for the next run.
    """
    report = CycleReport()
    app.start_heartbeat()  # so daemons sharing the database leave this run's claims alone
    app.outbox.recover()
    feeds = app.feeds
    if feeds:
        # One statement leases them all; a feed a daemon is polling right now is left to it.
        leased = app.ingestor.claim_all(feeds)
        app.ingestor.defer_unchanged = True  # unchanged polls are written together (Ingestor._Pending)
        try:
            with ThreadPoolExecutor(max_workers=min(app.config.fetch.concurrency, len(feeds)),
                                    thread_name_prefix="poll") as pool:
                report.polls = list(pool.map(
                    lambda f: app.ingestor.poll(f, force=True, leased=leased[f.name]) if f.name in leased
                    else PollReport(f.name, "skipped", error="being polled by another process"), feeds))
        finally:
            app.ingestor.flush_unchanged(force=True)
            app.ingestor.defer_unchanged = False  # a later direct poll writes at once again
    app.ingestor.flush_updates(force=True)  # nothing runs after us to send batched updates later
    app.ingestor.prune_story_index()  # nor to keep the story index to its window
    deadline = time.monotonic() + app.config.delivery.drain_timeout
    while True:
        report.delivery.add(app.outbox.deliver_due())
        count, due = app.outbox.pending()
        report.still_pending = count
        if count == 0 or due is None:
            break
        wait = (due - app.clock()).total_seconds()
        if time.monotonic() + max(wait, 0) > deadline:
            break
        time.sleep(max(min(wait, 5.0), sleep))
    if app.ingestor.operator.report_failed_deliveries():  # tell the operator what was given up
        report.delivery.add(app.outbox.deliver_due())
    return report

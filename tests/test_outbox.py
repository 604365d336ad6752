"""The delivery outbox: retries, permanent failures, recovery after a crash, isolation."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import select

from notifiers import Message, Pacing, PermanentError, RetryableError, Sent
from pipeline.config import DeliveryConfig
from pipeline.models import Alert, Article, Delivery, Feed, Incident
from pipeline.outbox import Outbox


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now


class Recorder:
    """A notifier that fails as scripted, then records what it delivered."""

    def __init__(self, name: str, failures: list[Exception] | None = None) -> None:
        self.name = name
        self.failures = list(failures or [])
        self.sent: list[dict[str, Any]] = []

    def send(self, message: Message) -> Sent:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(message.record)
        return Sent(ref=f"ref-{message.delivery_id}")


@pytest.fixture
def db(sessions):
    """The migrated store of conftest (SQLite, or PostgreSQL with CFWATCH_TEST_BACKEND)."""
    return sessions


def _alerts(sessions, clock, notifiers: list[str], count: int = 1) -> None:
    with sessions.begin() as s:
        s.add(Feed(id=1, name="f", url="http://127.0.0.1/", error_count=0, polls=0, items_seen=0))
        s.flush()
        for n in range(count):
            s.add(Article(id=n + 1, feed_id=1, title=f"t{n}", text="", outlet="o", fingerprint=f"{n}",
                          fetched_at=clock()))
            s.flush()
            s.execute(Incident.__table__.insert().values(
                id=n + 1, key=f"k{n}", title=f"t{n}", categories=["shelling"], severity="high",
                first_article_id=n + 1, first_seen=clock(), last_update=clock()))
            s.execute(Alert.__table__.insert().values(
                id=n + 1, incident_id=n + 1, event="new", reason="first_notification", severity="high",
                record={"alert_id": n + 1, "title": f"t{n}"}, created_at=clock()))
            for name in notifiers:
                s.add(Delivery(alert_id=n + 1, notifier=name, status="pending", attempts=0,
                               next_attempt_at=clock(), created_at=clock()))


def _statuses(sessions) -> dict[tuple[int, str], str]:
    with sessions() as s:
        return {(d.alert_id, d.notifier): d.status for d in s.scalars(select(Delivery))}


def _outbox(db, clock, *notifiers, **config) -> Outbox:
    return Outbox(sessions=db, notifiers={n.name: n for n in notifiers},
                  config=DeliveryConfig(backoff=timedelta(seconds=5), **config), clock=clock)


def test_retryable_failure_backs_off_honours_retry_after_then_delivers_once(db):
    clock = Clock()
    flaky = Recorder("slack", [RetryableError("HTTP 429", retry_after=60)])
    _alerts(db, clock, ["slack"])
    outbox = _outbox(db, clock, flaky)
    report = outbox.deliver_due()
    assert report.retrying == 1 and flaky.sent == []
    clock.now += timedelta(seconds=30)  # backoff alone (5 s) has passed, Retry-After (60 s) has not
    assert outbox.deliver_due().sent == 0
    clock.now += timedelta(seconds=31)
    assert outbox.deliver_due().sent == 1
    assert len(flaky.sent) == 1 and _statuses(db) == {(1, "slack"): "sent"}
    assert outbox.deliver_due().sent == 0


def test_permanent_failure_is_marked_failed_and_not_retried(db):
    clock = Clock()
    _alerts(db, clock, ["mail"])
    broken = Recorder("mail", [PermanentError("550 no such user")])
    outbox = _outbox(db, clock, broken)
    assert outbox.deliver_due().failed == 1
    clock.now += timedelta(hours=1)
    assert outbox.deliver_due().sent == 0
    with db() as s:
        row = s.scalars(select(Delivery)).one()
    assert row.status == "failed" and "550" in row.last_error


def test_attempts_are_bounded(db):
    clock = Clock()
    _alerts(db, clock, ["hook"])
    down = Recorder("hook", [RetryableError("connection refused")] * 10)
    outbox = _outbox(db, clock, down, max_attempts=3)
    for _ in range(5):
        outbox.deliver_due()
        clock.now += timedelta(hours=1)
    assert _statuses(db) == {(1, "hook"): "failed"}
    assert len(down.failures) == 7  # exactly three attempts were made


def test_a_failing_channel_does_not_hold_up_another(db):
    clock = Clock()
    _alerts(db, clock, ["slack", "mail"], count=3)

    class Slow(Recorder):
        def send(self, message: Message) -> Sent:
            release.wait(5)
            raise RetryableError("timeout")

    release = threading.Event()
    slow, mail = Slow("slack"), Recorder("mail")
    outbox = _outbox(db, clock, slow, mail)
    worker = threading.Thread(target=outbox.deliver_due)
    worker.start()
    deadline = datetime.now() + timedelta(seconds=5)
    while len(mail.sent) < 3 and datetime.now() < deadline:
        threading.Event().wait(0.05)
    assert len(mail.sent) == 3  # all mail went out while Slack was still hanging
    release.set()
    worker.join()


def test_deliveries_left_sending_by_a_crash_are_sent_again_once(db):
    clock = Clock()
    _alerts(db, clock, ["archive"], count=2)
    with db.begin() as s:  # a process died after claiming alert 1, before marking it sent
        s.execute(Delivery.__table__.update().where(Delivery.alert_id == 1).values(status="sending", attempts=1))
    archive = Recorder("archive")
    outbox = _outbox(db, clock, archive)
    assert outbox.recover() == 1
    assert outbox.recover() == 0  # settled: back to pending, not counted twice
    assert outbox.deliver_due().sent == 2
    assert outbox.deliver_due().sent == 0
    assert sorted(r["alert_id"] for r in archive.sent) == [1, 2]


def test_a_drain_settles_what_a_dead_process_left_sending(db):
    """A daemon need not restart to settle rows a dead one left: its next round does."""
    clock = Clock()
    _alerts(db, clock, ["archive"], count=2)
    with db.begin() as s:
        s.execute(Delivery.__table__.update().where(Delivery.alert_id == 1)
                  .values(status="sending", attempts=1, claimed_by="dead:1:x"))
    archive = Recorder("archive")
    assert _outbox(db, clock, archive).deliver_due().sent == 2
    assert sorted(r["alert_id"] for r in archive.sent) == [1, 2]


def test_delivery_for_a_removed_notifier_fails_visibly(db):
    clock = Clock()
    _alerts(db, clock, ["gone"])
    assert _outbox(db, clock).deliver_due().failed == 1
    with db() as s:
        assert "not configured" in s.scalars(select(Delivery)).one().last_error


class Batching(Recorder):
    """A paced channel that can send several alerts as one summary."""

    def __init__(self, name: str, pacing: Pacing | None = None, digest: Any = None) -> None:
        super().__init__(name)
        self.pacing = pacing
        if digest is not None:
            self.digest = digest
        self.batches: list[list[int]] = []

    def send_batch(self, messages: list[Message]) -> Sent:
        self.batches.append([m.record["alert_id"] for m in messages])
        return Sent(ref="summary")


def test_a_burst_becomes_one_summary_and_sends_are_paced(db):
    clock = Clock()
    _alerts(db, clock, ["slack"], count=12)
    slack = Batching("slack", Pacing(interval=1.0, burst=5))
    waits: list[float] = []
    ticks = [100.0]  # pacing's clock moves only when the outbox sleeps: the machine's speed cannot matter

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        ticks[0] += seconds

    outbox = Outbox(sessions=db, notifiers={"slack": slack}, config=DeliveryConfig(), clock=clock,
                    sleep=sleep, monotonic=lambda: ticks[0])
    assert outbox.deliver_due().sent == 12
    assert [r["alert_id"] for r in slack.sent] == [1, 2, 3, 4]
    assert slack.batches == [[5, 6, 7, 8, 9, 10, 11, 12]]
    assert waits == [1.0] * 4  # one second between messages
    assert set(_statuses(db).values()) == {"sent"}


def test_a_digest_waits_for_the_end_of_its_period(db):
    from notifiers.digest import parse_digest

    clock = Clock()  # 2026-01-01 00:00
    clock.now += timedelta(minutes=10)
    _alerts(db, clock, ["mail"], count=3)
    mail = Batching("mail", digest=parse_digest("1h"))
    outbox = _outbox(db, clock, mail)
    assert outbox.deliver_due().sent == 0
    clock.now = datetime(2026, 1, 1, 1, 0, tzinfo=timezone.utc)
    assert outbox.deliver_due().sent == 3
    assert mail.batches == [[1, 2, 3]] and mail.sent == []

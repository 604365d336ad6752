"""What the store promises, on SQLite and on PostgreSQL alike.

Several daemons share one PostgreSQL (docs/DEPLOY.md): these are the database-level
guarantees that make that safe — leases that never give one feed to two processes,
delivery claims, advisory locks, heartbeats, and the unique keys that settle races.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from pipeline import daemons, leases, locks, outbox_store
from pipeline.config import DeliveryConfig
from pipeline.db import make_engine, migrate, reading
from pipeline.models import Alert, Article, ArticleKey, Base, Daemon, Delivery, Feed, Incident
from pipeline.outbox import Outbox

pytestmark = pytest.mark.backends("sqlite", "postgresql")

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)
LEASE = timedelta(seconds=60)


def _feeds(sessions, count: int, due: datetime | None = None) -> list[str]:
    names = [f"feed-{i:03d}" for i in range(count)]
    with sessions.begin() as s:
        s.execute(insert(Feed), [{"name": n, "url": f"http://127.0.0.1/{n}", "error_count": 0, "polls": 0,
                                  "items_seen": 0, "next_poll_at": due} for n in names])
    return names


def test_migrations_build_the_models_and_run_again(database_url):
    engine = make_engine(database_url)
    try:
        migrate(engine)
        migrate(engine)  # every start runs it
        with engine.connect() as connection:
            assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    finally:
        engine.dispose()


def test_daemons_starting_together_migrate_once(database_url):
    """Three processes migrate one empty store at once: one does it, the others wait."""
    code = "import sys; from pipeline.db import make_engine, migrate; migrate(make_engine(sys.argv[1]))"
    procs = [subprocess.Popen([sys.executable, "-c", code, database_url], stderr=subprocess.PIPE, text=True)
             for _ in range(3)]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], errors
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    finally:
        engine.dispose()


def test_a_due_feed_is_leased_to_one_process(sessions):
    names = _feeds(sessions, 5)
    with sessions.begin() as s:
        a = leases.claim(s, "a", names, T0, LEASE, limit=3)
    with sessions.begin() as s:
        b = leases.claim(s, "b", names, T0, LEASE, limit=10)
    assert len(a) == 3 and len(b) == 2
    assert not {r.name for r in a} & {r.name for r in b}
    with sessions.begin() as s:
        assert leases.claim(s, "c", names, T0, LEASE, limit=10) == []
        assert leases.holder(s, a[0].name, T0) == "a"


def test_an_expired_lease_frees_the_feed(sessions):
    names = _feeds(sessions, 1)
    with sessions.begin() as s:
        assert [r.lease_owner for r in leases.claim(s, "dead", names, T0, LEASE, limit=1)] == ["dead"]
    with sessions.begin() as s:
        assert leases.claim(s, "b", names, T0 + LEASE / 2, LEASE, limit=1) == []
    with sessions.begin() as s:
        assert [r.lease_owner for r in leases.claim(s, "b", names, T0 + LEASE * 2, LEASE, limit=1)] == ["b"]


def test_only_due_feeds_are_claimed_unless_forced(sessions):
    names = _feeds(sessions, 2, due=T0 + timedelta(minutes=5))
    with sessions.begin() as s:
        assert leases.claim(s, "a", names, T0, LEASE, limit=5) == []
        assert len(leases.claim(s, "a", names[:1], T0, LEASE * 20, limit=5, force=True)) == 1
    with sessions.begin() as s:
        assert len(leases.claim(s, "b", names, T0 + timedelta(minutes=6), LEASE, limit=5)) == 1  # the other


def test_releasing_leaves_another_owners_lease_alone(sessions):
    names = _feeds(sessions, 1)
    with sessions.begin() as s:
        leases.claim(s, "a", names, T0, LEASE, limit=1)
    with sessions.begin() as s:  # a late poll of a process whose lease was taken over ends
        s.execute(update(Feed).values(**leases.release_values("someone-else")))
    with sessions.begin() as s:
        assert s.scalar(select(Feed.lease_owner)) == "a"
        s.execute(update(Feed).values(**leases.release_values("a")))
    with sessions.begin() as s:
        assert s.execute(select(Feed.lease_owner, Feed.lease_until)).one() == (None, None)


def test_concurrent_claimers_share_feeds_without_overlap(sessions):
    names = _feeds(sessions, 200)
    got: dict[str, list[str]] = {}
    start = threading.Barrier(4)

    def claimer(owner: str) -> None:
        start.wait()
        mine: list[str] = []
        while True:
            with sessions.begin() as s:
                rows = leases.claim(s, owner, names, T0, LEASE, limit=7)
            if not rows:
                break
            mine += [r.name for r in rows]
        got[owner] = mine

    threads = [threading.Thread(target=claimer, args=(f"d{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    claimed = [n for mine in got.values() for n in mine]
    assert sorted(claimed) == sorted(names)  # every feed once, none twice


def _delivery(sessions, notifier: str = "ops") -> int:
    with sessions.begin() as s:
        alert = Alert(incident_id=None, event="operator", reason="test", severity="low", record={"title": "t"},
                      created_at=T0)
        s.add(alert)
        s.flush()
        row = Delivery(alert_id=alert.id, notifier=notifier, status="pending", attempts=0, next_attempt_at=T0,
                       created_at=T0)
        s.add(row)
        s.flush()
        return row.id


def test_a_delivery_is_claimed_once(sessions):
    delivery = _delivery(sessions)
    with sessions.begin() as s:
        assert outbox_store.claim(s, delivery, "a", T0) is not None
    with sessions.begin() as s:
        assert outbox_store.claim(s, delivery, "b", T0) is None
        row = s.get(Delivery, delivery)
        assert (row.status, row.claimed_by, row.attempts) == ("sending", "a", 1)


def test_one_delivery_unique_per_alert_and_notifier(sessions):
    delivery = _delivery(sessions)
    with pytest.raises(IntegrityError), sessions.begin() as s:
        alert_id = s.get(Delivery, delivery).alert_id
        s.add(Delivery(alert_id=alert_id, notifier="ops", status="pending", attempts=0, next_attempt_at=T0,
                       created_at=T0))


def test_an_article_key_and_an_incident_key_exist_once(sessions):
    _feeds(sessions, 1)
    with sessions.begin() as s:
        feed_id = s.scalar(select(Feed.id))
        article = Article(feed_id=feed_id, title="t", text="t", outlet="o", fingerprint="f", fetched_at=T0)
        s.add(article)
        s.flush()
        s.add(ArticleKey(key="guid:1", article_id=article.id))
        s.add(Incident(key="article:1", title="t", categories=[], severity="low", first_article_id=article.id,
                       first_seen=T0, last_update=T0))
    with pytest.raises(IntegrityError), sessions.begin() as s:
        s.add(ArticleKey(key="guid:1", article_id=article.id))
    with pytest.raises(IntegrityError), sessions.begin() as s:
        s.add(Incident(key="article:1", title="t", categories=[], severity="low", first_article_id=article.id,
                       first_seen=T0, last_update=T0))


def test_heartbeats_tell_live_from_dead(sessions):
    me, other = daemons.Identity.new("run"), daemons.Identity("other:1:x", "other", 1, "run")
    names = _feeds(sessions, 1)
    with sessions.begin() as s:
        daemons.register(s, me, T0)
        daemons.register(s, other, T0)
        leases.claim(s, me.id, names, T0, LEASE, limit=1)
    later = T0 + daemons.DEAD_AFTER + timedelta(seconds=1)
    with sessions.begin() as s:
        daemons.beat(s, me, later, LEASE)
        assert daemons.alive(s, later) == {me.id}
        assert s.scalar(select(Feed.lease_until)) == later + LEASE  # the beat renews my leases
        daemons.stopped(s, me, later)
    with sessions.begin() as s:
        assert daemons.alive(s, later) == set()
        assert s.scalar(select(Feed.lease_owner)) is None  # a clean stop frees the feed at once
        assert {d.id for d in daemons.fleet(s, later)} == {me.id, other.id}


class _Channel:
    name = "ops"

    def __init__(self) -> None:
        self.sent: list[int] = []

    def send(self, message):
        self.sent.append(message.delivery_id)


@pytest.mark.backends("postgresql")
def test_a_live_daemons_send_in_flight_is_left_alone(sessions):
    """Only the rows of a process that stopped heartbeating are settled by another."""
    live, dead = _delivery(sessions), _delivery(sessions)
    now = datetime.now(timezone.utc)
    with sessions.begin() as s:
        daemons.register(s, daemons.Identity("live:1:a", "live", 1, "run"), now)
        daemons.register(s, daemons.Identity("dead:2:b", "dead", 2, "run"), now - timedelta(minutes=5))
        outbox_store.claim(s, live, "live:1:a", now)
        outbox_store.claim(s, dead, "dead:2:b", now)
    channel = _Channel()
    outbox = Outbox(sessions=sessions, notifiers={"ops": channel}, config=DeliveryConfig(),
                    clock=lambda: datetime.now(timezone.utc), owner="me:3:c")
    assert outbox.recover() == 1
    assert outbox.deliver_due().sent == 1
    assert channel.sent == [dead]
    with sessions.begin() as s:
        assert s.get(Delivery, live).status == "sending"


@pytest.mark.backends("postgresql")
def test_a_singleton_job_runs_on_one_process(sessions):
    engine = sessions.kw["bind"]
    other = make_engine(str(engine.url.render_as_string(hide_password=False)))
    try:
        with locks.singleton(engine, "digest") as first:
            with locks.singleton(other, "digest") as second:
                assert (first, second) == (True, False)
            with locks.singleton(other, "retention") as unrelated:
                assert unrelated
        with locks.singleton(other, "digest") as after:
            assert after  # released with the block
    finally:
        other.dispose()


def test_processing_is_one_writer_at_a_time(sessions):
    """Two daemons' processing transactions never overlap (advisory lock / BEGIN IMMEDIATE)."""
    spans: list[tuple[float, float]] = []
    start = threading.Barrier(2)

    def process() -> None:
        start.wait()
        with sessions.begin() as s:
            locks.hold_for_transaction(s, "process")
            s.execute(select(Feed.id)).all()  # SQLite: the write lock is taken at BEGIN
            begun = time.monotonic()
            time.sleep(0.3)
            spans.append((begun, time.monotonic()))

    threads = [threading.Thread(target=process) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    (a0, a1), (b0, b1) = sorted(spans)
    assert b0 >= a1 - 0.01


def test_a_read_only_transaction_waits_for_no_writer(sessions):
    """A poll's "already stored?" lookup reads while another poll's write transaction is open."""
    reads = sessionmaker(reading(sessions.kw["bind"]))
    _feeds(sessions, 1)
    with sessions.begin() as writer:
        writer.execute(update(Feed).values(polls=Feed.polls + 1))  # holds the write lock until the end
        seen: list[int] = []

        def read() -> None:
            with reads.begin() as s:
                seen.append(s.execute(select(Feed.polls)).scalar_one())

        started = time.monotonic()
        thread = threading.Thread(target=read)
        thread.start()
        thread.join(10)
        assert seen == [0] and time.monotonic() - started < 2  # the committed value, at once


def test_story_bands_past_the_window_are_pruned_in_chunks(sessions):
    from pipeline import story_store
    from pipeline.models import StoryBand
    from pipeline.stories import signature

    def story(n: int, at: datetime) -> story_store.StoryRef:
        with sessions.begin() as s:
            return story_store.create_story(s, signature(f"Report {n} on shelling", f"words {n} " * 40), at)

    old = [story(n, T0 - timedelta(days=5)) for n in range(70)]  # 70 x 32 bands: more than one chunk
    recent = story(999, T0)
    with sessions.begin() as s:
        assert story_store.prune_bands(s, T0 - timedelta(days=3)) == 2000  # one chunk at a time
    with sessions.begin() as s:
        assert story_store.prune_bands(s, T0 - timedelta(days=3)) == 70 * 32 - 2000
        assert story_store.prune_bands(s, T0 - timedelta(days=3)) == 0
    with sessions() as s:
        left = s.execute(select(StoryBand.story_id).distinct()).scalars().all()
        assert left == [recent.id] and old[0].id not in left
        # The recent story is still found; the old ones are past the window anyway.
        assert story_store.find_story(s, signature("Report 999 on shelling", "words 999 " * 40),
                                      T0 - timedelta(days=3)) == recent


def test_daemon_rows_keep_host_pid_and_role(sessions):
    me = daemons.Identity.new("poll-once")
    with sessions.begin() as s:
        daemons.register(s, me, T0)
    with sessions.begin() as s:
        row = s.scalars(select(Daemon)).one()
        assert (row.host, row.pid, row.role, row.stopped_at) == (me.host, me.pid, "poll-once", None)

"""The working pipeline end to end: real HTTP server, real SQLite, real JSONL file."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from conftest import (BORDER_TEXT, BORDER_TITLE, BUSINESS_TEXT, BUSINESS_TITLE, SPORT_TEXT, SPORT_TITLE, item,
                      now, read_jsonl, rss, shared_example)
from pipeline.app import App
from pipeline.config import load_config
from pipeline.cycle import run_once
from pipeline.models import Article, ArticleSource, Feed


def _run(config_path: Path) -> tuple[App, object]:
    app = App.build(load_config(config_path))
    try:
        return app, run_once(app)
    finally:
        app.close()


def test_seed_report_gives_one_alert_with_three_categories(feed_server, write_config, tmp_path):
    url = feed_server.set("/news.xml", rss([item(BORDER_TITLE, BORDER_TEXT, "https://news.example/a1")]))
    _app, report = _run(write_config([{"name": "news", "url": url}]))
    alerts = read_jsonl(tmp_path / "alerts.jsonl")
    assert len(alerts) == 1, alerts
    alert = alerts[0]
    assert {"shelling", "ceasefire_violation", "treaty_appeal"} <= set(alert["categories"])
    assert alert["event"] == "new" and alert["reason"] == "first_notification"
    assert alert["sources"] == [{"outlet": "news", "url": "https://news.example/a1", "title": BORDER_TITLE}]
    assert alert["matches"] and all(m["text"] for m in alert["matches"])
    assert report.alerts == 1


def test_real_shared_example_alerts_once(feed_server, write_config, tmp_path):
    title, text = shared_example()
    url = feed_server.set("/feed.xml", rss([item(title, text, "https://outlet.example/2022/09/13/border")]))
    _run(write_config([{"name": "outlet", "url": url}]))
    alerts = read_jsonl(tmp_path / "alerts.jsonl")
    assert len(alerts) == 1
    assert {"shelling", "ceasefire_violation", "treaty_appeal"} <= set(alerts[0]["categories"])


def test_same_report_syndicated_under_another_url_is_one_alert_two_sources(feed_server, write_config, tmp_path):
    first = feed_server.set("/a.xml", rss([item(BORDER_TITLE, BORDER_TEXT, "https://wire.example/story?id=7")]))
    second = feed_server.set("/b.xml", rss([item(BORDER_TITLE, BORDER_TEXT,
                                                 "https://regional.example/world/border-shelling?utm_source=rss")]))
    config = write_config([{"name": "wire", "url": first}, {"name": "regional", "url": second, "outlet": "Regional"}])
    app, _ = _run(config)
    assert len(read_jsonl(tmp_path / "alerts.jsonl")) == 1
    with app.sessions() as session:
        assert session.scalar(select(Article.id).where(Article.id > 1)) is None  # one article stored
        outlets = sorted(s.outlet for s in session.scalars(select(ArticleSource)))
    assert outlets == ["Regional", "wire"]
    # A second run over unchanged feeds writes nothing new.
    _run(config)
    assert len(read_jsonl(tmp_path / "alerts.jsonl")) == 1


def test_sport_and_business_items_do_not_alert(feed_server, write_config, tmp_path):
    url = feed_server.set("/mixed.xml", rss([
        item(SPORT_TITLE, SPORT_TEXT, "https://sport.example/final"),
        item(BUSINESS_TITLE, BUSINESS_TEXT, "https://biz.example/shell"),
    ]))
    _app, report = _run(write_config([{"name": "mixed", "url": url}]))
    assert report.polls[0].new == 2
    assert read_jsonl(tmp_path / "alerts.jsonl") == []


def test_etag_304_skips_parsing_and_unchanged_body_is_not_parsed(feed_server, write_config):
    body = rss([item(SPORT_TITLE, SPORT_TEXT, "https://sport.example/x")])
    with_etag = feed_server.set("/etag.xml", body, etag='"v1"')
    without = feed_server.set("/plain.xml", body)
    config = write_config([{"name": "etag", "url": with_etag}, {"name": "plain", "url": without}])
    _run(config)
    _app, report = _run(config)
    outcomes = {p.feed: p.outcome for p in report.polls}
    assert outcomes == {"etag": "not_modified", "plain": "unchanged"}
    assert feed_server.hits("/etag.xml")[-1].headers.get("if-none-match") == '"v1"'


def test_failing_feeds_are_recorded_and_others_still_processed(feed_server, write_config, tmp_path):
    good = feed_server.set("/good.xml", rss([item(BORDER_TITLE, BORDER_TEXT, "https://news.example/ok")]))
    broken = feed_server.set("/500.xml", "oops", status=500, content_type="text/plain")
    malformed = feed_server.set("/bad.xml", "<html><body><h1>Maintenance</h1></body></html>",
                                content_type="text/html")
    slow = feed_server.set("/slow.xml", rss([]), delay=3.0)
    config = write_config([{"name": n, "url": u} for n, u in
                           (("good", good), ("broken", broken), ("malformed", malformed), ("slow", slow))])
    app, report = _run(config)
    assert len(read_jsonl(tmp_path / "alerts.jsonl")) == 1
    with app.sessions() as session:
        feeds = {f.name: f for f in session.scalars(select(Feed))}
    assert feeds["good"].error_count == 0 and feeds["good"].last_success_at is not None
    assert feeds["broken"].error_count == 1 and "HTTP 500" in feeds["broken"].last_error
    assert feeds["malformed"].error_count == 1 and "HTML page" in feeds["malformed"].last_error
    assert feeds["slow"].error_count == 1 and "timed out" in feeds["slow"].last_error
    assert feeds["broken"].next_poll_at > now()


def test_malformed_xml_keeps_complete_entries(feed_server, write_config, tmp_path):
    body = rss([item(BORDER_TITLE, BORDER_TEXT, "https://news.example/ok")])
    truncated = body.replace("</channel></rss>", "<item><title>cut off")
    url = feed_server.set("/trunc.xml", truncated)
    _run(write_config([{"name": "trunc", "url": url}]))
    assert len(read_jsonl(tmp_path / "alerts.jsonl")) == 1


def test_first_poll_backfill_stores_old_items_without_alerting(feed_server, write_config, tmp_path):
    old = item(BORDER_TITLE, BORDER_TEXT, "https://news.example/old", published=now() - timedelta(days=3))
    url = feed_server.set("/old.xml", rss([old]))
    config = write_config([{"name": "news", "url": url}])
    app, report = _run(config)
    assert report.polls[0].new == 1 and read_jsonl(tmp_path / "alerts.jsonl") == []
    with app.sessions() as session:
        assert session.scalar(select(Article.skip_reason)) == "backfill"
    # A fresh item on a later poll alerts even though the feed is not new any more.
    fresh = item(BORDER_TITLE.replace("shell", "pound"), BORDER_TEXT.replace("Tuesday", "Wednesday"),
                 "https://news.example/new")
    feed_server.set("/old.xml", rss([fresh, old]))
    _run(config)
    assert len(read_jsonl(tmp_path / "alerts.jsonl")) == 1


def test_backfill_all_alerts_on_old_items(feed_server, write_config, tmp_path):
    old = item(BORDER_TITLE, BORDER_TEXT, "https://news.example/old", published=now() - timedelta(days=400))
    url = feed_server.set("/old.xml", rss([old]))
    _run(write_config([{"name": "news", "url": url, "backfill": "all"}]))
    assert len(read_jsonl(tmp_path / "alerts.jsonl")) == 1


def test_routes_choose_notifiers(feed_server, write_config, tmp_path):
    url = feed_server.set("/n.xml", rss([item(BORDER_TITLE, BORDER_TEXT, "https://news.example/r")]))
    config = write_config(
        [{"name": "news", "url": url, "tags": ["caucasus"]}],
        notifiers=[{"name": "archive", "type": "jsonl", "path": "alerts.jsonl"},
                   {"name": "treaties", "type": "jsonl", "path": "treaties.jsonl"},
                   {"name": "ukraine", "type": "jsonl", "path": "ukraine.jsonl"}],
        routes=[{"notify": ["ukraine"], "tags": ["ukraine"]},
                {"notify": ["treaties"], "categories": ["treaty_appeal"], "continue": True},
                {"notify": ["archive"], "min_severity": "low"}],
    )
    _run(config)
    assert len(read_jsonl(tmp_path / "treaties.jsonl")) == 1
    assert len(read_jsonl(tmp_path / "alerts.jsonl")) == 1
    assert read_jsonl(tmp_path / "ukraine.jsonl") == []


def test_failing_feed_backs_off_between_scheduled_polls(feed_server, write_config):
    url = feed_server.set("/down.xml", "down", status=503, headers={"Retry-After": "600"},
                          content_type="text/plain")
    clock_now = [now()]
    app = App.build(load_config(write_config([{"name": "down", "url": url, "every": "1m"}])),
                    clock=lambda: clock_now[0])
    try:
        feed = app.feeds[0]
        assert app.ingestor.poll(feed).outcome == "error"
        clock_now[0] += timedelta(minutes=2)  # the scheduler ticks again, but Retry-After asked for 10 min
        assert app.ingestor.poll(feed).outcome == "skipped"
        assert len(feed_server.hits("/down.xml")) == 1
        clock_now[0] += timedelta(minutes=9)
        feed_server.set("/down.xml", rss([]))
        assert app.ingestor.poll(feed).outcome == "new_items"
        with app.sessions() as session:
            row = session.scalars(select(Feed)).one()
        assert row.error_count == 0 and row.last_status == 200
    finally:
        app.close()


def test_a_database_error_while_storing_is_recorded_on_the_feed_and_redone_next_poll(feed_server, write_config,
                                                                                    tmp_path):
    from sqlalchemy.exc import OperationalError

    url = feed_server.set("/db.xml", rss([item(BORDER_TITLE, BORDER_TEXT, "https://news.example/db")]))
    app = App.build(load_config(write_config([{"name": "db", "url": url}])))
    try:
        working = app.ingestor.processor

        class Locked:
            def process(self, *args, **kwargs):
                raise OperationalError("INSERT", {}, Exception("database is locked"))

        app.ingestor.processor = Locked()
        report = app.ingestor.poll(app.feeds[0], force=True)
        assert report.outcome == "error" and "database is locked" in report.error
        app.ingestor.processor = working
        assert app.ingestor.poll(app.feeds[0], force=True).alerts == 1  # not taken for an unchanged body
    finally:
        app.close()


def test_a_cold_start_over_many_feeds_with_concurrent_polls_stores_everything(feed_server, write_config):
    from conftest import DISTINCT_REPORTS

    feeds = []
    for n in range(24):
        items = [item(f"{title} ({n}-{k})", f"{text} Report {n}-{k}.", f"https://n{n}.example/{k}")
                 for k, (title, text) in enumerate(DISTINCT_REPORTS)]
        feeds.append({"name": f"f{n}", "url": feed_server.set(f"/f{n}.xml", rss(items))})
    app, report = _run(write_config(feeds, fetch={"concurrency": 8}))
    assert [p.outcome for p in report.polls] == ["new_items"] * 24
    assert sum(p.new for p in report.polls) == 24 * len(DISTINCT_REPORTS)


def _feed_row(app: App, name: str) -> Feed:
    with app.sessions() as session:
        return session.scalars(select(Feed).where(Feed.name == name)).one()


def test_unchanged_polls_are_written_together_when_deferred(feed_server, write_config):
    body = rss([item(SPORT_TITLE, SPORT_TEXT, "https://sport.example/x")])
    urls = [feed_server.set(f"/f{n}.xml", body, etag=f'"v{n}"') for n in range(3)]
    watched = feed_server.set("/watched.xml", body, etag='"w"')
    feeds = [{"name": f"f{n}", "url": url} for n, url in enumerate(urls)]
    feeds.append({"name": "watched", "url": watched, "expect_every": "1h"})
    clock_now = [now()]
    app = App.build(load_config(write_config(feeds)), clock=lambda: clock_now[0])
    try:
        run_once(app)  # first polls: new bodies, written at once
        polls_before = {f.name: _feed_row(app, f.name).polls for f in app.feeds}
        clock_now[0] += timedelta(minutes=10)
        app.ingestor.defer_unchanged = True
        app.ingestor._unchanged.linger = 60  # noqa: SLF001 (no flush by age while the test looks)
        leased = app.ingestor.claim_all(app.feeds)
        reports = [app.ingestor.poll(f, force=True, leased=leased[f.name]) for f in app.feeds]
        assert {r.outcome for r in reports} == {"not_modified"}
        # Held back: the rows still show the first poll, and this process's leases.
        row = _feed_row(app, "f0")
        assert row.polls == polls_before["f0"] and row.lease_owner == app.ingestor.owner
        # A feed whose silence is watched (expect_every) is written at once: its health is judged in the poll.
        assert _feed_row(app, "watched").polls == polls_before["watched"] + 1
        app.ingestor.flush_unchanged()  # the oldest has not waited long enough yet
        assert _feed_row(app, "f0").polls == polls_before["f0"]
        app.ingestor.flush_unchanged(force=True)
        for n in range(3):
            row = _feed_row(app, f"f{n}")
            assert row.polls == polls_before[f"f{n}"] + 1 and row.lease_owner is None
            assert row.last_status == 304 and row.next_poll_at > row.last_polled_at
            assert row.last_polled_at.replace(tzinfo=None) == clock_now[0].replace(tzinfo=None)
    finally:
        app.close()


def test_a_full_batch_of_unchanged_polls_is_written_by_the_poll_that_fills_it(feed_server, write_config):
    body = rss([item(SPORT_TITLE, SPORT_TEXT, "https://sport.example/x")])
    feeds = [{"name": f"f{n}", "url": feed_server.set(f"/f{n}.xml", body, etag='"v"')} for n in range(5)]
    app = App.build(load_config(write_config(feeds)))
    try:
        run_once(app)
        app.ingestor.defer_unchanged = True
        app.ingestor._unchanged.size = 2  # noqa: SLF001 (a small batch, to see it fill)
        for feed in app.feeds:
            assert app.ingestor.poll(feed, force=True).outcome == "not_modified"
        polls = sorted(_feed_row(app, f.name).polls for f in app.feeds)
        assert polls == [1, 2, 2, 2, 2]  # two full batches written, the fifth still waiting
        app.ingestor.flush_unchanged(force=True)
        assert {_feed_row(app, f.name).polls for f in app.feeds} == {2}
    finally:
        app.close()


def test_poll_once_writes_its_unchanged_polls_before_it_returns(feed_server, write_config):
    body = rss([item(SPORT_TITLE, SPORT_TEXT, "https://sport.example/x")])
    config = write_config([{"name": "etag", "url": feed_server.set("/e.xml", body, etag='"v1"')}])
    _run(config)
    app, report = _run(config)
    assert report.polls[0].outcome == "not_modified"
    row = _feed_row(app, "etag")
    assert row.polls == 2 and row.lease_owner is None and row.last_status == 304


def test_poll_once_drops_story_bands_past_the_story_window(feed_server, write_config):
    from pipeline import story_store
    from pipeline.models import StoryBand
    from pipeline.stories import signature

    url = feed_server.set("/s.xml", rss([item(SPORT_TITLE, SPORT_TEXT, "https://sport.example/x")]))
    app = App.build(load_config(write_config([{"name": "sport", "url": url}])))
    try:
        with app.sessions.begin() as session:
            story_store.create_story(session, signature(BORDER_TITLE, BORDER_TEXT), now() - timedelta(days=4))
            story_store.create_story(session, signature(BUSINESS_TITLE, BUSINESS_TEXT), now() - timedelta(hours=1))
        run_once(app)
        with app.sessions() as session:
            ages = {row.created_at.replace(tzinfo=None) > (now() - timedelta(days=1)).replace(tzinfo=None)
                    for row in session.scalars(select(StoryBand))}
        assert ages == {True}  # the four-day-old story's bands are gone, the recent one's kept
    finally:
        app.close()

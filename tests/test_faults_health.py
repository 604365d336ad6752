"""Fault suite, feed health: failing and silent feeds raise one operator alert and one
recovery message through the outbox; 410 disables a feed; 301 moves it."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest

from conftest import BORDER_TEXT, BORDER_TITLE, DISTINCT_REPORTS, item, read_jsonl, rss, open_store
from notifiers import render
from pipeline import feedhealth
from pipeline.cli import main

pytestmark = pytest.mark.faults
NOW = datetime(2026, 1, 1, 12, tzinfo=timezone.utc)


def _config(write_config, feeds):
    return write_config(feeds, notifiers=[{"name": "archive", "type": "jsonl", "path": "alerts.jsonl"},
                                          {"name": "ops", "type": "jsonl", "path": "ops.jsonl"}],
                        routes=[{"notify": ["archive"]}], operator={"notify": ["ops"]})


def _poll(config) -> None:
    assert main(["--config", str(config), "poll", "--once"]) == 0


def test_a_failing_feed_raises_one_operator_alert_then_one_recovery(feed_server, write_config, tmp_path, capsys):
    url = feed_server.set("/f.xml", "down", status=503)
    config = _config(write_config, [{"name": "bbc-world", "url": url, "max_failures": 2}])
    for _ in range(4):
        _poll(config)
    (alert,) = read_jsonl(tmp_path / "ops.jsonl")
    assert alert["event"] == "operator" and alert["reason"] == "feed_failing"
    assert alert["title"].startswith("Feed bbc-world failing: HTTP 503") and "2 times in a row" in alert["title"]
    assert read_jsonl(tmp_path / "alerts.jsonl") == []  # operator messages do not take the alert routes
    assert main(["--config", str(config), "feeds"]) == 0
    row = capsys.readouterr().out.splitlines()[1].split()
    assert row[:3] == ["bbc-world", "failing", "4"]
    feed_server.set("/f.xml", rss([item(BORDER_TITLE, BORDER_TEXT, "https://n.example/1")]))
    _poll(config)
    _poll(config)
    alerts = read_jsonl(tmp_path / "ops.jsonl")
    assert [a["reason"] for a in alerts] == ["feed_failing", "feed_recovered"]
    assert len(read_jsonl(tmp_path / "alerts.jsonl")) == 1


def test_a_silent_feed_raises_one_alert_and_recovers_with_new_items(feed_server, write_config, tmp_path):
    (t1, x1), (t2, x2) = DISTINCT_REPORTS[:2]
    url = feed_server.set("/s.xml", rss([item(t1, x1, "https://n.example/1")]))
    config = _config(write_config, [{"name": "quiet", "url": url, "expect_every": "1s"}])
    _poll(config)
    time.sleep(1.2)
    _poll(config)
    _poll(config)
    assert [a["reason"] for a in read_jsonl(tmp_path / "ops.jsonl")] == ["feed_silent"]
    feed_server.set("/s.xml", rss([item(t1, x1, "https://n.example/1"), item(t2, x2, "https://n.example/2")]))
    _poll(config)
    assert [a["reason"] for a in read_jsonl(tmp_path / "ops.jsonl")] == ["feed_silent", "feed_recovered"]


def test_410_gone_disables_the_feed_until_its_url_changes(feed_server, write_config, tmp_path, capsys):
    url = feed_server.set("/gone.xml", "gone", status=410)
    config = _config(write_config, [{"name": "old", "url": url}])
    _poll(config)
    _poll(config)
    assert len(feed_server.hits("/gone.xml")) == 1  # not polled again
    assert [a["reason"] for a in read_jsonl(tmp_path / "ops.jsonl")] == ["feed_gone"]
    assert main(["--config", str(config), "feeds"]) == 0
    assert " gone " in capsys.readouterr().out
    new = feed_server.set("/new.xml", rss([item(BORDER_TITLE, BORDER_TEXT, "https://n.example/1")]))
    config.write_text(config.read_text().replace(url, new))
    _poll(config)
    assert len(feed_server.hits("/new.xml")) == 1


def test_a_permanent_redirect_moves_the_stored_url(feed_server, write_config, tmp_path, capsys):
    new = feed_server.set("/new.xml", rss([item(BORDER_TITLE, BORDER_TEXT, "https://n.example/1")]))
    feed_server.set("/old.xml", "", status=301, headers={"Location": "/new.xml"})
    config = _config(write_config, [{"name": "mover", "url": feed_server.url("/old.xml")}])
    _poll(config)
    _poll(config)
    assert len(feed_server.hits("/old.xml")) == 1 and len(feed_server.hits("/new.xml")) == 2
    with open_store(tmp_path) as db:
        assert db.execute("select moved_url from feeds").fetchone()[0] == new
    assert main(["--config", str(config), "feeds"]) == 0
    assert "moved to " + new in capsys.readouterr().out


def test_decisions_are_one_alert_per_problem():
    def health(**kw):
        base = dict(name="f", error_count=0, last_error=None, last_error_at=None, last_success_at=NOW,
                    last_new_at=NOW, alert_state=None, alert_since=None)
        return feedhealth.FeedHealth(**(base | kw))

    decide = feedhealth.decide
    assert decide(health(error_count=4), max_failures=5, expect_every=None, now=NOW).action == "none"
    raised = decide(health(error_count=5, last_error="HTTP 503"), max_failures=5, expect_every=None, now=NOW)
    assert (raised.action, raised.state) == ("raise", "failing") and "HTTP 503 (5 times" in raised.title
    still = decide(health(error_count=9, alert_state="failing"), max_failures=5, expect_every=None, now=NOW)
    assert still.action == "none"
    late = NOW + timedelta(hours=7)
    assert decide(health(), max_failures=5, expect_every=timedelta(hours=6), now=late).state == "silent"
    cleared = decide(health(alert_state="failing", alert_since=NOW), max_failures=5, expect_every=None, now=late)
    assert cleared.action == "clear" and "recovered" in cleared.title
    gone = decide(health(gone=True, alert_state="gone"), max_failures=5, expect_every=None, now=late)
    assert gone.action == "none"


def test_an_operator_record_renders_sanely_on_every_channel():
    record = feedhealth.operator_record(alert_id=3, reason="feed_failing", severity="high", now=NOW,
                                        title="Feed bbc-world failing: HTTP 503\r\nBcc: x@evil (6 times)")
    assert "\n" not in render.subject(record) and "Feed bbc-world failing" in render.subject(record)
    assert "Feed bbc-world failing" in render.slack_text(record) and "Feed bbc-world" in render.html_fragment(record)
    assert "Feed bbc-world failing" in render.plain_text(record)

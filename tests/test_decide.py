"""Pure decisions: alert or not, routing, poll schedule and delivery backoff."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest

from pipeline.decide import Route, decide_article, select_notifiers
from pipeline.durations import format_duration, parse_duration
from pipeline.schedule import backoff_delay, next_poll

NOW = datetime(2026, 3, 1, 12, tzinfo=timezone.utc)


def test_decide_article_reasons():
    day = timedelta(hours=24)
    assert decide_article([], NOW, first_poll=False, backfill=day, now=NOW).reason == "no_match"
    old = NOW - timedelta(days=2)
    assert decide_article(["shelling"], old, first_poll=True, backfill=day, now=NOW).reason == "backfill"
    assert decide_article(["shelling"], None, first_poll=True, backfill=day, now=NOW).reason == "backfill"
    assert decide_article(["shelling"], old, first_poll=False, backfill=day, now=NOW).alert
    assert decide_article(["shelling"], old, first_poll=True, backfill=None, now=NOW).alert


def test_routes_first_match_wins_unless_continue():
    record = {"categories": ["shelling"], "severity": "medium"}
    routes = [Route(("a",), categories=("treaty_appeal",)),
              Route(("b",), min_severity="medium", continue_=True),
              Route(("c",), min_severity="high"),
              Route(("d",))]
    assert select_notifiers(record, "f", [], routes, ["a", "b", "c", "d"]) == ["b", "d"]
    assert select_notifiers(record, "f", [], [], ["a", "b"]) == ["a", "b"]
    assert select_notifiers(record, "f", ["ua"], [Route(("x",), tags=("am",))], ["x"]) == []


def test_next_poll_jitter_and_backoff():
    every = timedelta(minutes=10)
    rng = random.Random(1)
    times = [next_poll(NOW, every, rng=rng) - NOW for _ in range(50)]
    assert all(timedelta(minutes=9) <= t <= timedelta(minutes=11) for t in times) and len(set(times)) > 1
    third = next_poll(NOW, every, error_count=3, jitter=0)
    assert third - NOW == timedelta(minutes=40)
    capped = next_poll(NOW, every, error_count=12, jitter=0, max_backoff=timedelta(hours=1))
    assert capped - NOW == timedelta(hours=1)
    assert next_poll(NOW, every, retry_after=7200, jitter=0) - NOW == timedelta(hours=2)


def test_delivery_backoff():
    base, ceiling = timedelta(seconds=5), timedelta(minutes=30)
    assert [backoff_delay(n, base, ceiling).total_seconds() for n in (1, 2, 3)] == [5, 10, 20]
    assert backoff_delay(20, base, ceiling) == ceiling
    assert backoff_delay(1, base, ceiling, retry_after=2.0) == base
    assert backoff_delay(1, base, ceiling, retry_after=90) == timedelta(seconds=90)


@pytest.mark.parametrize("text, seconds", [("30s", 30), ("10m", 600), ("1h30m", 5400), ("7d", 604800), (45, 45)])
def test_durations(text, seconds):
    assert parse_duration(text).total_seconds() == seconds


def test_bad_durations():
    for bad in ("", "soon", "10 minutes", "5x", -1):
        with pytest.raises(ValueError):
            parse_duration(bad)
    assert format_duration(timedelta(seconds=5400)) == "1h30m"

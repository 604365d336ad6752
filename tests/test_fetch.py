"""The HTTP fetcher against a real local server: conditional GET, caps, redirects, errors."""

from __future__ import annotations

import gzip

from pipeline.fetch import FetchRequest, HttpFetcher, parse_retry_after


def fetcher(**kwargs) -> HttpFetcher:
    return HttpFetcher.create(connect_timeout=2, read_timeout=2, total_timeout=kwargs.pop("total", 5), **kwargs)


def test_conditional_get_sends_validators_and_gets_304(feed_server):
    url = feed_server.set("/f.xml", "<rss/>", etag='"e1"', last_modified="Wed, 01 Jan 2026 00:00:00 GMT")
    client = fetcher()
    first = client.fetch(FetchRequest(url))
    assert first.outcome == "ok" and first.etag == '"e1"' and first.body == b"<rss/>"
    second = client.fetch(FetchRequest(url, etag=first.etag, last_modified=first.last_modified))
    assert second.outcome == "not_modified"
    assert feed_server.hits("/f.xml")[-1].headers["if-modified-since"] == "Wed, 01 Jan 2026 00:00:00 GMT"


def test_decoded_size_cap_applies_to_gzip(feed_server):
    bomb = gzip.compress(b"<rss>" + b" " * 5_000_000)
    url = feed_server.set("/bomb.xml", bomb, headers={"Content-Encoding": "gzip"})
    result = fetcher().fetch(FetchRequest(url, max_bytes=1_000_000))
    assert result.outcome == "error" and "larger than" in result.error
    ok = fetcher().fetch(FetchRequest(url, max_bytes=10_000_000))
    assert ok.outcome == "ok" and len(ok.body) == 5_000_005


def test_redirects_are_followed_and_bounded(feed_server):
    target = feed_server.set("/new.xml", "<rss/>")
    feed_server.set("/old.xml", "", status=301, headers={"Location": "/new.xml"})
    moved = fetcher().fetch(FetchRequest(feed_server.url("/old.xml")))
    assert moved.outcome == "ok" and moved.moved_to == target
    feed_server.set("/loop.xml", "", status=302, headers={"Location": "/loop.xml"})
    loop = fetcher(max_redirects=3).fetch(FetchRequest(feed_server.url("/loop.xml")))
    assert loop.outcome == "error" and "too many redirects" in loop.error
    assert len(feed_server.hits("/loop.xml")) == 4
    feed_server.set("/file.xml", "", status=302, headers={"Location": "file:///etc/passwd"})
    assert "destination not allowed" in fetcher().fetch(FetchRequest(feed_server.url("/file.xml"))).error


def test_rate_limit_keeps_retry_after(feed_server):
    url = feed_server.set("/busy.xml", "slow down", status=429, headers={"Retry-After": "120"})
    result = fetcher().fetch(FetchRequest(url))
    assert result.outcome == "error" and result.status == 429 and result.retry_after == 120


def test_total_deadline_and_refused_connection(feed_server):
    url = feed_server.set("/slow.xml", "<rss/>", delay=3)
    slow = fetcher(total=1).fetch(FetchRequest(url))
    assert slow.outcome == "error" and "timed out" in slow.error
    refused = fetcher().fetch(FetchRequest("http://127.0.0.1:9/none.xml"))
    assert refused.outcome == "error" and "Connect" in refused.error


def test_parse_retry_after_forms():
    assert parse_retry_after("5") == 5
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0
    assert parse_retry_after("soon") is None

"""Parsing and normalization of feed entries (pure), written against hostile input."""

from __future__ import annotations

import pytest

from conftest import item, rss
from pipeline.articles import canonical_url, plain_text
from pipeline.parse import NotAFeed, parse_feed


def test_titles_and_summaries_become_plain_text():
    assert plain_text("<p>Shelling in <b>Kapan</b> &amp; Goris</p><script>alert(1)</script>") == "Shelling in Kapan & Goris"
    assert plain_text("a\x00b\x1bc\u202e") == "abc"
    assert plain_text("one<br>two") == "one\ntwo"


@pytest.mark.parametrize("raw, expected", [
    ("https://News.Example/a?utm_source=rss&id=3#top", "https://news.example/a?id=3"),
    ("http://news.example:80/b?fbclid=x", "http://news.example/b"),
    ("javascript:alert(1)", None),
    ("file:///etc/passwd", None),
    ("", None),
])
def test_canonical_url(raw, expected):
    assert canonical_url(raw) == expected


def test_entries_parse_with_identity_keys_and_dates():
    feed = parse_feed(rss([item("Clashes near Avdiivka", "Fighting continued.", "https://x.example/1?utm_medium=a",
                                guid="tag:x.example,2026:1")]).encode(), "x", "X News")
    (article,) = feed.articles
    assert article.url == "https://x.example/1" and article.outlet == "X News"
    assert article.published is not None and article.published.tzinfo is not None
    kinds = sorted(k.split(":")[0] for k in article.keys)
    assert kinds == ["fp", "guid", "url"]


def test_bare_guids_are_scoped_to_their_feed():
    body = rss([item("Title", "Text", "https://x.example/1", guid="12345")]).encode()
    a = parse_feed(body, "one", "One").articles[0]
    b = parse_feed(body, "two", "Two").articles[0]
    guid = lambda art: next(k for k in art.keys if k.startswith("guid:"))  # noqa: E731
    assert guid(a) != guid(b)


def test_fingerprint_ignores_case_and_punctuation():
    a = parse_feed(rss([item("Shelling hits Kapan!", "Two killed.", "https://a.example/1")]).encode(), "a", "A")
    b = parse_feed(rss([item("shelling hits kapan", "two killed", "https://b.example/9")]).encode(), "b", "B")
    assert a.articles[0].fingerprint == b.articles[0].fingerprint


@pytest.mark.parametrize("body, message", [
    (b"<!DOCTYPE html><html><body>Log in</body></html>", "HTML page"),
    (b"", "empty"),
    (b'{"items": []}', "not an RSS/Atom feed"),
    (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><rss>&b;</rss>',
     "entities"),
])
def test_not_a_feed(body, message):
    with pytest.raises(NotAFeed, match=message):
        parse_feed(body, "f", "F")


@pytest.mark.parametrize("path", ["/dev/zero", "/etc/passwd"])
def test_a_body_that_reads_like_a_path_is_never_opened(path):
    with pytest.raises(NotAFeed):
        parse_feed(path.encode(), "f", "F")


def test_atom_content_is_preferred_over_a_short_summary():
    body = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><id>urn:x</id><updated>2026-01-01T00:00:00Z</updated>
<entry><title>Drone strike</title><id>urn:x:1</id><updated>2026-01-01T00:00:00Z</updated>
<link href="https://x.example/e1"/><summary>Short.</summary>
<content type="html">&lt;p&gt;A drone strike hit the town overnight, officials said.&lt;/p&gt;</content></entry></feed>"""
    (article,) = parse_feed(body, "x", "X").articles
    assert article.text == "A drone strike hit the town overnight, officials said."
    assert article.guid == "urn:x:1"

"""Feed bytes to articles (pure: feedparser never fetches, never opens a path).

``feedparser.parse`` treats ``bytes`` or ``str`` that read like a file path as a path
to open, so the body always goes in as a file object. Documents that declare entities
are refused before parsing: the loose parser expands them without limit.
"""

from __future__ import annotations

import calendar
import io
import re
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any

import feedparser

from pipeline.articles import ParsedArticle, canonical_url, fingerprint, identity_keys, plain_text

_ENTITY_DECL = re.compile(rb"<!ENTITY", re.I)
_DOCTYPE = re.compile(rb"<!DOCTYPE[^>\[]*\[", re.I)
_HTML_START = re.compile(rb"^\s*(<!--.*?-->\s*)*<(!doctype\s+html|html)[\s>]", re.I | re.S)


class NotAFeed(ValueError):
    """The body is not an RSS/Atom document (an HTML page, JSON, an entity bomb...)."""


@dataclass(frozen=True)
class ParsedFeed:
    articles: list[ParsedArticle]
    # feedparser's complaint about a malformed document whose complete entries we kept.
    warning: str | None = None


def parse_feed(body: bytes, feed_name: str, outlet: str) -> ParsedFeed:
    """Parse a feed body; raises NotAFeed when nothing in it is a feed."""
    head = body[:4096]
    if _DOCTYPE.search(head) and _ENTITY_DECL.search(body[:65536]):
        raise NotAFeed("document declares XML entities; refused (entity expansion attack risk)")
    if not body.strip():
        raise NotAFeed("empty response body")
    parsed = feedparser.parse(io.BytesIO(body), sanitize_html=True, resolve_relative_uris=False)
    version = parsed.get("version") or ""
    if not parsed.entries and not version:
        if _HTML_START.search(head):
            raise NotAFeed("got an HTML page, not a feed")
        problem = parsed.get("bozo_exception")
        raise NotAFeed(f"not an RSS/Atom feed ({problem})" if problem else "not an RSS/Atom feed")
    articles = [a for a in (entry_to_article(e, outlet) for e in parsed.entries) if a is not None]
    articles = [replace(a, keys=identity_keys(a, feed_name)) for a in articles]
    warning = str(parsed.get("bozo_exception")) if parsed.get("bozo") else None
    return ParsedFeed(articles, warning)


def entry_to_article(entry: Any, outlet: str) -> ParsedArticle | None:
    """One feedparser entry to a ParsedArticle; None when it has neither title nor text."""
    title = plain_text(entry.get("title"))
    text = plain_text(_body(entry))
    if not title and not text:
        return None
    if text == title:
        text = ""
    url = canonical_url(entry.get("link"))
    guid = (entry.get("id") or "").strip()[:1000] or None
    return ParsedArticle(
        title=title,
        text=text,
        url=url,
        guid=guid,
        published=_published(entry),
        outlet=outlet,
        fingerprint=fingerprint(title, text),
    )


def _body(entry: Any) -> str:
    """The longest of content and summary: some feeds put the full text in content."""
    candidates = [c.get("value", "") for c in entry.get("content") or []]
    candidates.append(entry.get("summary") or "")
    return max(candidates, key=len)


def _published(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(key)
        if value:
            try:
                return datetime.fromtimestamp(calendar.timegm(value), tz=timezone.utc)
            except (OverflowError, ValueError, OSError):
                continue
    return None

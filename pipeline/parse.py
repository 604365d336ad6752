"""Feed bytes to articles (pure: feedparser never fetches, never opens a path).

``feedparser.parse`` treats ``bytes`` or ``str`` that read like a file path as a path
to open, so the body always goes in as a file object. A document type with an
internal subset is checked first (pipeline.parse.check_dtd): feedparser's loose
parser expands entities without limit once expat gives up on a document.

What is not a feed says so: an HTML page, JSON, binary data and an empty body each
raise NotAFeed with their own message instead of passing as an empty feed.
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

_HTML_START = re.compile(rb"^\s*(<!--.*?-->\s*)*<(!doctype\s+html|html)[\s>]", re.I | re.S)
_FEED_END = re.compile(rb"</(?:[\w-]+:)?(?:rss|feed|rdf)>\s*$", re.I)

# Limits for entities declared in a feed's own DTD (docs/RELIABILITY.md, "Entities").
MAX_ENTITIES = 32
MAX_ENTITY_VALUE = 256
MAX_EXPANSION = 1_000_000  # characters that all references together may add
MAX_SUBSET = 65_536

_DECL = re.compile(rb"""
    \s+
  | <!--.*?-->
  | <\?.*?\?>
  | <!ENTITY\s+(?P<pe>%\s*)?(?P<name>[\w.:-]+)\s+(?P<ext>SYSTEM|PUBLIC\b)?\s*(?P<q>["'])(?P<value>.*?)(?P=q)[^>]*>
  | <!(?:ELEMENT|ATTLIST|NOTATION)(?:[^>"']|"[^"]*"|'[^']*')*>
""", re.S | re.X)
_DOCTYPE = re.compile(rb"<!DOCTYPE\s+[\w.:-]+(?:\s+(?:SYSTEM|PUBLIC)(?:\s*\"[^\"]*\"|\s*'[^']*')+)?\s*\[", re.I)
_C0 = re.compile(r"[\x00-\x1f\x7f]")
_CHAR_REF = re.compile(rb"^&#(?:\d{1,7}|x[0-9a-f]{1,6});$", re.I)


class NotAFeed(ValueError):
    """The body is not an RSS/Atom document (an HTML page, JSON, an entity bomb...)."""


@dataclass(frozen=True)
class ParsedFeed:
    articles: list[ParsedArticle]
    # feedparser's complaint about a malformed document whose complete entries we kept.
    warning: str | None = None


def check_dtd(body: bytes) -> None:
    """Refuse entity attacks before any parser sees them; small internal entities pass.

    Allowed: at most MAX_ENTITIES general entities, each an internal value of at most
    MAX_ENTITY_VALUE bytes with no reference inside (a single character reference
    such as ``&#160;`` is fine), used so that all references add at most
    MAX_EXPANSION characters. Refused: external (SYSTEM/PUBLIC) and parameter
    entities, nested references, and an internal subset we cannot read plainly.
    """
    view = _ascii_view(body)
    found = _DOCTYPE.search(view, 0, 4096)
    if found is None:
        if re.search(rb"<!ENTITY", view[:MAX_SUBSET], re.I):
            raise NotAFeed("entity declaration outside a readable DTD; refused")
        return
    entities, end = _read_subset(view, found.end())
    body_refs = view[end:]
    expansion = sum(len(value) * body_refs.count(b"&" + name + b";") for name, value in entities.items())
    if expansion > MAX_EXPANSION:
        raise NotAFeed(f"entities would expand to {expansion} characters; refused (entity expansion attack)")


def _read_subset(view: bytes, pos: int) -> tuple[dict[bytes, bytes], int]:
    entities: dict[bytes, bytes] = {}
    while True:
        if pos > MAX_SUBSET:
            raise NotAFeed("document type declaration too large; refused")
        end = re.compile(rb"\]\s*>").match(view, pos)
        if end is not None:
            return entities, end.end()
        match = _DECL.match(view, pos)
        if match is None:
            raise NotAFeed("unreadable document type declaration; refused")
        if match.group("name") is not None:
            _check_entity(match, entities)
        pos = match.end()


def _check_entity(match: re.Match[bytes], entities: dict[bytes, bytes]) -> None:
    name, value = match.group("name"), match.group("value")
    if match.group("pe") or match.group("ext"):
        raise NotAFeed("external or parameter entity declared; refused (XXE risk)")
    if len(value) > MAX_ENTITY_VALUE:
        raise NotAFeed(f"entity '{name.decode(errors='replace')}' is {len(value)} bytes; refused "
                       "(entity expansion attack)")
    if (b"&" in value and not _CHAR_REF.match(value)) or b"%" in value:
        raise NotAFeed("entity refers to other entities; refused (entity expansion attack)")
    entities[name] = value
    if len(entities) > MAX_ENTITIES:
        raise NotAFeed(f"more than {MAX_ENTITIES} entities declared; refused")


def _ascii_view(body: bytes) -> bytes:
    """The document as ASCII-compatible bytes, also when it is UTF-16/32."""
    head = body
    for bom, codec in ((b"\xff\xfe\x00\x00", "utf-32-le"), (b"\x00\x00\xfe\xff", "utf-32-be"),
                       (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if head.startswith(bom):
            return head[len(bom):].decode(codec, errors="replace").encode("utf-8", errors="replace")
    if head[:2] == b"<\x00":
        return head.decode("utf-16-le", errors="replace").encode("utf-8", errors="replace")
    if head[:2] == b"\x00<":
        return head.decode("utf-16-be", errors="replace").encode("utf-8", errors="replace")
    return head


def _not_a_feed(body: bytes, problem: object) -> NotAFeed:
    head = _ascii_view(body[:8192])
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if _HTML_START.search(head):
        return NotAFeed("got an HTML page, not a feed")
    if stripped[:1] in (b"{", b"["):
        return NotAFeed("got JSON, not an RSS/Atom feed")
    if b"\x00" in head or sum(b < 9 or 13 < b < 32 for b in head[:1024]) > 8:
        return NotAFeed("got binary data, not a feed")
    return NotAFeed(f"not an RSS/Atom feed ({problem})" if problem else "not an RSS/Atom feed")


def parse_feed(body: bytes, feed_name: str, outlet: str) -> ParsedFeed:
    """Parse a feed body; raises NotAFeed when nothing in it is a feed."""
    if not body.strip():
        raise NotAFeed("empty response body")
    check_dtd(body)
    parsed = feedparser.parse(io.BytesIO(body), sanitize_html=True, resolve_relative_uris=False)
    version = parsed.get("version") or ""
    if not parsed.entries and not version:
        raise _not_a_feed(body, parsed.get("bozo_exception"))
    entries = list(parsed.entries)
    if parsed.get("bozo") and entries and not _FEED_END.search(body[-512:].rstrip(b"\x00")):
        entries = entries[:-1]  # a cut-off document: its last entry may be cut off too
    articles = [a for a in (entry_to_article(e, outlet) for e in entries) if a is not None]
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
    guid = _C0.sub("", (entry.get("id") or "")).strip()[:1000] or None
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

"""Normalized articles and their identity (pure).

Feed text is hostile input: titles and summaries become plain text (no markup,
entities decoded, no control characters), links keep only http(s), and tracking
parameters go so that one story syndicated under ``?utm_source=...`` variants is
recognised as the same article.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

_TRACKING = re.compile(r"^(utm_[a-z_]+|fbclid|gclid|mc_cid|mc_eid|ocid|cmpid|at_medium|at_campaign"
                       r"|at_custom\d*|ns_mchannel|ns_source|ns_campaign|ns_linkname|ns_fee|xtor|_ga|ref_src)$",
                       re.I)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_WORD = re.compile(r"\w+")
_BLOCK_TAGS = {"p", "br", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "section"}


@dataclass(frozen=True)
class ParsedArticle:
    """One feed entry as plain, trustworthy-to-handle text."""

    title: str
    text: str
    url: str | None
    guid: str | None
    published: datetime | None
    outlet: str
    fingerprint: str = field(default="")
    keys: tuple[str, ...] = ()


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "template"):
            self._skip += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "template") and self._skip:
            self._skip -= 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def plain_text(markup: str | None) -> str:
    """Markup or plain text in, clean plain text out (paragraph breaks kept)."""
    if not markup:
        return ""
    if "<" in markup or "&" in markup:
        extractor = _TextExtractor()
        extractor.feed(markup)
        extractor.close()
        markup = "".join(extractor.parts)
    text = _CONTROL.sub("", unicodedata.normalize("NFC", markup))
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def canonical_url(url: str | None) -> str | None:
    """http(s) only, lower-case host, no fragment, no tracking parameters."""
    if not url:
        return None
    url = _CONTROL.sub("", url).strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                       if not _TRACKING.match(k)])
    netloc = parts.netloc.lower()
    for default in (":80", ":443"):
        if netloc.endswith(default) and parts.scheme.lower() == {":80": "http", ":443": "https"}[default]:
            netloc = netloc[: -len(default)]
    return urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", query, ""))


def fingerprint(*texts: str) -> str:
    """Hash of the words only, so case, punctuation and markup changes do not matter."""
    words = " ".join(" ".join(_WORD.findall(t.lower())) for t in texts)
    return hashlib.sha256(words.encode("utf-8")).hexdigest()


def identity_keys(article: ParsedArticle, feed_name: str) -> tuple[str, ...]:
    """Keys under which an exact duplicate would be recognised.

    A guid that is a URL or URN is global; a bare one (``12345``) only means something
    inside its own feed. A long body on its own is a key too: syndicators rewrite
    headlines but keep the wire copy.
    """
    keys = [f"fp:{article.fingerprint}"]
    if article.url:
        keys.append("url:" + hashlib.sha256(article.url.encode()).hexdigest())
    if article.guid:
        scoped = article.guid if ":" in article.guid else f"{feed_name}\x1f{article.guid}"
        keys.append("guid:" + hashlib.sha256(scoped.encode()).hexdigest())
    if len(_WORD.findall(article.text)) >= 40:
        keys.append(f"body:{fingerprint(article.text)}")
    return tuple(keys)

"""Pure rendering of alert records, shared by every notifier: subject, plain text,
Slack blocks, HTML, and the digest / summary forms of several alerts.

Everything in a record that came from a feed is hostile: a title may carry
``<!channel>``, ``<https://evil|bank>``, CR/LF plus ``Bcc:``, or ``<script>``. Each
channel gets its own escaping here, and links are kept only when they are http(s).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

_CATEGORY_LABELS = {
    "shelling": "Shelling",
    "armed_clash": "Armed clash",
    "casualties": "Casualties",
    "treaty_appeal": "Treaty appeal",
    "ceasefire_violation": "Ceasefire violation",
}
_EVENT_LABELS = {"new": "", "update": "Update", "escalation": "Escalation"}
SLACK_SECTION_LIMIT = 3000  # characters in one section's text (Block Kit)

Record = dict[str, Any]


# ---- shared facts --------------------------------------------------------------

def category_label(category: str) -> str:
    return _CATEGORY_LABELS.get(category, category.replace("_", " ").capitalize())


def one_line(text: Any, limit: int = 300) -> str:
    """Collapse whitespace and control characters so feed text cannot add lines or headers."""
    flat = " ".join("".join(ch if ch.isprintable() else " " for ch in str(text or "")).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def safe_url(url: Any) -> str | None:
    """The URL if it is http(s) with a host, else None (no javascript:, data:, file:)."""
    text = one_line(url, 2000)
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    return text if parts.scheme.lower() in ("http", "https") and parts.hostname else None


def place_names(record: Record) -> list[str]:
    return [one_line(p.get("name"), 80) for p in record.get("places") or [] if isinstance(p, dict) and p.get("name")]


def _named(items: Sequence[Any]) -> list[str]:
    return [one_line(i.get("name") if isinstance(i, dict) else i, 100) for i in items if i]


def facts(record: Record) -> list[tuple[str, str]]:
    """(label, value) pairs for places, parties, casualties and treaties, where known."""
    out = []
    places = place_names(record)
    if places:
        countries = sorted({one_line(p.get("country"), 3) for p in record.get("places") or []
                            if isinstance(p, dict) and p.get("country")})
        out.append(("Places", ", ".join(places) + (f" ({', '.join(countries)})" if countries else "")))
    if record.get("actors"):
        out.append(("Parties", ", ".join(_named(record["actors"]))))
    casualties = record.get("casualties") or {}
    counted = [f"{key} {value}" for key, value in casualties.items() if isinstance(value, int)]
    if counted:
        out.append(("Casualties", ", ".join(counted)))
    if record.get("treaties"):
        out.append(("Treaties", ", ".join(_named(record["treaties"]))))
    return out


def _categories(record: Record) -> str:
    """``Shelling, ceasefire violation``: the first capitalised, as in a sentence."""
    labels = [category_label(c) for c in record.get("categories") or []]
    return ", ".join(labels[:1] + [label.lower() for label in labels[1:]]) or "Alert"


def _severity(record: Record) -> str:
    return one_line(record.get("severity") or "low", 10).upper()


def headline(record: Record) -> str:
    """``HIGH · Shelling, ceasefire violation`` (with ``Update``/``Escalation`` in front)."""
    event = _EVENT_LABELS.get(str(record.get("event")), "")
    return f"{event + ' · ' if event else ''}{_severity(record)} · {_categories(record)}"


def subject(record: Record) -> str:
    """``[cfwatch][HIGH] Shelling, ceasefire violation: Goris, Kapan (AM)``; one line."""
    places = next((value for label, value in facts(record) if label == "Places"), "")
    event = _EVENT_LABELS.get(str(record.get("event")), "")
    prefix = f"[cfwatch][{_severity(record)}]" + (f" {event}:" if event else "")
    return one_line(f"{prefix} {_categories(record)}: {places or one_line(record.get('title'), 120)}", 250)


def matched_words(record: Record) -> list[tuple[str, str]]:
    return [(str(m.get("category")), ", ".join(one_line(w, 60) for w in m.get("text") or []))
            for m in record.get("matches") or []]


def sources(record: Record) -> list[tuple[str, str | None, str]]:
    """(outlet, http(s) URL or None, title) per source."""
    return [(one_line(s.get("outlet") or "?", 80), safe_url(s.get("url")), one_line(s.get("title"), 200))
            for s in record.get("sources") or []]


# ---- plain text ---------------------------------------------------------------

def plain_text(record: Record) -> str:
    """A readable multi-line summary for terminals and plain-text mail."""
    lines = [subject(record), one_line(record.get("title"))]
    url = safe_url(record.get("url"))
    if url:
        lines.append(url)
    lines.extend(f"  {label}: {value}" for label, value in facts(record))
    lines.extend(f"  {category}: {words}" for category, words in matched_words(record))
    listed = sources(record)
    if listed:
        lines.append(f"  Sources ({len(listed)}):")
        lines.extend(f"    - {outlet}: {link or title}" for outlet, link, title in listed)
    lines.append(_footer(record))
    return "\n".join(lines)


def _footer(record: Record) -> str:
    if record.get("incident_id") is None:  # an operator message: about the watcher, not an event
        return f"  operator message · {one_line(record.get('reason'), 40)}"
    return f"  incident {record.get('incident_id')} · {record.get('event')} · {record.get('reason')}"


def digest_subject(records: Sequence[Record]) -> str:
    worst = max((str(r.get("severity") or "low") for r in records), key=_severity_rank, default="low")
    return one_line(f"[cfwatch][{worst.upper()}] Digest: {len(records)} alert{'s' * (len(records) != 1)}", 250)


def digest_text(records: Sequence[Record]) -> str:
    return "\n\n".join(plain_text(r) for r in records)


def _severity_rank(severity: str) -> int:
    order = ("low", "medium", "high", "critical")
    return order.index(severity) if severity in order else -1


# ---- Slack --------------------------------------------------------------------

def slack_escape(text: Any, limit: int = 3000) -> str:
    """Slack's three control characters, so ``<!channel>`` is shown, never acted on."""
    return one_line(text, limit).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_link(url: Any, label: Any) -> str:
    """``<url|label>`` for http(s) URLs; otherwise just the escaped label."""
    link = safe_url(url)
    if not link:
        return slack_escape(label, 300)
    href = link.replace("&", "&amp;").replace("<", "%3C").replace(">", "%3E").replace("|", "%7C")
    return f"<{href}|{slack_escape(label, 300)}>"


def slack_text(record: Record) -> str:
    """The notification/fallback text: one escaped line."""
    return slack_escape(f"{headline(record)}: {one_line(record.get('title'), 200)}", 400)


def slack_blocks(record: Record) -> list[dict[str, Any]]:
    """Block Kit: header, linked title, facts, matched words, sources."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": one_line(headline(record), 150)}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "*" + slack_link(record.get("url"),
                                                                                  record.get("title") or "(no title)") + "*"}},
    ]
    fields = [{"type": "mrkdwn", "text": f"*{label}*\n{slack_escape(value, 500)}"} for label, value in facts(record)]
    if fields:
        blocks.append({"type": "section", "fields": fields[:10]})
    words = "; ".join(f"{category_label(c)}: {slack_escape(w, 300)}" for c, w in matched_words(record))
    if words:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": one_line("Matched: " + words, 2900)}]})
    listed = sources(record)
    if listed:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _slack_sources(listed)}})
    return blocks


def _slack_sources(listed: list[tuple[str, str | None, str]], limit: int = SLACK_SECTION_LIMIT) -> str:
    """As many source lines as fit in one section; Slack refuses a longer one outright."""
    head, lines, used = f"*Sources ({len(listed)})*", [], 0
    for outlet, link, title in listed[:10]:
        line = f"• {slack_escape(outlet, 80)}: {slack_link(link, title)}"
        if len(head) + used + len(line) + 40 > limit:
            break
        lines.append(line)
        used += len(line) + 1
    rest = len(listed) - len(lines)
    return "\n".join([head, *lines] + ([f"…and {rest} more"] if rest else []))


def slack_summary_blocks(records: Sequence[Record], shown: int = 15) -> list[dict[str, Any]]:
    """One message standing in for a burst: the first few titles, then "and N more"."""
    lines = [f"• {slack_escape(headline(r), 100)}: {slack_link(r.get('url'), r.get('title') or '(no title)')}"
             for r in records[:shown]]
    more = f"\n…and {len(records) - shown} more incidents" if len(records) > shown else ""
    return [{"type": "header", "text": {"type": "plain_text", "text": f"{len(records)} more incidents"}},
            {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines) + more}}]


# ---- HTML (email) -------------------------------------------------------------

def _h(text: Any, limit: int = 3000) -> str:
    return html.escape(one_line(text, limit), quote=True)


def _a(url: Any, label: Any) -> str:
    link = safe_url(url)
    return f'<a href="{html.escape(link, quote=True)}">{_h(label, 300)}</a>' if link else _h(label, 300)


def html_fragment(record: Record) -> str:
    """One alert as escaped HTML (no markup from the feed survives)."""
    parts = [f"<h2>{_h(headline(record), 200)}</h2>",
             f"<p><strong>{_a(record.get('url'), record.get('title') or '(no title)')}</strong></p>"]
    rows = "".join(f"<tr><th align=\"left\">{_h(label)}</th><td>{_h(value)}</td></tr>" for label, value in facts(record))
    if rows:
        parts.append(f"<table>{rows}</table>")
    words = "".join(f"<li>{_h(category_label(c))}: {_h(w)}</li>" for c, w in matched_words(record))
    if words:
        parts.append(f"<p>Matched:</p><ul>{words}</ul>")
    listed = "".join(f"<li>{_h(outlet)}: {_a(link, title)}</li>" for outlet, link, title in sources(record))
    if listed:
        parts.append(f"<p>Sources:</p><ul>{listed}</ul>")
    parts.append(f"<p><small>{_h(_footer(record).strip())}</small></p>")
    return "\n".join(parts)


def html_document(records: Sequence[Record]) -> str:
    body = "\n<hr>\n".join(html_fragment(r) for r in records)
    return f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head><body>\n{body}\n</body></html>"

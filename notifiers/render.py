"""Pure rendering of an alert record, shared by every notifier.

Feed text is untrusted: rendering here is plain text; channel-specific escaping
(Slack mrkdwn, HTML, mail headers) belongs with the channel that needs it.
"""

from __future__ import annotations

from typing import Any

_CATEGORY_LABELS = {
    "shelling": "Shelling",
    "armed_clash": "Armed clash",
    "casualties": "Casualties",
    "treaty_appeal": "Treaty appeal",
    "ceasefire_violation": "Ceasefire violation",
}


def category_label(category: str) -> str:
    return _CATEGORY_LABELS.get(category, category.replace("_", " ").capitalize())


def one_line(text: str, limit: int = 300) -> str:
    """Collapse whitespace and control characters so feed text cannot add lines."""
    flat = " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def place_names(record: dict[str, Any]) -> list[str]:
    return [p["name"] for p in record.get("places") or [] if p.get("name")]


def subject(record: dict[str, Any]) -> str:
    """``[cfwatch][HIGH] Shelling, ceasefire violation: Goris, Kapan (AM)``."""
    labels = [category_label(c) for c in record.get("categories") or []]
    cats = ", ".join(labels[:1] + [label.lower() for label in labels[1:]]) or "Alert"
    severity = str(record.get("severity") or "low").upper()
    where = ", ".join(place_names(record)[:3])
    countries = sorted({p.get("country") for p in record.get("places") or [] if p.get("country")})
    if where and countries:
        where += f" ({', '.join(countries)})"
    topic = where or one_line(str(record.get("title") or ""), 120)
    return one_line(f"[cfwatch][{severity}] {cats}: {topic}", 250)


def plain_text(record: dict[str, Any]) -> str:
    """A readable multi-line summary for terminals, logs and plain-text mail."""
    lines = [subject(record), one_line(str(record.get("title") or ""))]
    if record.get("url"):
        lines.append(one_line(str(record["url"]), 500))
    facts = _facts(record)
    if facts:
        lines.append(facts)
    for match in record.get("matches") or []:
        words = ", ".join(one_line(str(w), 60) for w in match.get("text") or [])
        lines.append(f"  {match.get('category')} ({match.get('rule')}): {words}")
    sources = record.get("sources") or []
    if sources:
        lines.append(f"  sources ({len(sources)}):")
        lines.extend(f"    - {one_line(str(s.get('outlet') or '?'), 60)}: {one_line(str(s.get('url') or ''), 300)}"
                     for s in sources)
    lines.append(f"  incident {record.get('incident_id')} · {record.get('event')} · {record.get('reason')}")
    return "\n".join(lines)


def _facts(record: dict[str, Any]) -> str:
    parts = []
    places = place_names(record)
    if places:
        parts.append("places: " + ", ".join(one_line(p, 60) for p in places))
    actors = record.get("actors") or []
    if actors:
        parts.append("actors: " + ", ".join(one_line(str(a.get("name", a) if isinstance(a, dict) else a), 60)
                                            for a in actors))
    casualties = record.get("casualties") or {}
    counted = [f"{k} {v}" for k, v in casualties.items() if isinstance(v, int)]
    if counted:
        parts.append("casualties: " + ", ".join(counted))
    treaties = record.get("treaties") or []
    if treaties:
        parts.append("treaties: " + ", ".join(one_line(str(t.get("name", t) if isinstance(t, dict) else t), 80)
                                              for t in treaties))
    return "  " + " · ".join(parts) if parts else ""

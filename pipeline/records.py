"""The alert record: the one shape every notifier, the JSONL archive and
``cfwatch alerts list --json`` share (DESIGN.md, "Alert record")."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Sequence


def iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def alert_record(*, alert_id: int, incident_id: int, event: str, reason: str, title: str, url: str | None,
                 published: datetime | None, result: dict[str, Any], sources: Sequence[dict[str, Any]],
                 created_at: datetime) -> dict[str, Any]:
    """Assemble an alert record from an article's rule result and its sources."""
    return {
        "alert_id": alert_id,
        "incident_id": incident_id,
        "event": event,
        "reason": reason,
        "categories": list(result.get("categories") or []),
        "severity": result.get("severity"),
        "title": title,
        "url": url,
        "published": iso(published),
        "created_at": iso(created_at),
        "places": list(result.get("places") or []),
        "actors": list(result.get("actors") or []),
        "casualties": dict(result.get("casualties") or {"killed": None, "injured": None}),
        "treaties": list(result.get("treaties") or []),
        "sources": [dict(s) for s in sources],
        "matches": [{"rule": m["rule"], "category": m["category"], "text": list(m.get("text") or [])}
                    for m in result.get("matches") or []],
    }

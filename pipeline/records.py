"""The alert record: the one shape every notifier, the JSONL archive and
``cfwatch alerts list --json`` share (DESIGN.md, "Alert record")."""

from __future__ import annotations

from datetime import datetime
from typing import Any


def iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def alert_record(*, alert_id: int, incident_id: int, event: str, reason: str, incident: dict[str, Any],
                 created_at: datetime) -> dict[str, Any]:
    """An alert record from an incident's merged facts (pipeline.incident_store.incident_record)."""
    published = incident.get("published")
    return {
        "alert_id": alert_id,
        "incident_id": incident_id,
        "event": event,
        "reason": reason,
        "categories": list(incident.get("categories") or []),
        "severity": incident.get("severity"),
        "title": incident.get("title"),
        "url": incident.get("url"),
        "published": iso(published) if isinstance(published, datetime) else published,
        "created_at": iso(created_at),
        "places": list(incident.get("places") or []),
        "countries": list(incident.get("countries") or []),
        "actors": list(incident.get("actors") or []),
        "casualties": dict(incident.get("casualties") or {"killed": None, "injured": None}),
        "treaties": list(incident.get("treaties") or []),
        "claims": dict(incident.get("claims") or {}),
        "agreements": list(incident.get("agreements") or []),
        "independent_sources": incident.get("independent_sources", len(incident.get("sources") or [])),
        "sources": [dict(s) for s in incident.get("sources") or []],
        "matches": [{"rule": m["rule"], "category": m["category"], "text": list(m.get("text") or [])}
                    for m in incident.get("matches") or []],
    }

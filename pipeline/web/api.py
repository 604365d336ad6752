"""The JSON shapes of ``/api/incidents`` and ``/api/incidents/{id}`` (pure).

Keys follow the alert record (DESIGN.md): ``places`` as {name, country, lat, lon},
``casualties`` as {killed, injured, killed_source, killed_range}, ``sources`` as
{outlet, url, title} (plus when it was seen), and ``independent_sources`` the count.
"""

from __future__ import annotations

from typing import Any

from pipeline.records import iso
from pipeline.web.highlight import Segments
from pipeline.web.queries import AlertView, IncidentDetail, IncidentRow, SourceView


def _text(parts: Segments) -> str:
    return "".join(text for text, _ in parts)


def incident_json(row: IncidentRow, sources: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "id": row.id, "title": row.title, "categories": row.categories, "severity": row.severity,
        "places": row.places, "countries": row.countries,
        "casualties": {"killed": row.killed, "injured": row.injured, "killed_source": row.killed_source,
                       "killed_range": row.killed_range},
        "independent_sources": row.sources, "sources": sources if sources is not None else [],
        "first_seen": iso(row.first_seen), "last_update": iso(row.last_update), "open": row.open,
        "url": f"/incidents/{row.id}",
    }


def source_json(source: SourceView) -> dict[str, Any]:
    words = sorted({text for part in [source.title, *source.snippets] for text, hit in part if hit}, key=str.lower)
    return {"outlet": source.outlet, "url": source.url, "title": _text(source.title),
            "seen_at": iso(source.seen_at), "published": iso(source.published_at), "rules": source.rules,
            "matched_words": words}


def alert_json(alert: AlertView) -> dict[str, Any]:
    return {
        "alert_id": alert.id, "created_at": iso(alert.created_at), "event": alert.event, "reason": alert.reason,
        "severity": alert.severity, "categories": alert.categories,
        "casualties": {"killed": alert.killed, "injured": alert.injured}, "independent_sources": alert.sources,
        "deliveries": [{"notifier": d.notifier, "status": d.status, "attempts": d.attempts,
                        "last_error": d.last_error, "sent_at": iso(d.sent_at),
                        "next_attempt_at": iso(d.next_attempt_at)} for d in alert.deliveries],
    }


def detail_json(detail: IncidentDetail) -> dict[str, Any]:
    out = incident_json(detail.incident, [source_json(s) for s in detail.sources])
    out.update({
        "first_event": iso(detail.first_event), "last_event": iso(detail.last_event),
        "places": detail.places, "actors": detail.actors, "treaties": detail.treaties,
        "agreements": detail.agreements, "claims": detail.claims, "matches": detail.matches,
        "figures": [{"outlet": f.outlet, "killed": f.killed, "injured": f.injured} for f in detail.figures],
        "alerts": [alert_json(a) for a in detail.alerts],
    })
    return out

"""Read-only queries behind the incident pages, the Atom feed and the JSON API.

Each function takes a session and returns plain dataclasses, so routes and templates
never touch ORM rows (and cannot lazy-load or write by accident). Lists are bounded
in SQL (time window, limit); filters on JSON columns compare the exact quoted value,
which filters.py has already checked against a closed set.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, Text, cast, select
from sqlalchemy.orm import Session

from notifiers.render import safe_url
from pipeline.incident_store import incident_record, to_state
from pipeline.incidents import casualties_summary
from pipeline.models import Alert, Article, ArticleSource, Delivery, Incident, MatchRow, Story
from pipeline.records import iso
from pipeline.web.filters import Filters
from pipeline.web.highlight import Segments, segments, snippets

ALERT_HISTORY = 200  # alerts shown per incident, newest kept


@dataclass(frozen=True)
class IncidentRow:
    id: int
    title: str
    categories: list[str]
    severity: str
    places: list[dict[str, Any]]   # name, country, lat, lon (as the rules found them)
    countries: list[str]
    killed: int | None
    injured: int | None
    killed_range: list[int] | None
    killed_source: str | None
    sources: int          # independent sources (stories)
    first_seen: datetime
    last_update: datetime
    open: bool            # a new report of the same event would still join it


@dataclass(frozen=True)
class SourceView:
    outlet: str
    url: str | None       # http(s) only
    seen_at: datetime
    published_at: datetime | None
    title: Segments
    snippets: list[Segments]
    rules: list[str]
    article_id: int
    repeat: bool          # the same article as an earlier source: its passages are shown there


@dataclass(frozen=True)
class FigureView:
    outlet: str
    killed: int | None
    injured: int | None


@dataclass(frozen=True)
class DeliveryView:
    notifier: str
    status: str
    attempts: int
    last_error: str | None
    sent_at: datetime | None
    next_attempt_at: datetime | None


@dataclass(frozen=True)
class AlertView:
    id: int
    incident_id: int | None
    created_at: datetime
    event: str
    reason: str
    severity: str
    categories: list[str]
    killed: int | None
    injured: int | None
    sources: int
    title: str
    places: list[str]
    deliveries: list[DeliveryView]


@dataclass(frozen=True)
class IncidentDetail:
    incident: IncidentRow
    first_event: datetime | None
    last_event: datetime | None
    sources: list[SourceView]
    figures: list[FigureView]
    places: list[dict[str, Any]]
    actors: list[str]
    treaties: list[str]
    agreements: list[str]
    claims: dict[str, list[str]]
    matches: list[dict[str, Any]]
    alerts: list[AlertView]


def _filtered(query: Select[Any], filters: Filters) -> Select[Any]:
    """Category and country filters on the incident's JSON lists (exact quoted values)."""
    if filters.category:
        query = query.where(cast(Incident.categories, Text).like(f'%"{filters.category}"%'))
    if filters.country:
        query = query.where(cast(Incident.countries, Text).like(f'%"{filters.country}"%'))
    return query


def list_incidents(session: Session, filters: Filters, now: datetime, window: timedelta) -> list[IncidentRow]:
    """Incidents updated within ``filters.since``, newest update first."""
    query = _filtered(select(Incident).where(Incident.last_update >= now - filters.since), filters)
    if filters.severity:
        query = query.where(Incident.severity.in_(filters.severities() or []))
    rows = list(session.scalars(query.order_by(Incident.last_update.desc(), Incident.id.desc())
                                .limit(filters.limit)))
    places = incident_places(session, [r.id for r in rows])
    return [_row(r, places.get(r.id), now, window) for r in rows]


def _row(row: Incident, places: list[dict[str, Any]] | None, now: datetime, window: timedelta) -> IncidentRow:
    state = to_state(row)
    casualties = casualties_summary(state)
    # Incident rows keep casefolded names for matching; the articles' facts keep how they were written.
    found = places or [{"name": p.title()} for p in row.places or []]
    return IncidentRow(
        id=row.id, title=row.title, categories=list(row.categories or []), severity=row.severity,
        places=found, countries=list(row.countries or []), killed=casualties["killed"],
        injured=casualties["injured"], killed_range=casualties["killed_range"],
        killed_source=casualties["killed_source"], sources=state.sources, first_seen=row.first_seen,
        last_update=row.last_update, open=now - state.first_event <= window)


def incident_places(session: Session, incident_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """Places (name, country, lat, lon as the rules found them) per incident, first seen first."""
    if not incident_ids:
        return {}
    rows = session.execute(select(Story.incident_id, Article.facts).join(Story, Story.id == Article.story_id)
                           .where(Story.incident_id.in_(incident_ids)).order_by(Article.id))
    out: dict[int, list[dict[str, Any]]] = defaultdict(list)
    seen: set[tuple[int, str]] = set()
    for incident_id, facts in rows:
        for place in (facts or {}).get("places") or []:
            if isinstance(place, dict) and place.get("name"):
                key = (incident_id, str(place["name"]).casefold())
                if key not in seen:
                    seen.add(key)
                    out[incident_id].append(dict(place))
    return dict(out)


def incident_sources(session: Session, incident_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """Sources (outlet, url, title, seen_at) per incident, in the order they were seen."""
    if not incident_ids:
        return {}
    rows = session.execute(select(Story.incident_id, ArticleSource.outlet, ArticleSource.url, ArticleSource.title,
                                  ArticleSource.seen_at)
                           .join(Article, Article.id == ArticleSource.article_id)
                           .join(Story, Story.id == Article.story_id)
                           .where(Story.incident_id.in_(incident_ids))
                           .order_by(ArticleSource.seen_at, ArticleSource.id))
    out: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for incident_id, outlet, url, title, seen_at in rows:
        out[incident_id].append({"outlet": outlet, "url": safe_url(url), "title": title, "seen_at": iso(seen_at)})
    return dict(out)


def incident_detail(session: Session, incident_id: int, now: datetime, window: timedelta) -> IncidentDetail | None:
    row = session.get(Incident, incident_id)
    if row is None:
        return None
    state = to_state(row)
    merged = incident_record(session, state)  # the same merge the alert records use
    article_ids = list(session.scalars(select(Article.id).join(Story, Story.id == Article.story_id)
                                       .where(Story.incident_id == row.id))) or [row.first_article_id]
    return IncidentDetail(
        incident=_row(row, merged["places"], now, window),
        first_event=row.first_event, last_event=row.last_event,
        sources=_sources(session, article_ids),
        figures=[FigureView(str(outlet), killed, injured) for outlet, killed, injured in state.figures.values()],
        places=list(merged["places"]),
        actors=_names(merged["actors"]), treaties=_names(merged["treaties"]),
        agreements=_names(merged["agreements"]),
        claims={str(k): [str(v) for v in values] for k, values in merged["claims"].items() if values},
        matches=list(merged["matches"]),
        alerts=alerts_for_incident(session, row.id),
    )


def _names(items: list[Any]) -> list[str]:
    return [str(i.get("name") or i.get("id")) if isinstance(i, dict) else str(i) for i in items if i]


def _sources(session: Session, article_ids: list[int]) -> list[SourceView]:
    """Every (outlet, URL) the incident's articles were seen under, in the order they were seen."""
    words: dict[int, list[str]] = defaultdict(list)
    rules: dict[int, list[str]] = defaultdict(list)
    for article_id, rule, matched in session.execute(
            select(MatchRow.article_id, MatchRow.rule, MatchRow.words).where(MatchRow.article_id.in_(article_ids))
            .order_by(MatchRow.id)):
        rules[article_id].append(rule)
        words[article_id].extend(str(w) for w in matched or [])
    texts = dict(session.execute(select(Article.id, Article.text).where(Article.id.in_(article_ids))).all())
    rows = session.execute(select(ArticleSource, Article.published_at)
                           .join(Article, Article.id == ArticleSource.article_id)
                           .where(ArticleSource.article_id.in_(article_ids))
                           .order_by(ArticleSource.seen_at, ArticleSource.id))
    out, shown = [], set()
    for source, published in rows:
        article = source.article_id
        out.append(SourceView(
            outlet=source.outlet, url=safe_url(source.url), seen_at=source.seen_at, published_at=published,
            title=segments(source.title, words[article]),
            snippets=[] if article in shown else snippets(texts.get(article) or "", words[article]),
            rules=rules[article], article_id=article, repeat=article in shown))
        shown.add(article)
    return out


def alerts_for_incident(session: Session, incident_id: int) -> list[AlertView]:
    alerts = list(session.scalars(select(Alert).where(Alert.incident_id == incident_id)
                                  .order_by(Alert.id.desc()).limit(ALERT_HISTORY)))
    return list(reversed(_alert_views(session, alerts)))


def _alert_views(session: Session, alerts: list[Alert]) -> list[AlertView]:
    deliveries: dict[int, list[DeliveryView]] = defaultdict(list)
    if alerts:
        for d in session.scalars(select(Delivery).where(Delivery.alert_id.in_([a.id for a in alerts]))
                                 .order_by(Delivery.notifier)):
            deliveries[d.alert_id].append(DeliveryView(d.notifier, d.status, d.attempts, d.last_error, d.sent_at,
                                                       d.next_attempt_at if d.status == "pending" else None))
    out = []
    for alert in alerts:
        record = alert.record or {}
        casualties = record.get("casualties") or {}
        out.append(AlertView(
            id=alert.id, incident_id=alert.incident_id, created_at=alert.created_at, event=alert.event,
            reason=alert.reason, severity=alert.severity, categories=list(record.get("categories") or []),
            killed=_int(casualties.get("killed")), injured=_int(casualties.get("injured")),
            sources=int(record.get("independent_sources") or 0), title=str(record.get("title") or ""),
            places=[str(p.get("name")) for p in record.get("places") or [] if isinstance(p, dict)],
            deliveries=deliveries.get(alert.id, [])))
    return out


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@dataclass(frozen=True)
class AlertEntry:
    """One alert for the Atom feed, with its stored record (what the notifiers were sent)."""

    view: AlertView
    record: dict[str, Any]


def list_alerts(session: Session, filters: Filters, now: datetime) -> list[AlertEntry]:
    """Incident alerts (not operator messages) created within ``filters.since``, newest first."""
    query = _filtered(select(Alert).join(Incident, Incident.id == Alert.incident_id)
                      .where(Alert.created_at >= now - filters.since), filters)
    if filters.severity:
        query = query.where(Alert.severity.in_(filters.severities() or []))
    alerts = list(session.scalars(query.order_by(Alert.id.desc()).limit(filters.limit)))
    return [AlertEntry(view, dict(alert.record or {})) for view, alert in zip(_alert_views(session, alerts), alerts)]

"""Incident rows <-> IncidentState, and the incident's alert record (I/O)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pipeline.incidents import Alerted, IncidentState, casualties_summary
from pipeline.models import Article, ArticleSource, Incident, MatchRow, Story


def to_state(row: Any) -> IncidentState:
    """The state of an Incident row (an ORM object or a Core row with the same columns)."""
    alerted = None
    if row.alerted:
        a = row.alerted
        alerted = Alerted(datetime.fromisoformat(a["at"]), frozenset(a["categories"]), a["severity"],
                          a.get("killed"), int(a["sources"]))
    figures = {int(k): (v[0], v[1], v[2]) for k, v in (row.figures or {}).items()}
    return IncidentState(
        id=row.id, title=row.title, categories=frozenset(row.categories), severity=row.severity,
        first_event=row.first_event or row.first_seen, last_event=row.last_event or row.last_update,
        places=frozenset(row.places or ()), countries=frozenset(row.countries or ()),
        actors=frozenset(row.actors or ()), title_words=frozenset(row.title_words or ()),
        figures=figures, alerted=alerted, pending_update=row.pending_update)


def save(session: Session, state: IncidentState, row: Incident | None, *, first_article_id: int,
         now: datetime) -> Incident:
    if row is None:
        row = Incident(key=f"article:{first_article_id}", first_article_id=first_article_id, first_seen=now)
        session.add(row)
    row.title = state.title
    row.categories = sorted(state.categories)
    row.severity = state.severity
    row.last_update = now
    row.first_event, row.last_event = state.first_event, state.last_event
    row.places, row.countries = sorted(state.places), sorted(state.countries)
    row.actors, row.title_words = sorted(state.actors), sorted(state.title_words)
    row.figures = {str(k): list(v) for k, v in state.figures.items()}
    row.alerted = None if state.alerted is None else {
        "at": state.alerted.at.isoformat(), "categories": sorted(state.alerted.categories),
        "severity": state.alerted.severity, "killed": state.alerted.killed, "sources": state.alerted.sources}
    row.pending_update = state.pending_update
    session.flush()
    return row


class StateCache:
    """Decoded states of recent incidents, keyed by (id, last_update), least recently used out.

    Matching a story compares it with every incident of the time window; decoding each
    one's JSON columns for every new article was most of the per-article cost. A row
    changed by any process gets a new ``last_update`` (its key changes); a save in this
    process drops the entry too, since two saves in one poll share one timestamp.
    """

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._states: OrderedDict[int, tuple[datetime, IncidentState]] = OrderedDict()

    def get(self, incident_id: int, last_update: datetime) -> IncidentState | None:
        hit = self._states.get(incident_id)
        if hit is None or hit[0] != last_update:
            return None
        self._states.move_to_end(incident_id)
        return hit[1]

    def put(self, state: IncidentState, last_update: datetime) -> None:
        assert state.id is not None
        self._states[state.id] = (last_update, state)
        self._states.move_to_end(state.id)
        while len(self._states) > self.size:
            self._states.popitem(last=False)

    def drop(self, incident_id: int) -> None:
        self._states.pop(incident_id, None)


_STATE_COLUMNS = [c for c in Incident.__table__.c if c.name not in ("key", "first_article_id")]


def candidates(session: Session, when: datetime, window: timedelta, cache: StateCache,
               limit: int = 500) -> list[IncidentState]:
    """States of incidents whose event time is within ``window`` of ``when``, newest first.

    An index range scan for ids and versions, then one query for the states the cache
    does not hold.
    """
    rows = session.execute(select(Incident.id, Incident.last_update)
                           .where(Incident.last_event >= when - window, Incident.first_event <= when + window)
                           .order_by(Incident.last_event.desc()).limit(limit)).all()
    states = {i: cache.get(i, updated) for i, updated in rows}
    missing = [i for i, state in states.items() if state is None]
    if missing:
        for row in session.execute(select(*_STATE_COLUMNS).where(Incident.id.in_(missing))):
            state = to_state(row)
            cache.put(state, row.last_update)
            states[row.id] = state
    return [states[i] for i, _ in rows if states[i] is not None]  # type: ignore[misc]


def pending_updates(session: Session) -> list[Incident]:
    return list(session.scalars(select(Incident).where(Incident.pending_update.is_(True))))


def incident_record(session: Session, row: Incident, state: IncidentState) -> dict[str, Any]:
    """Everything the incident's reports say, merged: the basis of its alert records."""
    articles = list(session.scalars(select(Article).join(Story, Story.id == Article.story_id)
                                    .where(Story.incident_id == row.id).order_by(Article.id)))
    first = session.get(Article, row.first_article_id)
    ids = [a.id for a in articles] or [row.first_article_id]
    facts = [a.facts or {} for a in articles]
    matches = session.execute(select(MatchRow.rule, MatchRow.category, MatchRow.words)
                              .where(MatchRow.article_id.in_(ids)).order_by(MatchRow.id))
    sources = session.scalars(select(ArticleSource).where(ArticleSource.article_id.in_(ids))
                              .order_by(ArticleSource.seen_at, ArticleSource.id))
    return {
        "title": row.title,
        "url": first.url if first else None,
        "published": first.published_at if first else None,
        "categories": sorted(state.categories, key=_category_order),
        "severity": state.severity,
        "places": _merge(f.get("places") for f in facts),
        "countries": sorted({c for f in facts for c in f.get("countries") or []}),
        "actors": _merge(f.get("actors") for f in facts),
        "treaties": _merge(f.get("treaties") for f in facts),
        "claims": _merge_claims(f.get("claims") for f in facts),
        "agreements": _merge(f.get("agreements") for f in facts),
        "casualties": casualties_summary(state),
        "independent_sources": state.sources,
        "sources": _unique_sources(sources),
        "matches": _unique_matches(matches),
    }


def _category_order(category: str) -> int:
    from rules import CATEGORIES

    return CATEGORIES.index(category) if category in CATEGORIES else len(CATEGORIES)


def _merge(lists: Any) -> list[Any]:
    """Union of entity lists, first seen first, deduplicated by name (or value)."""
    out, seen = [], set()
    for items in lists:
        for item in items or []:
            key = str(item.get("id") or item.get("name")).casefold() if isinstance(item, dict) else str(item)
            if key not in seen:
                seen.add(key)
                out.append(item)
    return out


def _merge_claims(claims: Any) -> dict[str, list[Any]]:
    merged: dict[str, list[Any]] = {}
    for claim in claims:
        for key, values in (claim or {}).items():
            bucket = merged.setdefault(key, [])
            bucket.extend(v for v in values or [] if v not in bucket)
    return merged


def _unique_sources(rows: Sequence[ArticleSource]) -> list[dict[str, Any]]:
    out, seen = [], set()
    for source in rows:
        key = (source.outlet, source.url)
        if key not in seen:
            seen.add(key)
            out.append({"outlet": source.outlet, "url": source.url or None, "title": source.title})
    return out


def _unique_matches(rows: Any) -> list[dict[str, Any]]:
    merged: dict[tuple[str, str], list[str]] = {}
    for rule, category, words in rows:
        bucket = merged.setdefault((rule, category), [])
        bucket.extend(w for w in words or [] if w not in bucket)
    return [{"rule": rule, "category": category, "text": words} for (rule, category), words in merged.items()]

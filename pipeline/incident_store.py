"""Incident rows <-> IncidentState, and the incident's alert record (I/O)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select
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


# Incidents are read and written by Core statements built once, not ORM objects: an ORM
# flush per incident, a ``session.get`` and statements rebuilt per call were most of
# the cost of a new article's incident step (see docs/PERFORMANCE.md).
_INCIDENTS = Incident.__table__
_ic = _INCIDENTS.c
_INSERT = _INCIDENTS.insert().returning(_ic.id)
_UPDATE = _INCIDENTS.update().where(_ic.id == bindparam("incident_id"))


def _columns(state: IncidentState, now: datetime) -> dict[str, Any]:
    return {
        "title": state.title, "categories": sorted(state.categories), "severity": state.severity,
        "last_update": now, "first_event": state.first_event, "last_event": state.last_event,
        "places": sorted(state.places), "countries": sorted(state.countries), "actors": sorted(state.actors),
        "title_words": sorted(state.title_words), "figures": {str(k): list(v) for k, v in state.figures.items()},
        "alerted": None if state.alerted is None else {
            "at": state.alerted.at.isoformat(), "categories": sorted(state.alerted.categories),
            "severity": state.alerted.severity, "killed": state.alerted.killed, "sources": state.alerted.sources},
        "pending_update": state.pending_update}


def save(session: Session, state: IncidentState, *, first_article_id: int, now: datetime) -> IncidentState:
    """Write ``state`` (a new row when it has no id yet); returns it with its id.

    ``now`` becomes the row's ``last_update``: the version StateCache keys on."""
    values = _columns(state, now)
    if state.id is None:
        incident_id = session.execute(_INSERT, {**values, "key": f"article:{first_article_id}",
                                                "first_article_id": first_article_id, "first_seen": now}).scalar_one()
        return replace(state, id=int(incident_id))
    session.execute(_UPDATE, {**values, "incident_id": state.id})
    return state


class StateCache:
    """Decoded states of recent incidents, keyed by (id, last_update), least recently used out.

    Matching a story compares it with every incident of the time window; decoding each
    one's JSON columns for every new article was most of the per-article cost. A row
    changed by any process gets a new ``last_update`` (its key changes); this process
    puts the state it saved, under the ``last_update`` it wrote.
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


_STATE_COLUMNS = [c for c in _INCIDENTS.c if c.name not in ("key", "first_article_id")]
_WINDOW_LIMIT = 500
_IN_WINDOW = (select(_ic.id, _ic.last_update).where(_ic.last_event >= bindparam("lo"), _ic.first_event <= bindparam("hi"))
              .order_by(_ic.last_event.desc()).limit(_WINDOW_LIMIT))
_STATES = select(*_STATE_COLUMNS).where(_ic.id.in_(bindparam("ids", expanding=True)))
_VERSION = select(_ic.id, _ic.last_update).where(_ic.id == bindparam("incident_id"))


def candidates(session: Session, when: datetime, window: timedelta, cache: StateCache) -> list[IncidentState]:
    """States of the (at most 500) incidents whose event time is within ``window`` of
    ``when``, newest first.

    An index range scan for ids and versions, then one query for the states the cache
    does not hold.
    """
    rows = session.execute(_IN_WINDOW, {"lo": when - window, "hi": when + window}).all()
    return _states(session, rows, cache)


def load(session: Session, incident_id: int, cache: StateCache) -> IncidentState | None:
    """One incident's state (None when there is no such row)."""
    rows = session.execute(_VERSION, {"incident_id": incident_id}).all()
    found = _states(session, rows, cache)
    return found[0] if found else None


def _states(session: Session, rows: Sequence[Any], cache: StateCache) -> list[IncidentState]:
    """States for (id, last_update) rows, in their order: from the cache where its
    version is current, the rest decoded from one query."""
    states = {i: cache.get(i, updated) for i, updated in rows}
    missing = [i for i, state in states.items() if state is None]
    if missing:
        for row in session.execute(_STATES, {"ids": missing}):
            state = to_state(row)
            cache.put(state, row.last_update)
            states[row.id] = state
    return [states[i] for i, _ in rows if states[i] is not None]  # type: ignore[misc]


_PENDING = select(*_STATE_COLUMNS, _ic.first_article_id).where(_ic.pending_update.is_(True))


def pending_updates(session: Session) -> list[Any]:
    """Rows (with ``first_article_id``) of incidents holding a batched update."""
    return list(session.execute(_PENDING))


_A, _S = Article.__table__, Story.__table__
_MERGED = (select(_A.c.id, _A.c.facts).select_from(_A.join(_S, _S.c.id == _A.c.story_id))
           .where(_S.c.incident_id == bindparam("incident_id")).order_by(_A.c.id))
_FIRST = (select(_A.c.id, _A.c.url, _A.c.published_at).select_from(_A.join(_INCIDENTS, _ic.first_article_id == _A.c.id))
          .where(_ic.id == bindparam("incident_id")))
_MATCHES = (select(MatchRow.__table__.c.rule, MatchRow.__table__.c.category, MatchRow.__table__.c.words)
            .where(MatchRow.__table__.c.article_id.in_(bindparam("ids", expanding=True)))
            .order_by(MatchRow.__table__.c.id))
_ms = ArticleSource.__table__.c
_SOURCES = (select(_ms.outlet, _ms.url, _ms.title).where(_ms.article_id.in_(bindparam("ids", expanding=True)))
            .order_by(_ms.seen_at, _ms.id))


def incident_record(session: Session, state: IncidentState) -> dict[str, Any]:
    """Everything the reports of incident ``state.id`` say, merged: the basis of its alert records."""
    key = {"incident_id": state.id}
    articles = session.execute(_MERGED, key).all()
    first = session.execute(_FIRST, key).first()
    ids = [a.id for a in articles] or ([first.id] if first else [])  # no story yet: the first report
    facts = [a.facts or {} for a in articles]
    matches = session.execute(_MATCHES, {"ids": ids}) if ids else []
    sources = session.execute(_SOURCES, {"ids": ids}) if ids else []
    return {
        "title": state.title,
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


def _unique_sources(rows: Any) -> list[dict[str, Any]]:
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

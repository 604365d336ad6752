"""New articles -> stories -> incidents -> alerts and outbox rows (one transaction).

Used by a feed poll and by replay alike. Exact duplicates only add a source; a new
matched article joins (or starts) a story by near-duplicate signature, the story joins
(or starts) an incident, and ``incidents.decide`` names what happens next. Every
alert row carries that reason; silenced and out-of-watch alerts are stored too.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from pipeline import incident_store, silences, store, story_store
from pipeline.articles import ParsedArticle
from pipeline.config import Config
from pipeline.decide import decide_article, select_notifiers
from pipeline.eventtime import event_time
from pipeline.incidents import (IncidentState, Reason, Settings, StoryFacts, absorb, alerted_now, decide,
                                facts_sets, open_incident, same_event)
from pipeline.logfmt import log_event
from pipeline.models import Article, Feed
from pipeline.records import alert_record
from pipeline.stories import signature

log = logging.getLogger("cfwatch.incidents")
STORY_WINDOW = timedelta(days=3)  # wire copies and rewrites appear within hours; a margin
_FACT_KEYS = ("places", "countries", "actors", "casualties", "treaties", "claims", "agreements")


@dataclass(frozen=True)
class Source:
    """The feed an article arrived through."""

    feed_id: int
    name: str
    tags: tuple[str, ...] = ()
    backfill: timedelta | None = None
    first_poll: bool = False


@dataclass
class Outcome:
    new: int = 0
    duplicates: int = 0
    alerts: int = 0


class Processor:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.routes = [r.as_route() for r in config.routes]
        self.notifier_names = [n.name for n in config.notifiers]
        inc = config.incidents
        self.window = inc.window
        self.settings = Settings(update_interval=inc.update_interval, repeat_after=inc.repeat_after)
        self.states = incident_store.StateCache()

    def process(self, session: Session, source: Source, articles: Sequence[ParsedArticle],
                results: dict[int, dict[str, Any]], now: datetime, classify: Any) -> Outcome:
        """Store a batch of parsed articles; ``results`` maps id(article) to its rule record."""
        outcome = Outcome()
        known = store.known_keys(session, [k for a in articles for k in a.keys])
        active = silences.active(session, now)
        for article in articles:
            existing = next((known[k] for k in article.keys if k in known), None)
            if existing is not None:
                outcome.duplicates += store.add_source(session, existing, source.feed_id, article, now)
                continue
            result = results.get(id(article)) or classify(article).to_record()
            decision = decide_article(result["categories"], article.published, first_poll=source.first_poll,
                                      backfill=source.backfill, now=now)
            skip = None if decision.alert or decision.reason == "no_match" else decision.reason
            matched = skip is None and bool(result["categories"])
            # The story first, so the article row is written once, with its story.
            story = self._story(session, article, now) if matched else None
            facts = {k: result.get(k) for k in _FACT_KEYS if result.get(k)} if result["categories"] else None
            article_id = store.insert_article(session, source.feed_id, article, now, skip,
                                              story_id=story.id if story else None, facts=facts)
            store.insert_matches(session, article_id, result["matches"])
            known.update((k, article_id) for k in article.keys)
            outcome.new += 1
            if story is not None:
                self._incident(session, source, article, article_id, story, result, now, active, outcome)
        return outcome

    def _incident(self, session: Session, source: Source, article: ParsedArticle, article_id: int,
                  story: story_store.StoryRef, result: dict[str, Any], now: datetime,
                  active: list[silences.SilenceRule], outcome: Outcome) -> None:
        facts = _facts(story.id, article, result, now)
        known = (incident_store.load(session, story.incident_id, self.states) if story.incident_id
                 else self._match(session, facts))
        if known is None:  # a new incident: its row first, the alert row refers to it
            state = incident_store.save(session, open_incident(facts), first_article_id=article_id, now=now)
            written: IncidentState | None = state
        else:
            state, written = absorb(known, facts), None
        assert state.id is not None
        if story.incident_id != state.id:
            story_store.assign(session, story.id, state.id)
        after = self._notify(session, source, state, now, active, outcome)
        if after != written:  # one write per incident and article, two when a new one alerts
            incident_store.save(session, after, first_article_id=article_id, now=now)
        self.states.put(after, now)

    def _story(self, session: Session, article: ParsedArticle, now: datetime) -> story_store.StoryRef:
        sig = signature(article.title, article.text)
        if sig is None:  # no words to compare (a title of digits and symbols): a story of its own
            return story_store.create_story(session, None, now)
        return story_store.find_story(session, sig, now - STORY_WINDOW) or story_store.create_story(session, sig, now)

    def _match(self, session: Session, facts: StoryFacts) -> IncidentState | None:
        """The incident this story reports, if any."""
        for candidate in incident_store.candidates(session, facts.event_time, self.window, self.states):
            if same_event(candidate, facts, self.window):
                return candidate
        return None

    def _notify(self, session: Session, source: Source, state: IncidentState, now: datetime,
                active: list[silences.SilenceRule], outcome: Outcome, *, force: bool = False) -> IncidentState:
        reason = decide(state, now, self.settings)
        if force and reason.name == "update_batched":
            reason = Reason("new_sources", "update")
        if reason.name == "update_batched":
            return replace(state, pending_update=True)
        if not reason.sends:
            return state
        # Only an alert that would go out needs the merged record (the costly part), and
        # only such an alert is kept, unsent, when a silence or the watch list mutes it.
        record = incident_store.incident_record(session, state)
        if not silences.in_watch(self.config.watch, record):
            muted: str | None = "outside_watch"
        else:
            muted = "silenced" if silences.silencing(active, record) is not None else None
        if muted:
            self._alert(session, source, state, record, Reason(muted, reason.event), now, deliver=False)
            # Held, not sent: what was last told stays as it was, but a batched update is
            # settled (else every flush would hold it again, a new alert row each time).
            return replace(state, pending_update=False)
        self._alert(session, source, state, record, reason, now, deliver=True)
        outcome.alerts += 1
        return alerted_now(state, now)

    def _alert(self, session: Session, source: Source, state: IncidentState, incident: dict[str, Any],
               reason: Reason, now: datetime, *, deliver: bool) -> None:
        assert state.id is not None
        event = reason.event or "new"
        alert_id = store.create_alert(session, state.id, event, reason.name, incident["severity"], now)
        record = alert_record(alert_id=alert_id, incident_id=state.id, event=event, reason=reason.name,
                              incident=incident, created_at=now)
        store.set_alert_record(session, alert_id, record)
        if deliver:
            targets = select_notifiers(record, source.name, source.tags, self.routes, self.notifier_names)
            store.enqueue(session, alert_id, targets, now)
        log_event(log, logging.INFO, "alert" if deliver else "alert_held", incident=state.id, kind=event,
                  reason=reason.name, severity=record["severity"], sources=record["independent_sources"])

    def flush_updates(self, session: Session, now: datetime, *, force: bool = False) -> int:
        """Send the batched updates that are due (all of them when ``force``)."""
        sent = 0
        active = silences.active(session, now)
        for row in incident_store.pending_updates(session):
            state = incident_store.to_state(row)
            outcome = Outcome()
            state = self._notify(session, self._first_source(session, row.first_article_id), state, now, active,
                                 outcome, force=force)
            # last_update stays: a batched update is not news about the event.
            incident_store.save(session, state, first_article_id=row.first_article_id, now=row.last_update)
            self.states.put(state, row.last_update)
            sent += outcome.alerts
        return sent

    def _first_source(self, session: Session, first_article_id: int) -> Source:
        """Updates are routed like the incident's first report (its feed and tags)."""
        article = session.get(Article, first_article_id)
        feed = session.get(Feed, article.feed_id) if article else None
        cfg = self.config.feed(feed.name) if feed else None
        return Source(feed_id=feed.id if feed else 0, name=feed.name if feed else "",
                      tags=tuple(cfg.tags) if cfg else ())


def _facts(story_id: int, article: ParsedArticle, result: dict[str, Any], now: datetime) -> StoryFacts:
    casualties = result.get("casualties") or {}
    published = article.published if article.published and article.published <= now else now
    return StoryFacts(
        story_id=story_id, outlet=article.outlet, title=article.title or article.text[:200],
        categories=frozenset(result["categories"]), severity=result["severity"],
        event_time=event_time(published, article.title, article.text),
        places=facts_sets(result.get("places") or []),
        countries=frozenset(str(c).upper() for c in result.get("countries") or []),
        actors=facts_sets(result.get("actors") or []),
        killed=_int(casualties.get("killed")), injured=_int(casualties.get("injured")))


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None

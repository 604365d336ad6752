"""Incidents (pure): which story belongs to which event, and what to tell people.

``same_event`` says whether a story describes an incident already open: close in event
time, and overlapping places, or parties, or the same headline words, with casualty
figures that agree where both state them. ``decide(incident, change, now)`` returns
the named reason for what happens next; the orchestration stores it with the alert.

Casualty figures are kept per source and reported as the highest credible figure with
its range, never summed: five outlets reporting "49 killed" are 49 dead, not 245.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from pipeline.decide import severity_rank
from pipeline.stories import words

HOSTILE = frozenset({"shelling", "armed_clash", "casualties", "ceasefire_violation"})
_STOP = frozenset("a an the of in on at to for from by with and or as is are was were be has have had after "
                  "says said say amid over near into its their his her new".split())


@dataclass(frozen=True)
class StoryFacts:
    """What one story says, from the rules and entity extraction."""

    story_id: int
    outlet: str
    title: str
    categories: frozenset[str]
    severity: str
    event_time: datetime
    places: frozenset[str] = frozenset()  # casefolded names
    countries: frozenset[str] = frozenset()
    actors: frozenset[str] = frozenset()
    killed: int | None = None
    injured: int | None = None


@dataclass(frozen=True)
class Alerted:
    """What the last alert about an incident told people."""

    at: datetime
    categories: frozenset[str]
    severity: str
    killed: int | None
    sources: int


@dataclass(frozen=True)
class IncidentState:
    id: int | None
    title: str
    categories: frozenset[str]
    severity: str
    first_event: datetime
    last_event: datetime
    places: frozenset[str] = frozenset()
    countries: frozenset[str] = frozenset()
    actors: frozenset[str] = frozenset()
    title_words: frozenset[str] = frozenset()
    # story id -> (outlet, killed, injured): figures per independent source
    figures: Mapping[int, tuple[str, int | None, int | None]] = field(default_factory=dict)
    alerted: Alerted | None = None
    pending_update: bool = False

    @property
    def sources(self) -> int:
        return len(self.figures)

    def killed(self) -> tuple[int | None, tuple[int, int] | None, str | None]:
        """(highest figure, (low, high) range, its outlet) over the sources that state one."""
        stated = [(k, outlet) for outlet, k, _ in self.figures.values() if k is not None]
        if not stated:
            return None, None, None
        high, outlet = max(stated)
        return high, (min(k for k, _ in stated), high), outlet

    def injured(self) -> int | None:
        stated = [i for _, _, i in self.figures.values() if i is not None]
        return max(stated) if stated else None


def headline_words(title: str) -> frozenset[str]:
    return frozenset(w for w in words(title) if w not in _STOP and len(w) > 2)


def same_event(incident: IncidentState, facts: StoryFacts, window: timedelta) -> bool:
    """Does this story report the incident's event?

    Within ``window`` of the incident's first report (not of its latest: that would let
    a run of daily reports chain into one endless incident), and where both name
    places, sharing one. Where either names none, the same country is enough (wire
    headlines of one event often name only the country), unless the death tolls are
    far apart; with no country either, the headlines must share several words.
    """
    if abs(facts.event_time - incident.first_event) > window:
        return False
    if incident.places and facts.places:
        return bool(incident.places & facts.places)
    if _figures_conflict(incident, facts):
        return False
    if incident.countries and facts.countries:
        return bool(incident.countries & facts.countries)
    shared_words = len(incident.title_words & headline_words(facts.title))
    return shared_words >= 3 and bool(incident.categories & facts.categories)


def _figures_conflict(incident: IncidentState, facts: StoryFacts) -> bool:
    """Two different death tolls are only a conflict when far apart (tolls rise)."""
    high, _, _ = incident.killed()
    if high is None or facts.killed is None:
        return False
    return facts.killed > 3 * high + 5 or high > 3 * facts.killed + 5


def open_incident(facts: StoryFacts) -> IncidentState:
    return IncidentState(
        id=None, title=facts.title, categories=facts.categories, severity=facts.severity,
        first_event=facts.event_time, last_event=facts.event_time, places=facts.places,
        countries=facts.countries, actors=facts.actors, title_words=headline_words(facts.title),
        figures={facts.story_id: (facts.outlet, facts.killed, facts.injured)})


def absorb(incident: IncidentState, facts: StoryFacts) -> IncidentState:
    """The incident with one more (or an updated) story."""
    figures = dict(incident.figures)
    outlet, killed, injured = figures.get(facts.story_id, (facts.outlet, None, None))
    figures[facts.story_id] = (outlet, _max(killed, facts.killed), _max(injured, facts.injured))
    severity = max(incident.severity, facts.severity, key=severity_rank)
    return replace(incident, categories=incident.categories | facts.categories, severity=severity,
                   first_event=min(incident.first_event, facts.event_time),
                   last_event=max(incident.last_event, facts.event_time), places=incident.places | facts.places,
                   countries=incident.countries | facts.countries, actors=incident.actors | facts.actors,
                   title_words=incident.title_words | headline_words(facts.title), figures=figures)


def _max(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else max(a, b)


@dataclass(frozen=True)
class Settings:
    update_interval: timedelta = timedelta(minutes=15)
    repeat_after: timedelta | None = timedelta(hours=24)


@dataclass(frozen=True)
class Reason:
    name: str
    event: str | None  # "new" | "update" | "escalation", or None when nothing is sent

    @property
    def sends(self) -> bool:
        return self.event is not None


def decide(incident: IncidentState, now: datetime, settings: Settings) -> Reason:
    """What to tell people about an incident that just changed (or was reported again).

    Muting (silences, the watch list) is applied by the caller to what this returns:
    a muted alert is still stored, with the muting as its reason.
    """
    last = incident.alerted
    if last is None:
        return Reason("first_notification", "new")
    killed, _, _ = incident.killed()
    if killed and killed > (last.killed or 0):  # a stated 0 (nobody killed) is no escalation
        return Reason("escalation_casualties", "escalation")  # the most telling reason first
    if incident.categories - last.categories:
        return Reason("escalation_category", "escalation")
    if severity_rank(incident.severity) > severity_rank(last.severity):
        return Reason("escalation_severity", "escalation")
    if incident.sources > last.sources:
        if now - last.at >= settings.update_interval:
            return Reason("new_sources", "update")
        return Reason("update_batched", None)
    if settings.repeat_after is not None and now - last.at >= settings.repeat_after:
        return Reason("repeat_after", "update")
    return Reason("suppressed_repeat", None)


def alerted_now(incident: IncidentState, now: datetime) -> IncidentState:
    """The incident after an alert about it was sent."""
    killed, _, _ = incident.killed()
    return replace(incident, pending_update=False,
                   alerted=Alerted(now, incident.categories, incident.severity, killed, incident.sources))


def casualties_summary(incident: IncidentState) -> dict[str, Any]:
    """The record's ``casualties``: highest credible figure, its source, the range."""
    killed, spread, outlet = incident.killed()
    return {"killed": killed, "injured": incident.injured(), "killed_source": outlet,
            "killed_range": list(spread) if spread and spread[0] != spread[1] else None}


def facts_sets(values: Iterable[Any], key: str = "name") -> frozenset[str]:
    """Casefolded names from record entries (dicts with ``name`` or plain strings)."""
    out = set()
    for value in values:
        name = value.get(key) if isinstance(value, dict) else value
        if name:
            out.add(str(name).casefold())
    return frozenset(out)

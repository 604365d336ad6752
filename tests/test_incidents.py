"""Incidents: one event from many outlets is one alert, updated and escalated in place.

The pure decisions are tested with plain values; the orchestration runs on a real
SQLite database with a simulated clock, given the rule results an article would get
(so the incident logic is tested apart from text extraction).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import select

from pipeline.articles import ParsedArticle, fingerprint, identity_keys
from pipeline.config import parse_config
from pipeline.db import make_engine, migrate
from pipeline.incidents import (Settings, StoryFacts, absorb, alerted_now, decide,
                                open_incident, same_event)
from pipeline.eventtime import event_time
from pipeline.models import Alert, Delivery, Feed, Incident
from pipeline.process import Processor, Source
from pipeline import silences
from sqlalchemy.orm import sessionmaker

T0 = datetime(2026, 9, 13, 6, 0, tzinfo=timezone.utc)
HOUR = timedelta(hours=1)
FIVE = timedelta(minutes=5)
BORDER = [{"name": "Goris", "country": "AM"}, {"name": "Kapan", "country": "AM"}, {"name": "Jermuk", "country": "AM"}]


def facts(story: int, at: datetime, *, places=("goris",), killed=None, categories=("shelling",),
          severity="high", title="Shelling hits border towns") -> StoryFacts:
    return StoryFacts(story, f"outlet{story}", title, frozenset(categories), severity, at,
                      places=frozenset(places), killed=killed)


# ---- pure ---------------------------------------------------------------------

def test_decide_names_every_reason():
    settings = Settings(update_interval=timedelta(minutes=15), repeat_after=timedelta(hours=24))
    state = open_incident(facts(1, T0))
    assert decide(state, T0, settings).name == "first_notification"
    sent = alerted_now(state, T0)
    assert decide(sent, T0 + HOUR, settings).name == "suppressed_repeat"
    two = absorb(sent, facts(2, T0))
    assert decide(two, T0 + timedelta(minutes=5), settings).name == "update_batched"
    assert decide(two, T0 + timedelta(minutes=20), settings).name == "new_sources"
    assert decide(absorb(sent, facts(2, T0, categories=("treaty_appeal",))), T0, settings).name == \
        "escalation_category"
    assert decide(absorb(sent, facts(2, T0, killed=4)), T0, settings).name == "escalation_casualties"
    assert decide(absorb(sent, facts(2, T0, killed=0)), T0 + FIVE, settings).name == "update_batched"
    assert decide(absorb(sent, facts(2, T0, severity="critical")), T0, settings).name == "escalation_severity"
    assert decide(sent, T0 + timedelta(hours=25), settings).name == "repeat_after"


def test_casualties_are_the_highest_credible_figure_never_summed():
    state = open_incident(facts(1, T0, killed=49))
    for story, killed in ((2, 49), (3, 45), (4, None), (5, 49)):
        state = absorb(state, facts(story, T0, killed=killed))
    high, spread, outlet = state.killed()
    assert (high, spread) == (49, (45, 49))  # 49 from three sources, 45 from one: not 192
    assert outlet in {"outlet1", "outlet2", "outlet5"}  # one of the sources that said 49
    assert state.sources == 5


def test_same_event_needs_time_and_place_overlap():
    window = timedelta(hours=12)
    incident = open_incident(facts(1, T0, places=("goris", "kapan")))
    assert same_event(incident, facts(2, T0 + 2 * HOUR, places=("kapan",)), window)
    assert not same_event(incident, facts(2, T0 + 2 * HOUR, places=("kharkiv",)), window)
    assert not same_event(incident, facts(2, T0 + 20 * HOUR, places=("goris",)), window)
    # A report naming no place joins on the country; reports only chain within the window
    # of the first one, never into an endless incident.
    armenian = open_incident(replace(facts(1, T0, places=("goris",)), countries=frozenset({"AM"})))
    country_only = replace(facts(2, T0 + 2 * HOUR, places=()), countries=frozenset({"AM"}))
    assert same_event(armenian, country_only, window)
    assert not same_event(armenian, replace(country_only, countries=frozenset({"UA"})), window)
    grown = absorb(armenian, replace(country_only, event_time=T0 + 11 * HOUR))
    assert not same_event(grown, replace(country_only, story_id=3, event_time=T0 + 14 * HOUR), window)
    # Without places or countries, the headline has to share several words and a category.
    bare = open_incident(facts(1, T0, places=(), title="Azerbaijani forces shell Armenian border towns"))
    assert same_event(bare, facts(2, T0, places=(), title="Armenian border towns shelled by Azerbaijani forces"),
                      window)
    assert not same_event(bare, facts(2, T0, places=(), title="Floods hit border towns in Pakistan"), window)


def test_event_time_follows_the_lead():
    wednesday = datetime(2022, 9, 14, 8, tzinfo=timezone.utc)
    assert event_time(wednesday, "Shelling on Tuesday", "").date().isoformat() == "2022-09-13"
    assert event_time(wednesday, "", "Drones struck yesterday, officials said.") == wednesday - timedelta(days=1)
    assert event_time(wednesday, "Overnight shelling", "") == wednesday - timedelta(hours=6)
    assert event_time(wednesday, "Talks continue", "") == wednesday


# ---- orchestration on a real database ----------------------------------------

CONFIG = """
feeds: [{name: f, url: "http://127.0.0.1/f"}]
notifiers: [{name: archive, type: jsonl, path: a.jsonl}]
incidents: {window: 12h, update_interval: 15m, repeat_after: 24h}
"""


@pytest.fixture
def world(sessions, tmp_path):
    with sessions.begin() as s:
        s.add(Feed(id=1, name="f", url="http://127.0.0.1/f", error_count=0, polls=0, items_seen=0))
    return sessions, Processor(parse_config(CONFIG, "test", tmp_path))


def article(outlet: str, title: str, text: str, url: str, published: datetime) -> ParsedArticle:
    base = ParsedArticle(title=title, text=text, url=url, guid=url, published=published, outlet=outlet,
                         fingerprint=fingerprint(title, text))
    return ParsedArticle(**{**base.__dict__, "keys": identity_keys(base, outlet)})


def result(categories: list[str], severity: str = "high", places=BORDER, killed=None) -> dict[str, Any]:
    return {"categories": categories, "severity": severity,
            "matches": [{"rule": f"r-{c}", "category": c, "severity": severity, "text": [c]} for c in categories],
            "places": list(places), "countries": sorted({p["country"] for p in places}), "actors": [],
            "casualties": {"killed": killed, "injured": None}, "treaties": []}


def feed_in(world, articles_results: list[tuple[ParsedArticle, dict[str, Any]]], now: datetime) -> None:
    sessions, processor = world
    with sessions.begin() as s:
        processor.process(s, Source(1, "f"), [a for a, _ in articles_results],
                          {id(a): r for a, r in articles_results}, now, classify=None)


def alerts(world) -> list[tuple[str, str, int]]:
    sessions, _ = world
    with sessions() as s:
        return [(a.event, a.reason, a.record["independent_sources"]) for a in s.scalars(select(Alert).order_by(Alert.id))]


REWRITES = [
    ("Armenpress", "Azerbaijan shells Armenian border towns of Goris, Kapan and Jermuk"),
    ("Reuters", "Armenia says Azerbaijani drones and artillery hit three towns"),
    ("AFP", "Fighting flares on Armenia-Azerbaijan border as towns come under fire"),
    ("TASS", "Yerevan reports shelling of Goris and Kapan, Baku denies attack"),
    ("OC Media", "Border flare-up: Jermuk, Kapan, Goris shelled overnight"),
]


def test_five_outlets_over_two_hours_give_one_new_alert_then_batched_updates(world):
    for n, (outlet, title) in enumerate(REWRITES):
        at = T0 + timedelta(minutes=30 * n)
        text = f"{title}. Reported by {outlet} with its own wording number {n}, citing officials in Yerevan."
        feed_in(world, [(article(outlet, title, text, f"https://{n}.example/a", at),
                         result(["shelling", "ceasefire_violation"]))], at)
    sessions, processor = world
    with sessions.begin() as s:
        processor.flush_updates(s, T0 + 3 * HOUR, force=True)
    got = alerts(world)
    assert got[0] == ("new", "first_notification", 1)
    updates = [a for a in got[1:]]
    assert all(event == "update" and reason == "new_sources" for event, reason, _ in updates)
    assert len(updates) <= 4  # never more than one per 15 minutes over two hours of reports
    assert got[-1][2] == 5  # the last update lists all five independent sources


def test_a_burst_of_reports_within_the_interval_is_one_new_and_one_update(world):
    for n, (outlet, title) in enumerate(REWRITES):
        at = T0 + timedelta(minutes=3 * n)
        feed_in(world, [(article(outlet, title, f"{title}, officials said ({n}).", f"https://{n}.example/b", at),
                         result(["shelling"]))], at)
    sessions, processor = world
    with sessions.begin() as s:
        assert processor.flush_updates(s, T0 + timedelta(minutes=14)) == 0  # not yet: 15 min since the alert
        assert processor.flush_updates(s, T0 + timedelta(minutes=15)) == 1
    assert alerts(world) == [("new", "first_notification", 1), ("update", "new_sources", 5)]


def test_syndicated_copy_counts_once_and_casualty_rise_escalates(world):
    title, text = REWRITES[0][1], "Azerbaijani forces shelled the towns overnight, the defence ministry said. " * 3
    feed_in(world, [(article("Armenpress", title, text, "https://a.example/1", T0), result(["shelling"]))], T0)
    copy = article("Wire", title, text + " (syndicated)", "https://b.example/x", T0 + HOUR)
    feed_in(world, [(copy, result(["shelling"]))], T0 + HOUR)  # near-duplicate: same story
    later = article("Reuters", "At least 49 soldiers killed in border fighting, Armenia says",
                    "Armenia said at least 49 of its soldiers were killed in the Azerbaijani attack on Goris.",
                    "https://c.example/2", T0 + 2 * HOUR)
    feed_in(world, [(later, result(["shelling", "casualties"], killed=49))], T0 + 2 * HOUR)
    got = alerts(world)
    assert [(e, r) for e, r, _ in got] == [("new", "first_notification"), ("escalation", "escalation_casualties")]
    sessions, _ = world
    with sessions() as s:
        last = s.scalars(select(Alert).order_by(Alert.id.desc())).first().record
    assert last["casualties"]["killed"] == 49 and last["independent_sources"] == 2
    assert {src["outlet"] for src in last["sources"]} == {"Armenpress", "Wire", "Reuters"}


def test_silenced_alerts_are_stored_not_sent_and_unsilenced_later(world):
    sessions, processor = world
    with sessions.begin() as s:
        rule = silences.add(s, categories=["shelling"], countries=["am"], places=None, until=T0 + HOUR,
                            reason="known flare-up", now=T0)
    feed_in(world, [(article("A", "Shelling in Goris", "Shelling reported in Goris today by officials.",
                             "https://a.example/s", T0), result(["shelling"]))], T0)
    assert alerts(world) == [("new", "silenced", 1)]
    with sessions() as s:
        assert s.scalars(select(Delivery)).all() == []
    with sessions.begin() as s:
        assert silences.remove(s, rule.id, T0 + timedelta(minutes=10))
    feed_in(world, [(article("B", "Goris shelled again, residents say", "Residents of Goris said shells fell.",
                             "https://b.example/s", T0 + timedelta(minutes=20)), result(["shelling"]))],
            T0 + timedelta(minutes=20))
    assert alerts(world)[-1][:2] == ("new", "first_notification")


def test_a_batched_update_muted_by_a_silence_is_held_once_not_at_every_flush(world):
    sessions, processor = world
    feed_in(world, [(article("A", REWRITES[0][1], "Shelling of the towns.", "https://a.example/m", T0),
                     result(["shelling"]))], T0)
    feed_in(world, [(article("B", REWRITES[3][1], "Goris and Kapan shelled, Yerevan said.", "https://b.example/m",
                             T0 + FIVE), result(["shelling"]))], T0 + FIVE)  # a second source: batched
    with sessions.begin() as s:
        silences.add(s, categories=["shelling"], countries=["am"], places=None, until=T0 + 5 * HOUR,
                     reason="known flare-up", now=T0 + FIVE)
    with sessions.begin() as s:
        assert processor.flush_updates(s, T0 + 4 * FIVE) == 0
        assert processor.flush_updates(s, T0 + 8 * FIVE) == 0
        assert processor.flush_updates(s, T0 + 12 * FIVE, force=True) == 0
        assert s.scalars(select(Incident.pending_update)).all() == [False]
    assert alerts(world) == [("new", "first_notification", 1), ("update", "silenced", 2)]


def test_outside_watch_is_stored_with_its_reason(tmp_path):
    config = parse_config(CONFIG + "watch: {countries: [UA]}\n", "test", tmp_path)
    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    migrate(engine)
    sessions = sessionmaker(engine, expire_on_commit=False)
    with sessions.begin() as s:
        s.add(Feed(id=1, name="f", url="http://127.0.0.1/f", error_count=0, polls=0, items_seen=0))
    world = (sessions, Processor(config))
    feed_in(world, [(article("A", "Shelling in Goris", "Shelling in Goris.", "https://a.example/w", T0),
                     result(["shelling"]))], T0)
    assert alerts(world) == [("new", "outside_watch", 1)]
    engine.dispose()


def test_alerted_state_survives_a_restart(world, tmp_path):
    feed_in(world, [(article("A", REWRITES[0][1], "Shelling of the towns.", "https://a.example/r", T0),
                     result(["shelling"]))], T0)
    _, processor = world
    sessions, _ = world
    fresh = Processor(processor.config)  # a restarted daemon: nothing kept in memory
    with sessions.begin() as s:
        fresh.process(s, Source(1, "f"), [article("B", REWRITES[3][1], "Goris and Kapan shelled, Yerevan said.",
                                                  "https://b.example/r", T0 + FIVE)],
                      {}, T0 + FIVE, classify=lambda a: _Result(result(["shelling"])))
    # It joined the incident the first daemon alerted on, and the update waits for its batch.
    assert [e for e, _, _ in alerts(world)] == ["new"]
    with sessions.begin() as s:
        assert fresh.flush_updates(s, T0 + FIVE) == 0
        assert fresh.flush_updates(s, T0 + 4 * FIVE) == 1
    assert [e for e, _, _ in alerts(world)] == ["new", "update"]


class _Result:
    def __init__(self, record: dict[str, Any]) -> None:
        self.record = record

    def to_record(self) -> dict[str, Any]:
        return self.record


def test_incident_state_survives_the_database_roundtrip(world):
    from pipeline import incident_store
    from pipeline.models import Article

    sessions, _ = world
    state = absorb(alerted_now(open_incident(facts(1, T0, killed=3)), T0), facts(2, T0 + HOUR, killed=5))
    with sessions.begin() as s:
        s.add(Article(id=1, feed_id=1, title="t", text="", outlet="o", fingerprint="f", fetched_at=T0))
        s.flush()
        saved = incident_store.save(s, replace(state, pending_update=True), first_article_id=1, now=T0)
        incident_id = saved.id
    with sessions() as s:
        loaded = incident_store.to_state(s.get(Incident, incident_id))
    assert loaded.alerted == state.alerted and loaded.killed() == state.killed()
    assert loaded.figures == state.figures and loaded.pending_update
    assert (loaded.first_event, loaded.last_event, loaded.places) == (state.first_event, state.last_event,
                                                                      state.places)

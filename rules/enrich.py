"""Assemble an ArticleResult: fired rules plus entities, counts, claims, treaties,
and violations of agreements in force."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any

from rules.agreements import Agreement, violations
from rules.casualties import count_casualties
from rules.extract import Entities, extract
from rules.firing import Fired as FiredRule
from rules.gazetteer import Gazetteer
from rules.normalize import SENTENCE_BREAK
from rules.result import ArticleResult, Match
from rules.treaties import named

Fired = list[FiredRule]
HOSTILE = ("shelling", "armed_clash")


def _units(fired: Fired, categories: Iterable[str]) -> set[tuple[int, int]]:
    """(field, sentence) where rules of these categories matched."""
    wanted = set(categories)
    return {unit for f in fired if f.rule.category in wanted for unit in f.units}


def _treaties(fired: Fired, norms: tuple[tuple[str, str], ...]) -> list[dict[str, Any]]:
    units = _units(fired, ("treaty_appeal",))
    if not units:
        return []
    split = [norm.split(SENTENCE_BREAK) for norm, _ in norms]
    sentences = [split[f][s] for f, s in sorted(units) if s < len(split[f])]
    return [t.to_record() for t in named(sentences, norms[0][0] + norms[1][0])]


def _agreement_matches(agreements: tuple[Agreement, ...], fired: Fired, ents: Entities,
                       when: datetime | date | None) -> tuple[list[Match], list[dict[str, Any]]]:
    if not agreements:
        return [], []
    units = ents.units  # built only here: most configurations have no agreements
    matches: list[Match] = []
    found: list[dict[str, Any]] = []
    for category in HOSTILE:
        hostile = [units[u] for u in sorted(_units(fired, (category,))) if u in units]
        for v in violations(agreements, hostile, when, category):
            if v["name"] not in {f["name"] for f in found}:
                found.append(v)
                slug = re.sub(r"[^a-z0-9]+", "-", v["name"].lower()).strip("-")
                matches.append(Match(f"agreement.{slug}", "ceasefire_violation", "high",
                                     [], [v["reason"]]))
    return matches, found


def enrich(gaz: Gazetteer, agreements: tuple[Agreement, ...], fired: Fired,
           fields: tuple[str, str], norms: tuple[tuple[str, str], ...],
           when: datetime | date | None,
           make_matches: Callable[[Fired], list[Match]]) -> ArticleResult:
    ents = extract(gaz, fields, norms)
    fired = [f for f in fired if not f.rule.needs_entities or ents.allows(f.rule)]
    matches = make_matches(fired) if fired else []
    extra, found = _agreement_matches(agreements, fired, ents, when)
    return ArticleResult(
        matches + extra, places=ents.places_record(), countries=ents.found.countries,
        actors=ents.actors, casualties=count_casualties(*fields), claims=ents.claims,
        treaties=_treaties(fired, norms), agreements=found)

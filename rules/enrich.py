"""Assemble an ArticleResult: fired rules plus entities, counts, claims, treaties,
and violations of agreements in force."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any

from rules.agreements import Agreement, PartySeen, violations
from rules.casualties import count_casualties
from rules.extract import extract
from rules.gazetteer import Gazetteer
from rules.normalize import SENTENCE_BREAK
from rules.result import ArticleResult, Match
from rules.schema import Rule
from rules.treaties import named

Fired = list[tuple[Rule, list[Any]]]
HOSTILE = ("shelling", "armed_clash")


def _units(fired: Fired, categories: Iterable[str]) -> set[tuple[int, int]]:
    """(field, sentence) where rules of these categories matched."""
    wanted = set(categories)
    return {(hit[1], hit[2]) for rule, used in fired if rule.category in wanted for hit in used}


def _treaties(fired: Fired, norms: tuple[tuple[str, str], ...]) -> list[dict[str, Any]]:
    units = _units(fired, ("treaty_appeal",))
    if not units:
        return []
    split = [norm.split(SENTENCE_BREAK) for norm, _ in norms]
    sentences = [split[f][s] for f, s in sorted(units) if s < len(split[f])]
    return [t.to_record() for t in named(sentences, norms[0][0] + norms[1][0])]


def _agreement_matches(agreements: tuple[Agreement, ...], fired: Fired,
                       units: dict[tuple[int, int], PartySeen],
                       when: datetime | date | None) -> tuple[list[Match], list[dict[str, Any]]]:
    if not agreements:
        return [], []
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
           make_matches: Callable[[Fired, tuple[str, str]], list[Match]]) -> ArticleResult:
    ents = extract(gaz, fields, norms)
    fired = [f for f in fired if not f[0].needs_entities or ents.allows(f[0])]
    matches = make_matches(fired, fields) if fired else []
    extra, found = _agreement_matches(agreements, fired, ents.units, when)
    return ArticleResult(
        matches + extra, places=ents.places_record(), countries=ents.found.countries,
        actors=ents.actors, casualties=count_casualties(*fields), claims=ents.claims,
        treaties=_treaties(fired, norms), agreements=found)

"""The entity stage of classify(): places, countries, actors, claims per sentence.

Takes the normalized fields the matcher already built (normalize_cased), so the
text is tokenized once for rules and entities alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from rules.agreements import PartySeen
from rules.claims import (
    PARTY_KINDS,
    Claims,
    Party,
    party,
    sentence_bounds,
    sentence_claims,
)
from rules.entities import Found, resolve, scan
from rules.gazetteer import Entity, Gazetteer
from rules.schema import Rule

Unit = tuple[int, int]  # (field, sentence)


@dataclass
class Entities:
    found: Found = field(default_factory=Found)
    actors: list[dict[str, Any]] = field(default_factory=list)
    claims: Claims = field(default_factory=Claims)

    @cached_property
    def units(self) -> dict[Unit, PartySeen]:
        """Who and where each sentence names; only agreements in force need this, so it
        is built (and the entities grouped by sentence) when first asked for."""
        entities_by_unit: dict[Unit, list[Entity]] = {}
        for m in self.found.mentions:
            entities_by_unit.setdefault((m.field, m.sentence), []).extend(m.entities)
        return {unit: PartySeen(
            frozenset(e.country for e in ents if e.country),
            frozenset(e.name.lower() for e in ents if e.kind in ("actor", "country")),
            frozenset(e.name.lower() for e in ents if e.kind in ("place", "region")))
            for unit, ents in entities_by_unit.items()}

    def places_record(self) -> list[dict[str, Any]]:
        # (_round inline: a call per coordinate costs as much as the rounding)
        return [{"name": p.name, "country": p.country,
                 "lat": None if p.lat is None else round(p.lat, 4),
                 "lon": None if p.lon is None else round(p.lon, 4)} for p in self.found.places]

    def allows(self, rule: Rule) -> bool:
        """Do the rule's entity conditions (countries_any, places_in, actors_any) hold?"""
        if rule.countries_any and not set(rule.countries_any) & set(self.found.countries):
            return False
        if rule.places_in and not {p.country for p in self.found.places} & set(rule.places_in):
            return False
        if rule.actors_any:
            names = {a["name"].lower() for a in self.actors}
            if not names & {a.lower() for a in rule.actors_any}:
                return False
        return True


def _tokens(norms: tuple[tuple[str, str], ...]) -> tuple[list[list[str]], list[list[str]]]:
    tokens = [norm.split() for norm, _ in norms]
    cased = [c.split() for _, c in norms]
    return tokens, cased


def extract(gaz: Gazetteer, fields: tuple[str, str],
            norms: tuple[tuple[str, str], ...]) -> Entities:
    mentions = [m for no in range(len(fields)) for m in scan(gaz, no, norms[no][1])]
    if not mentions:
        return Entities()
    tokens, cased = _tokens(norms)  # only needed around names
    found = resolve(gaz, mentions, fields, (tokens[0], tokens[1]), (cased[0], cased[1]))
    out = Entities(found)
    by_unit: dict[Unit, list[Party]] = {}
    for m in found.mentions:
        if m.entities[0].kind in PARTY_KINDS:  # party() is None for the others
            p = party(m, tokens[m.field], cased[m.field])
            if p is not None:
                by_unit.setdefault((m.field, m.sentence), []).append(p)
    for no in sorted({f for f, _ in by_unit}):  # fields with parties, title first
        last = max(s for f, s in by_unit if f == no)  # no claims after its last party
        for sentence, (start, end) in enumerate(sentence_bounds(tokens[no], last)):
            parties = by_unit.get((no, sentence))
            if parties:
                sentence_claims(parties, tokens[no], start, end, out.claims)
    out.actors = _actors(by_unit, out.claims)
    return out


def _actors(by_unit: dict[Unit, list[Party]], claims: Claims) -> list[dict[str, Any]]:
    """Parties acting as armed or state parties, or named in a claim or accusation."""
    named = set(claims.accused) | {n for n in claims.claimed_by + claims.denied_by}
    actors: dict[str, dict[str, Any]] = {}
    for unit in sorted(by_unit):
        for p in by_unit[unit]:
            if p.state or p.party in named or p.name in named:
                record: dict[str, Any] = {"name": p.party}
                if p.country:
                    record["country"] = p.country
                record["kind"] = p.kind
                actors.setdefault(p.party, record)
    return list(actors.values())

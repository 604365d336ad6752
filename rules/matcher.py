"""The compiled matcher: every phrase of every rule in one Aho-Corasick automaton.

classify() normalizes each field once, scans it once with the automaton, and then
evaluates only the rules that got a hit: the cost grows with the hits in the text,
not with the number of rules. Nothing here is mutated after build, so one RuleSet
can be shared by worker threads.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from functools import cached_property
from typing import Any, NamedTuple

import ahocorasick

from rules.agreements import Agreement, make_agreement
from rules.enrich import enrich
from rules.gazetteer import Gazetteer, load_gazetteer
from rules.normalize import SENTENCE_BREAK, locate_words, normalize, normalize_cased
from rules.result import ArticleResult, Match, Span
from rules.schema import Phrase, Rule, check_unique, parse_pack

# What a phrase is for inside its rule; non-negative slots are `all` groups.
ANY, NONE, NEAR_A, NEAR_B = -1, -2, -3, -4
FIELDS = ("title", "text")


class Hit(NamedTuple):
    # Built as plain tuples in the hot loop (NamedTuple construction costs ~3x);
    # this class documents the layout and is used where speed does not matter.
    slot: int
    field: int      # index into FIELDS
    sentence: int   # sentence number within the field
    first: int      # word index of the first matched word
    last: int       # word index of the last matched word


class _Key(NamedTuple):
    length: int                         # characters of the key, to find its start
    words: int
    refs: tuple[tuple[int, int], ...]   # (rule index, slot) of rules using it positively
    vetoes: frozenset[int]              # rules that have it under `none`


# A `none` phrase found in the text: the rules it vetoes, and where (field, sentence).
# Kept apart from positive hits because common veto words ("protest", "if") would
# otherwise make every rule that lists them a candidate; they are only looked at for
# the few rules whose positive conditions already hold.
Veto = tuple[frozenset[int], int, int]


class _Plan(NamedTuple):
    """What a rule needs, precomputed so that evaluation is a few set operations."""

    rule_no: int
    rule: Rule
    required: frozenset[int]  # slots that must have a hit: any, each all group, near a/b


def _plan(rule_no: int, rule: Rule) -> _Plan:
    required = set(range(len(rule.all))) | ({ANY} if rule.any else set())
    if rule.near is not None:
        required |= {NEAR_A, NEAR_B}
    return _Plan(rule_no, rule, frozenset(required))


def _slots(rule: Rule) -> Iterable[tuple[Phrase, int]]:
    for phrase in rule.any:
        yield phrase, ANY
    for group_no, group in enumerate(rule.all):
        for phrase in group:
            yield phrase, group_no
    for phrase in rule.none:
        yield phrase, NONE
    if rule.near is not None:
        yield from ((p, NEAR_A) for p in rule.near.a)
        yield from ((p, NEAR_B) for p in rule.near.b)


def _compile(rules: list[Rule]) -> ahocorasick.Automaton | None:
    refs: dict[str, list[tuple[int, int]]] = {}
    sizes: dict[str, int] = {}
    for rule_no, rule in enumerate(rules):
        for phrase, slot in _slots(rule):
            refs.setdefault(phrase.key, []).append((rule_no, slot))
            sizes[phrase.key] = len(phrase.words)
    if not refs:
        return None  # pyahocorasick cannot search an empty automaton
    automaton = ahocorasick.Automaton()
    for key, users in refs.items():
        positive = tuple(dict.fromkeys(u for u in users if u[1] != NONE))
        vetoes = frozenset(rule_no for rule_no, slot in users if slot == NONE)
        automaton.add_word(key, _Key(len(key), sizes[key], positive, vetoes))
    automaton.make_automaton()
    return automaton


def _near_hits(rule: Rule, hits: list[Hit]) -> list[Hit]:
    """Hits of pairs (a, b) in one field within `within` words, either order."""
    assert rule.near is not None
    within = rule.near.within
    a_hits = [h for h in hits if h[0] == NEAR_A]
    b_hits = [h for h in hits if h[0] == NEAR_B]
    used: list[Hit] = []
    for a in a_hits:
        for b in b_hits:
            # Gap between the two phrases in words: 1 = adjacent; <= 0 = overlapping,
            # which is one phrase hit twice, not two things near each other.
            gap = max(b[3] - a[4], a[3] - b[4])
            if a[1] == b[1] and 1 <= gap <= within:
                used += (a, b)
    return used


def _check(plan: _Plan, hits: list[Hit]) -> list[Hit] | None:
    """The positive hits that make the rule fire on these hits (vetoes aside), or None."""
    if not plan.required <= {h[0] for h in hits}:
        return None
    used = [h for h in hits if h[0] >= ANY]  # `any` and `all` hits
    if plan.rule.near is not None:
        near = _near_hits(plan.rule, hits)
        if not near:
            return None
        used += near
    return used


def _vetoed(rule_no: int, vetoes: list[Veto], field_no: int | None = None,
            sentence: int | None = None) -> bool:
    """Is there a `none` phrase of the rule in this field/sentence (None = anywhere)?"""
    return any(rule_no in rules and field_no in (None, f) and sentence in (None, s)
               for rules, f, s in vetoes)


def _evaluate(plan: _Plan, hits: list[Hit], vetoes: list[Veto]) -> list[Hit] | None:
    scope, rule_no = plan.rule.scope, plan.rule_no
    # Most candidate rules miss a required slot in the whole article: reject them
    # before grouping hits by sentence or field.
    if not plan.required <= {h[0] for h in hits}:
        return None
    if scope == "any":
        used = _check(plan, hits)
        return None if used is None or _vetoed(rule_no, vetoes) else used
    if scope != "sentence":
        field_no = FIELDS.index(scope)
        used = _check(plan, [h for h in hits if h[1] == field_no])
        return None if used is None or _vetoed(rule_no, vetoes, field_no) else used
    units: dict[tuple[int, int], list[Hit]] = {}
    for hit in hits:
        units.setdefault((hit[1], hit[2]), []).append(hit)
    fired: list[Hit] = []
    for (field_no, sentence), unit in units.items():
        used = _check(plan, unit)
        if used is not None and not _vetoed(rule_no, vetoes, field_no, sentence):
            fired += used
    return fired or None


class RuleSet:
    """Rules compiled into one matcher. Build with build_ruleset()."""

    def __init__(self, rules: list[Rule], *, gazetteer_extra: Mapping[str, Any] | None = None,
                 agreements: Iterable[Any] = ()) -> None:
        check_unique(rules)
        self.rules: list[Rule] = list(rules)
        self._automaton = _compile(self.rules)
        self._plans = [_plan(rule_no, rule) for rule_no, rule in enumerate(self.rules)]
        self._gazetteer_extra = gazetteer_extra
        self.agreements: tuple[Agreement, ...] = tuple(make_agreement(a) for a in agreements)

    def __len__(self) -> int:
        return len(self.rules)

    @cached_property
    def gazetteer(self) -> Gazetteer:
        """Loaded on first use (about a second); the bundled tables are shared by
        every RuleSet, user additions are a small per-RuleSet copy of the curated part."""
        return load_gazetteer().extended(self._gazetteer_extra)

    def _scan(self, norms: tuple[str, str]) -> tuple[dict[int, list[Hit]], list[Veto]]:
        """Positive hits by rule index, and vetoes; one automaton pass per field."""
        per_rule: dict[int, list[Hit]] = {}
        vetoes: list[Veto] = []
        if self._automaton is None:
            return per_rule, vetoes
        for field_no, norm in enumerate(norms):
            if not norm:
                continue
            count = norm.count
            for end, (length, words, refs, vetoed) in self._automaton.iter(norm):
                start = end - length + 1  # the space before the first word
                breaks = count(SENTENCE_BREAK, 0, start)
                if vetoed:
                    vetoes.append((vetoed, field_no, breaks))
                if not refs:
                    continue
                first = count(" ", 0, start + 1) - 1 - breaks
                for rule_no, slot in refs:
                    hit = (slot, field_no, breaks, first, first + words - 1)
                    found = per_rule.get(rule_no)
                    if found is None:
                        per_rule[rule_no] = [hit]
                    else:
                        found.append(hit)
        return per_rule, vetoes

    def _fire(self, norms: tuple[str, str]) -> list[tuple[Rule, list[Hit]]]:
        per_rule, vetoes = self._scan(norms)
        fired: list[tuple[Rule, list[Hit]]] = []
        for rule_no in sorted(per_rule):
            plan = self._plans[rule_no]
            used = _evaluate(plan, per_rule[rule_no], vetoes)
            if used:
                fired.append((plan.rule, used))
        return fired

    def match(self, title: str, text: str) -> ArticleResult:
        """The phrase matcher alone: rules that fire, no entities (rules with entity
        conditions never fire here)."""
        fields = (title or "", text or "")
        fired = [f for f in self._fire((normalize(fields[0]) if fields[0] else "",
                                        normalize(fields[1]) if fields[1] else ""))
                 if not f[0].needs_entities]
        return ArticleResult(_matches(fired, fields)) if fired else ArticleResult([])

    def classify(self, title: str, text: str, *, when: datetime | date | None = None
                 ) -> ArticleResult:
        """Pure: which rules fire on this article, where, and the places, parties,
        counts, claims, treaties and agreements it names. ``when`` (the article's
        publication time, or None if unknown) decides which agreements are in force."""
        fields = (title or "", text or "")
        norms = (normalize_cased(fields[0]) if fields[0] else ("", ""),
                 normalize_cased(fields[1]) if fields[1] else ("", ""))
        fired = self._fire((norms[0][0], norms[1][0]))
        return enrich(self.gazetteer, self.agreements, fired, fields, norms, when, _matches)


def _matches(fired: list[tuple[Rule, list[Hit]]], fields: tuple[str, str]) -> list[Match]:
    """Turn the hits each rule used into Match objects with original offsets."""
    wanted: tuple[set[tuple[int, int]], set[tuple[int, int]]] = (set(), set())
    for _, used in fired:
        for hit in used:
            wanted[hit[1]].add((hit[3], hit[4]))
    # (field, first word, last word) -> (span, text as written), for every place once.
    located: dict[tuple[int, int, int], tuple[Span, str]] = {}
    for field_no, places in enumerate(wanted):
        if places:
            value, name = fields[field_no], FIELDS[field_no]
            for (first, last), (start, end) in locate_words(value, places).items():
                located[(field_no, first, last)] = ((name, start, end), value[start:end])
    matches: list[Match] = []
    for rule, used in fired:
        places = [located[place] for place in sorted({(h[1], h[3], h[4]) for h in used})]
        matches.append(Match(rule.id, rule.category, rule.severity,
                             [span for span, _ in places],
                             list(dict.fromkeys(text for _, text in places))))
    return matches


def build_ruleset(sources: list[tuple[str, str]], *,
                  gazetteer_extra: Mapping[str, Any] | None = None,
                  agreements: Iterable[Any] = ()) -> RuleSet:
    """(yaml text, source name) pairs -> one RuleSet; raises SourceError.

    ``gazetteer_extra``: user places/aliases/actors (config ``gazetteer:``);
    ``agreements``: ceasefires in force (config ``agreements:``), mappings or objects
    with name, parties, since, until, area.
    """
    rules: list[Rule] = []
    for text, source in sources:
        rules += parse_pack(text, source)
    return RuleSet(rules, gazetteer_extra=gazetteer_extra, agreements=agreements)

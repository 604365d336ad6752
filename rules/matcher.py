"""The compiled matcher: every phrase of every rule in one Aho-Corasick automaton.

classify() normalizes each field once and cuts it into sentences; the automaton
turns each sentence into one integer (the rule conditions present in it, see
rules/compiled.py), and rules are decided with integer tests on those
(rules/firing.py): the Python work grows with the sentences and the candidate
rules, not with the hits. Where the rules matched in the original text is worked
out only when a match's spans or text are read (rules/spans.py). Nothing here is
mutated after build, so one RuleSet can be shared by worker threads.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from functools import cached_property
from typing import Any

from rules.agreements import Agreement, make_agreement
from rules.compiled import compile_rules
from rules.enrich import enrich
from rules.firing import Article, fire
from rules.gazetteer import Gazetteer, load_gazetteer
from rules.normalize import normalize, normalize_cased
from rules.result import ArticleResult
from rules.schema import Rule, check_unique, parse_pack
from rules.spans import deferred_matches


class RuleSet:
    """Rules compiled into one matcher. Build with build_ruleset()."""

    def __init__(self, rules: list[Rule], *, gazetteer_extra: Mapping[str, Any] | None = None,
                 agreements: Iterable[Any] = ()) -> None:
        check_unique(rules)
        self.rules: list[Rule] = list(rules)
        self._compiled = compile_rules(self.rules)
        self._gazetteer_extra = gazetteer_extra
        self.agreements: tuple[Agreement, ...] = tuple(make_agreement(a) for a in agreements)

    def __len__(self) -> int:
        return len(self.rules)

    @cached_property
    def gazetteer(self) -> Gazetteer:
        """Loaded on first use (about a second); the bundled tables are shared by
        every RuleSet, user additions are a small per-RuleSet copy of the curated part."""
        return load_gazetteer().extended(self._gazetteer_extra)

    def match(self, title: str, text: str) -> ArticleResult:
        """The phrase matcher alone: rules that fire, no entities (rules with entity
        conditions never fire here). Spans and text are found when first read."""
        fields = (title or "", text or "")
        article = Article(self._compiled, fields, (normalize(fields[0]) if fields[0] else "",
                                                   normalize(fields[1]) if fields[1] else ""))
        fired = [f for f in fire(self._compiled, article) if not f.rule.needs_entities]
        return ArticleResult(deferred_matches(article, fired) if fired else [])

    def classify(self, title: str, text: str, *, when: datetime | date | None = None
                 ) -> ArticleResult:
        """Pure: which rules fire on this article, where, and the places, parties,
        counts, claims, treaties and agreements it names. ``when`` (the article's
        publication time, or None if unknown) decides which agreements are in force."""
        fields = (title or "", text or "")
        norms = (normalize_cased(fields[0]) if fields[0] else ("", ""),
                 normalize_cased(fields[1]) if fields[1] else ("", ""))
        article = Article(self._compiled, fields, (norms[0][0], norms[1][0]))
        fired = fire(self._compiled, article)
        return enrich(self.gazetteer, self.agreements, fired, fields, norms, when,
                      lambda kept: deferred_matches(article, kept))


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

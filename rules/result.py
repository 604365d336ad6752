"""What classify() returns: the rules that fired, what they saw, and the entities."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rules.casualties import Casualties
from rules.claims import Claims
from rules.schema import CATEGORIES, SEVERITIES

Span = tuple[str, int, int]  # (field "title" | "text", start, end) in the original string


class Match:
    """One rule firing on an article.

    ``spans`` and ``text`` may be deferred: the matcher knows which words a rule used
    but finding them in the original text (rules/spans.py) costs more than deciding
    that the rule fires, and many callers only want the rule ids. They are worked
    out, for every match of the article at once, the first time one is read.
    A plain class with slots: classify() builds several per article at tens of
    thousands of articles a second, and a frozen dataclass costs several times more.
    """

    __slots__ = ("rule", "category", "severity", "_spans", "_text", "_resolve")

    def __init__(self, rule: str, category: str, severity: str,
                 spans: list[Span] | None = None, text: list[str] | None = None) -> None:
        self.rule = rule
        self.category = category
        self.severity = severity
        self._spans: list[Span] = [] if spans is None else spans
        self._text: list[str] = [] if text is None else text  # words as written, deduplicated
        self._resolve: Callable[[], tuple[list[Span], list[str]]] | None = None

    @classmethod
    def deferred(cls, rule: str, category: str, severity: str,
                 resolve: Callable[[], tuple[list[Span], list[str]]]) -> Match:
        """A match whose spans and text ``resolve()`` returns when first read."""
        match = cls(rule, category, severity)
        match._resolve = resolve
        return match

    def _settle(self) -> None:
        resolve = self._resolve
        if resolve is not None:
            # Values first, then the resolver dropped: a reader on another thread sees
            # either the resolver (and runs it again, to the same result) or the values.
            self._spans, self._text = resolve()
            self._resolve = None

    @property
    def spans(self) -> list[Span]:
        self._settle()
        return self._spans

    @property
    def text(self) -> list[str]:
        self._settle()
        return self._text

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Match):
            return NotImplemented
        return ((self.rule, self.category, self.severity, self.spans, self.text)
                == (other.rule, other.category, other.severity, other.spans, other.text))

    __hash__ = None  # type: ignore[assignment]  # mutable, like the dataclass it replaces

    def __repr__(self) -> str:
        return (f"Match(rule={self.rule!r}, category={self.category!r}, severity={self.severity!r}, "
                f"spans={self.spans!r}, text={self.text!r})")

    def to_record(self) -> dict[str, Any]:
        return {"rule": self.rule, "category": self.category,
                "severity": self.severity, "text": list(self.text)}


@dataclass(frozen=True)
class ArticleResult:
    matches: list[Match] = field(default_factory=list)  # in rule order
    places: list[dict[str, Any]] = field(default_factory=list)     # name, country, lat, lon
    countries: list[str] = field(default_factory=list)             # ISO alpha-2
    actors: list[dict[str, Any]] = field(default_factory=list)     # name, country?, kind?
    casualties: Casualties = field(default_factory=Casualties)
    claims: Claims = field(default_factory=Claims)
    treaties: list[dict[str, Any]] = field(default_factory=list)   # id, name, article?
    agreements: list[dict[str, Any]] = field(default_factory=list)  # name, parties, reason

    @property
    def categories(self) -> list[str]:
        found = {m.category for m in self.matches}
        return [c for c in CATEGORIES if c in found]

    @property
    def severity(self) -> str | None:
        if not self.matches:
            return None
        return max((m.severity for m in self.matches), key=SEVERITIES.index)

    def to_record(self) -> dict[str, Any]:
        return {
            "categories": self.categories,
            "severity": self.severity,
            "matches": [m.to_record() for m in self.matches],
            "places": [dict(p) for p in self.places],
            "countries": list(self.countries),
            "actors": [dict(a) for a in self.actors],
            "casualties": self.casualties.to_record(),
            "claims": self.claims.to_record(),
            "treaties": [dict(t) for t in self.treaties],
            "agreements": [dict(a) for a in self.agreements],
        }

"""What classify() returns: the rules that fired, what they saw, and the entities."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rules.casualties import Casualties
from rules.claims import Claims
from rules.schema import CATEGORIES, SEVERITIES

Span = tuple[str, int, int]  # (field "title" | "text", start, end) in the original string


# Not frozen: a frozen dataclass's __init__ costs several times more, and classify()
# builds several Matches per article at tens of thousands of articles a second.
@dataclass(slots=True)
class Match:
    """One rule firing on an article."""

    rule: str
    category: str
    severity: str
    spans: list[Span] = field(default_factory=list)
    text: list[str] = field(default_factory=list)  # matched words as written, deduplicated

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

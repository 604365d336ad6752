"""Where the rules that fired matched, in the original text: worked out when first read.

The matcher (rules/firing.py) decides that a rule fires from bit masks per sentence;
the words it used are found again here, per sentence, and their word numbers mapped
back to offsets in the title or text as written (normalize.locate_words), once for
every match of the article together.
"""

from __future__ import annotations

from functools import partial

from rules.firing import Article, Fired
from rules.normalize import locate_words
from rules.result import Match, Span

FIELDS = ("title", "text")


class _Resolver:
    """The spans and text of one article's matches, worked out all at once when the
    first is read. Matches point here, not back: no reference cycle to collect."""

    __slots__ = ("article", "fired", "found")

    def __init__(self, article: Article, fired: list[Fired]) -> None:
        self.article = article
        self.fired = fired
        self.found: list[tuple[list[Span], list[str]]] | None = None

    def get(self, index: int) -> tuple[list[Span], list[str]]:
        found = self.found
        if found is None:
            found = self.found = self._resolve()
        return found[index]

    def _resolve(self) -> list[tuple[list[Span], list[str]]]:
        article = self.article
        used = [_places(article, f) for f in self.fired]
        wanted: tuple[set[tuple[int, int]], set[tuple[int, int]]] = (set(), set())
        for places in used:
            for field_no, first, last in places:
                wanted[field_no].add((first, last))
        # (field, first word, last word) -> (span, text as written), each place once.
        located: dict[tuple[int, int, int], tuple[Span, str]] = {}
        for field_no, places in enumerate(wanted):
            if places:
                value, name = article.fields[field_no], FIELDS[field_no]
                for (first, last), (start, end) in locate_words(value, places).items():
                    located[(field_no, first, last)] = ((name, start, end), value[start:end])
        out = []
        for places in used:
            found = [located[place] for place in sorted(places)]
            out.append(([span for span, _ in found], list(dict.fromkeys(text for _, text in found))))
        return out


def _places(article: Article, fired: Fired) -> set[tuple[int, int, int]]:
    """(field, first word, last word) of every hit the rule used, words counted in the field."""
    places = set()
    for f, s in fired.units:
        base = article.base(f, s)
        places.update((f, base + first, base + last)
                      for mask, first, last in article.located(f, s) if mask & fired.used)
    for f, s, first, last in fired.near:
        base = article.base(f, s)
        places.add((f, base + first, base + last))
    return places


def deferred_matches(article: Article, fired: list[Fired]) -> list[Match]:
    """Match objects for the fired rules, their spans and text found on first read."""
    get = _Resolver(article, fired).get
    return [Match.deferred(f.rule.id, f.rule.category, f.rule.severity, partial(get, n))
            for n, f in enumerate(fired)]

"""Which counts of a sentence belong to the event it reports.

Two kinds do not: deaths that are the *cause* of a protest or riot ("residents
protested after police shot dead a driver": the protest killed no one), and a second
source's figure for the same dead in the same sentence ("25 were killed, but other
sources reported 37"). Works on the lower-cased sentences of rules/casualties.py.
"""

from __future__ import annotations

from typing import Protocol, TypeVar

from rules.casualty_patterns import (
    ALTERNATIVE,
    BACKGROUND,
    BACKGROUND_BREAK,
    DEATH_WORD,
    HARM_WORD,
    PROTEST_WORD,
)

Span = tuple[int, int]  # start, end offsets in the sentence


class _Positioned(Protocol):
    start: int


C = TypeVar("C", bound=_Positioned)


def own(counts: list[C], sentence: str, background: Span | None) -> list[C]:
    """The counts of this event: not the deaths a protest is about, nor a second
    source's figure for the same dead ("25 were killed, but other sources said 37")."""
    if not counts:
        return counts
    if background is not None:
        cut, end = background
        counts = [c for c in counts if not cut <= c.start < end
                  or BACKGROUND_BREAK.search(sentence, cut, c.start)]
    return [c for no, c in enumerate(counts)
            if no == 0 or not ALTERNATIVE.search(sentence, counts[no - 1].start, c.start)]



def background_span(sentence: str) -> Span | None:
    """The clause of a protest sentence that names its cause, if any: "residents
    protested | after police shot dead a driver |, blocking roads": (start, end)."""
    found = BACKGROUND.search(sentence) if PROTEST_WORD.search(sentence) else None
    if found is None:
        return None
    cut = found.start("cue")
    harm = HARM_WORD.search(sentence, found.end("cue"))
    assert harm is not None  # the pattern looks ahead for it
    stops = [i for i in (sentence.find(",", harm.end()), sentence.find(";", harm.end()))
             if i >= 0]
    return cut, min(stops, default=len(sentence))


def background_death(sentence: str, span: Span | None) -> bool:
    """Does the sentence name a death only as the cause of a protest or riot?"""
    if span is None:
        return False
    death = DEATH_WORD.search(sentence, span[0], span[1])
    return death is not None and not BACKGROUND_BREAK.search(sentence, span[0], death.start())

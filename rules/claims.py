"""Actors, and who claims what: "said Armenia's Defense Ministry", "X denied".

Works on the normalized words of a sentence and the gazetteer mentions in it. A
party is a country (name or demonym) or a curated actor; a *state party* is a
country followed by a military or government word ("Azerbaijani forces",
"Armenia's Defense Ministry") or preceded by one ("military forces of Armenia").

- claimed_by: the party a report is attributed to ("said X", "X said",
  "according to X");
- accused: the party accused ("accused X", "blamed X") or the subject of an attack
  verb ("Azerbaijani forces ... fired");
- denied_by: the party that denies ("X denied / refuted / rejected").
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rules.names import Mention
from rules.normalize import SENTENCE_BREAK

ORGAN = frozenset(
    "s army armed forces force military troops soldiers servicemen serviceman units "
    "defense defence ministry mod foreign affairs government border guard guards "
    "navy air artillery side sniper snipers drones positions special security service "
    "national police officials spokesman spokesperson office command general staff "
    "president presidential prime minister troop interior health emergency emergencies "
    "internal".split())
# Words that make a country an armed party ("Azerbaijani forces"); titles such as
# "French President" name a government that speaks, not one that fights.
STATE = ORGAN - {"s", "of", "affairs", "national", "general", "president", "presidential",
                 "prime", "minister", "office", "spokesman", "spokesperson", "officials"}
REPORT = frozenset("said says say stated reported reports claimed claims announced "
                   "told according alleged".split())
DENY = frozenset("denied denies deny denying refuted refutes refuting rejected rejects "
                 "rejecting dismissed dismisses".split())
ACCUSE = frozenset("accused accuses accusing blamed blames blaming".split())
ATTACK = frozenset("fired firing fire shelled shelling attacked attacking struck strikes "
                   "launched bombed bombarded violated violating opened targeted killed "
                   "shot".split())

CUES = REPORT | DENY | ACCUSE | ATTACK
PARTY_KINDS = ("country", "actor")  # the entities that can be a party
_ORGAN_OR_OF = ORGAN | {"of"}


@dataclass(slots=True)  # several per article: slots make them cheaper to build
class Party:
    name: str            # display: "Azerbaijan" or "Armenia's Defense Ministry"
    party: str           # the country or actor name: "Azerbaijan"
    country: str | None
    kind: str            # state | armed_group | organisation | ...
    first: int
    last: int            # last token index of the phrase
    state: bool          # a military phrase ("Azerbaijani forces"), or a curated actor
    organ: bool          # any organ of state ("Armenia's prime minister") or actor


@dataclass
class Claims:
    claimed_by: list[str] = field(default_factory=list)
    accused: list[str] = field(default_factory=list)
    denied_by: list[str] = field(default_factory=list)

    def to_record(self) -> dict[str, list[str]]:
        return {"claimed_by": self.claimed_by, "accused": self.accused,
                "denied_by": self.denied_by}


def _display(cased: list[str], first: int, last: int) -> str:
    words: list[str] = []
    for token in cased[first:last + 1]:
        if token == "s" and words:
            words[-1] += "'s"
        else:
            words.append(token)
    return " ".join(words)


def party(m: Mention, tokens: list[str], cased: list[str]) -> Party | None:
    """The mention and the organ words around it, if it names a party."""
    entity = m.entities[0]
    if entity.kind not in PARTY_KINDS:
        return None
    first, last, count = m.first, m.first + m.words - 1, len(tokens)
    while last + 1 < count and tokens[last + 1] in ORGAN and last - m.first < 6:
        last += 1
    # "(the military forces | ministry of defense) of Armenia"
    if first >= 2 and tokens[first - 1] == "of" and tokens[first - 2] in STATE:
        first -= 2
        while first > 0 and tokens[first - 1] in _ORGAN_OR_OF and m.first - first < 6:
            first -= 1
    while tokens[last] in ("s", "of"):
        last -= 1
    around = tokens[first:m.first] + tokens[m.first + m.words:last + 1]
    state = not STATE.isdisjoint(around) or entity.kind == "actor"
    kind = "state" if entity.kind == "country" else entity.role or "actor"
    # Most parties are one word ("Russia", "Ukrainian"): displayed as written.
    name = cased[first] if first == last else _display(cased, first, last)
    return Party(name, entity.name, entity.country, kind, first, last, state,
                 state or bool(around))


def _near_after(parties: list[Party], index: int, span: int) -> Party | None:
    return next((p for p in parties if index < p.first <= index + span), None)


def _near_before(parties: list[Party], index: int, span: int) -> Party | None:
    before = [p for p in parties if index - span <= p.last < index]
    return before[-1] if before else None


def sentence_claims(parties: list[Party], tokens: list[str], start: int, end: int,
                    claims: Claims) -> None:
    """Fill claims from one sentence: tokens[start:end], its parties in order."""
    sentence = tokens[start:end]
    if CUES.isdisjoint(sentence):
        return  # most sentences: no cue word (a set check in C, not a loop over words)
    for i in [start + i for i, token in enumerate(sentence) if token in CUES]:
        word = tokens[i]
        if word in REPORT:
            span = 3 if word != "according" else 4
            source = _near_after(parties, i, span) or _near_before(parties, i, 4)
            if source is not None and source.organ:
                _add(claims.claimed_by, source.name)
        elif word in DENY:
            source = _near_before(parties, i, 4)
            if source is not None:
                _add(claims.denied_by, source.name)
        elif word in ACCUSE:
            target = _near_after(parties, i, 3)
            if target is not None:
                _add(claims.accused, target.party)
        elif word in ATTACK:
            subject = _near_before(parties, i, 8)
            if subject is not None and subject.state and not _reported_speech(
                    tokens, subject.last, i):
                _add(claims.accused, subject.party)


def _reported_speech(tokens: list[str], after: int, before: int) -> bool:
    # "Armenia said Azerbaijani forces fired": the subject is the nearer party,
    # which _near_before already picks; a report verb between means this is the source.
    return any(t in REPORT or t in DENY for t in tokens[after + 1:before])


def _add(items: list[str], name: str) -> None:
    if name not in items:
        items.append(name)


def sentence_bounds(tokens: list[str], last: int | None = None) -> list[tuple[int, int]]:
    """(start, end) token indexes of each sentence, up to sentence ``last`` if given."""
    bounds, start = [], 0
    while last is None or len(bounds) <= last:
        try:
            end = tokens.index(SENTENCE_BREAK, start)
        except ValueError:
            bounds.append((start, len(tokens)))
            return bounds
        bounds.append((start, end))
        start = end + 1
    return bounds

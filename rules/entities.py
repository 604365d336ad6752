"""Places, countries and actors in an article, from the gazetteer.

rules/names.py finds the names (the longest curated name or GeoNames place at each
capitalised word, one capitalised run at a time). Here they are kept or dropped by
how much the text around them supports them, because one-word place names collide
with English ("Split", "Most", "Of") and with people ("Antony Blinken"):

- curated names (countries, demonyms, regions, actors, hand-written places) and
  GeoNames names of two or more words are kept;
- a one-word GeoNames place needs a location cue ("in", "near", "village of",
  "X district") or its country elsewhere in the article, and is dropped when it sits
  in a run of capitalised words with no comma between them (a person's name);
- a name several places share goes to the one in a country the article mentions,
  else to the most populous.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rules.gazetteer import Entity, Gazetteer
from rules.names import DESIGNATORS, Mention, capitalised, scan
from rules.normalize import SENTENCE_BREAK, locate_words

__all__ = ["Found", "Mention", "resolve", "scan"]

# Verbs of attack place their object: "shelled Fleifel", "attacked Danhono in ...".
ATTACKED = frozenset("shelled attacked targeted bombed bombarded struck raided stormed besieged "
                     "captured seized recaptured overran entered shelling attacking "
                     "targeting bombing raiding storming".split())
CUE_BEFORE = frozenset(
    "in near at from of outside around towards toward into across between and to "
    "village town city settlement hamlet district province region area outskirts "
    "suburb neighbourhood neighborhood camp".split()) | DESIGNATORS | ATTACKED
CUE_AFTER = frozenset(
    "village villages town city district districts province region oblast raion "
    "governorate county municipality area sector camp neighbourhood neighborhood "
    "settlement border frontier".split())
# A one-word place this populous is kept on its capital letter alone.
BIG_PLACE = 100_000


@dataclass
class Found:
    """What the extractor found in one article, in order of first mention."""

    mentions: list[Mention] = field(default_factory=list)
    places: list[Entity] = field(default_factory=list)
    countries: list[str] = field(default_factory=list)


_BLANKS = re.compile(r"[ \t]+")


def _run_of_capitals(field_text: str, tokens: list[str], cased: list[str], m: Mention,
                     known: set[tuple[int, int]], ignore: frozenset[str]) -> bool:
    """Is this one-word name glued to another capitalised word ("Antony Blinken")?
    A neighbour that is itself a known name ("Tijuana Baja California") or a common
    word ("Sevan Police", "Yerevan Municipality") does not count."""
    neighbours = [j for j in (m.first - 1, m.first + 1) if 0 <= j < len(tokens)
                  and tokens[j] != SENTENCE_BREAK and capitalised(cased[j])
                  and (m.field, j) not in known and tokens[j] not in ignore]
    if not neighbours:
        return False
    # Word numbers in the original exclude the sentence-break tokens.
    breaks = tokens[:m.first + 2].count(SENTENCE_BREAK)
    lo, hi = min(neighbours + [m.first]), max(neighbours + [m.first])
    words = {(j - breaks, j - breaks) for j in range(lo, hi + 1)}
    spans = locate_words(field_text, words)
    ordered = [spans[w] for w in sorted(spans)]
    # Glued when only spaces separate them: "Goris, Kapan" is a list, not a name.
    return any(_BLANKS.fullmatch(field_text[a[1]:b[0]] or "x")
               for a, b in zip(ordered, ordered[1:]))


def _supported(m: Mention, tokens: list[str], context: set[str], best: Entity) -> bool:
    before = tokens[m.first - 1] if m.first > 0 else SENTENCE_BREAK
    after = tokens[m.first + m.words] if m.first + m.words < len(tokens) else ""
    if before in CUE_BEFORE or after in CUE_AFTER:
        return True
    if before == SENTENCE_BREAK:  # capital by position only
        return best.country in context and best.population >= 1000
    return best.country in context or best.population >= BIG_PLACE


STRONG_BEFORE = frozenset("in near of at outside around".split())
# "near X" and "the village of X" name a place even with nothing after it.
ALONE = frozenset("near outskirts vicinity village villages town area settlement city district "
                  "province region neighbourhood neighborhood countryside suburb "
                  "municipality commune camp".split())
UNLISTED_AFTER = CUE_AFTER | {"front", "frontline", "commune", "locality", "checkpoint",
                              "ward", "airbase", "base", "airport", "valley", "roundabout",
                              "highway", "road", "square", "bridge", "crossing", "countryside",
                              "plain", "hill", "mountain", "heights"}


# "the X highway": a name before these, after "the", is a place whatever the verb.
THE_AFTER = frozenset("area front frontline highway road roundabout crossing checkpoint base "
                      "airbase camp district village town neighbourhood neighborhood axis "
                      "sector junction bridge intersection countryside".split())
# What may follow the object of an attack verb when that object is a place.
OBJECT_AFTER = frozenset(["", SENTENCE_BREAK, "in", "near", "and", "on", "using", "with", "from",
                          "killing", "injuring", "wounding", "leaving", "after", "overnight",
                          "early", "late", "at", "amid", "causing", "but", "as", "during"])


_CUE_BEFORE_UNLISTED = CUE_BEFORE | {"on", "rural"}
# The cues without which _unlisted places nothing, unless the word after is "in" or
# one of UNLISTED_AFTER: it returns early on the rest.
_PLACING_CUES = DESIGNATORS | ATTACKED | STRONG_BEFORE


def _country_of(gaz: Gazetteer, m: Mention | None, context: set[str]) -> str | None:
    """The country of a known place or region mention, else None."""
    if m is None:
        return None
    if m.entities:
        return m.entities[0].country if m.entities[0].kind in ("place", "region") else None
    return _choose(gaz, m.rows, context).country if m.rows else None


def _unlisted(gaz: Gazetteer, m: Mention, tokens: list[str], cased: list[str],
              at: dict[tuple[int, int], Mention], context: set[str]) -> Entity | None:
    """A place missing from the gazetteer, written the way news places towns:
    "near Starohnativka, Donetsk", "in Kinyinya commune (Ruyigi)", "the village of X".
    Its country is that of the region or place named right after; no coordinates."""
    before = m.first - 1
    the = before >= 0 and tokens[before] == "the"
    if the:
        before -= 1
    cue = tokens[before] if before >= 0 else ""
    end = m.first + m.words
    after = tokens[end] if end < len(tokens) else ""
    if after != "in" and after not in UNLISTED_AFTER and cue not in _PLACING_CUES:
        return None  # no wording below can place it: most unknown names (people, bodies)
    skip = 1 + (tokens[end + 1] in ("al", "el", "the") if end + 1 < len(tokens) else 0)
    nxt = at.get((m.field, end + skip)) if after == "in" else at.get((m.field, end))
    where = _country_of(gaz, nxt, context)
    name = " ".join(cased[m.first:end])
    if after == "in" and where:
        # "shelled Dardara in al-Hasakeh": a name placed inside a known place or region.
        return Entity("place", name, where)
    if after in UNLISTED_AFTER and (cue in _CUE_BEFORE_UNLISTED or the
                                    and after in THE_AFTER):
        # "in Al Wahabiyah frontline", "blocked the Halba highway"
        return Entity("place", name, where)
    if cue in DESIGNATORS and not the:
        return Entity("place", name, where)
    if cue in ATTACKED and not the and (where or after in OBJECT_AFTER):
        # "shelled Maraanaz and surrounding areas", "attacked Danhono in Chikun LGA"
        return Entity("place", name, where)
    if cue not in STRONG_BEFORE:
        return None
    if cue in ALONE or cue == "of" and before > 0 and tokens[before - 1] in ALONE:
        return Entity("place", " ".join(cased[m.first:end]), where)
    if where or after in UNLISTED_AFTER or (cue == "in" and after in ("", SENTENCE_BREAK)):
        return Entity("place", " ".join(cased[m.first:end]), where)
    return None


_JOINER = re.compile(r"[ \t]*[-'’]?[ \t]*")


def _as_written(field_text: str, tokens: list[str], m: Mention) -> tuple[str, int]:
    """An unlisted name as written, cut at punctuation: the capitalised run in
    "in Diguel (Diguel, Soum)" is one word, in "Wadi al-Rabi" three."""
    first = m.first - tokens[:m.first].count(SENTENCE_BREAK)
    spans = locate_words(field_text, {(w, w) for w in range(first, first + m.words)})
    ordered = [spans[w] for w in sorted(spans)]
    words = 1
    while words < len(ordered) and _JOINER.fullmatch(
            field_text[ordered[words - 1][1]:ordered[words][0]]):
        words += 1
    return field_text[ordered[0][0]:ordered[words - 1][1]], words


def _end_of(field_text: str, tokens: list[str], m: Mention, words: int) -> int:
    """Offset just past the first ``words`` words of the mention, spaces skipped."""
    last = m.first + words - 1 - tokens[:m.first].count(SENTENCE_BREAK)
    end = locate_words(field_text, {(last, last)})[(last, last)][1]
    while end < len(field_text) and field_text[end] in " \t":
        end += 1
    return end


SPEECH = frozenset("said says say urged urges called calls warned warns accused accuses "
                    "denied denies demanded demands condemned condemns insisted insists "
                    "announced responded reported claims claimed stated".split())


def _speaks(m: Mention, tokens: list[str]) -> bool:
    end = m.first + m.words
    # Only capitals and big cities stand for governments ("Moscow said").
    return (end < len(tokens) and tokens[end] in SPEECH and bool(m.entities)
            and all(e.kind == "place" and e.population >= BIG_PLACE for e in m.entities))


_IGNORED: dict[frozenset[str], frozenset[str]] = {}


def _ignored(gaz: Gazetteer) -> frozenset[str]:
    """Capitalised neighbours that do not glue a name to a place: stopwords, cues."""
    found = _IGNORED.get(gaz.stop)
    if found is None:
        found = _IGNORED[gaz.stop] = gaz.stop | CUE_AFTER | DESIGNATORS
    return found


def _choose(gaz: Gazetteer, rows: tuple[int, ...], context: set[str]) -> Entity:
    if len(rows) == 1:
        return gaz.place(rows[0])
    population, country = gaz.population.__getitem__, gaz.country
    biggest = max(rows, key=population)
    local = [r for r in rows if country(r) in context]
    if not local:
        return gaz.place(biggest)
    best = max(local, key=population)
    # Brussels (1.2 million) over a Brussels in a country named elsewhere in the text.
    return gaz.place(biggest if population(biggest) > 50 * max(population(best), 1000)
                     else best)


def resolve(gaz: Gazetteer, mentions: list[Mention], fields: tuple[str, str],
            token_lists: tuple[list[str], list[str]], cased_lists: tuple[list[str], list[str]]
            ) -> Found:
    """Keep the supported mentions; fill places and countries in order of mention."""
    context = {e.country for m in mentions for e in m.entities if e.country}
    at = {(m.field, m.first): m for m in mentions}
    # The words of the names known before any mention is resolved (resolving fills
    # more in). Only _run_of_capitals reads them, for few mentions: the set of words is
    # built from this snapshot when it first does.
    named = [(m.field, m.first, m.words) for m in mentions if m.entities or m.rows]
    known: set[tuple[int, int]] | None = None
    found = Found()
    for m in mentions:
        tokens = token_lists[m.field]
        if not m.rows and not m.entities:
            place = _unlisted(gaz, m, tokens, cased_lists[m.field], at, context)
            if (place is None and m.fallback is None and m.first > 0
                    and tokens[m.first - 1] in ("in", "at")):
                # "in Mamasapano, Maguindanao", "at Kokorowe (Bobo-Dioulasso, Houet)":
                # a name followed by its region, set off by a comma or a bracket.
                name, words = _as_written(fields[m.field], tokens, m)
                if fields[m.field][_end_of(fields[m.field], tokens, m, words):][:1] in (",", "("):
                    place = Entity("place", name, None)
            if place is None and m.fallback is not None:
                m = m.fallback
            elif place is None:
                continue
        if not m.rows and not m.entities:
            name, m.words = _as_written(fields[m.field], tokens, m)
            m.entities = (Entity("place", name, place.country),)
        elif m.rows:
            best = _choose(gaz, m.rows, context)
            if m.words == 1:
                if not _supported(m, tokens, context, best):
                    continue
                if known is None:
                    known = {(f, j) for f, first, words in named for j in range(first, first + words)}
                if _run_of_capitals(fields[m.field], tokens, cased_lists[m.field], m, known,
                                    _ignored(gaz)):
                    continue
            m.entities = (best,)
        if _speaks(m, tokens):
            # "Moscow said", "Washington urged": a government, not where it happened.
            m.entities = tuple(Entity("government", e.name, e.country) for e in m.entities
                               if e.kind in ("place", "region"))
        found.mentions.append(m)
    seen: set[tuple[str, str | None]] = set()
    for m in found.mentions:
        for e in m.entities:
            if e.kind in ("place", "region") and (e.name, e.country) not in seen:
                seen.add((e.name, e.country))
                found.places.append(e)
    found.countries = list(dict.fromkeys(e.country for m in found.mentions
                                         for e in m.entities if e.country))
    return found

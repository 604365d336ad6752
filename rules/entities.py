"""Places, countries and actors in an article, from the gazetteer.

One pass over the words of each field: every word that starts with a capital (in
the text as written) starts a lookup of the longest name, up to MAX_WORDS words,
in the curated table and then among GeoNames places. Names are then kept or
dropped by how much the text supports them, because one-word place names collide
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

from rules.gazetteer import MAX_WORDS, Entity, Gazetteer
from rules.normalize import SENTENCE_BREAK, locate_words

CUE_BEFORE = frozenset(
    "in near at from of outside around towards toward into across between and to "
    "village town city settlement hamlet district province region area outskirts "
    "suburb neighbourhood neighborhood camp".split())
CUE_AFTER = frozenset(
    "village villages town city district districts province region oblast raion "
    "governorate county municipality area sector camp neighbourhood neighborhood "
    "settlement border frontier".split())
# A one-word place this populous is kept on its capital letter alone.
BIG_PLACE = 100_000


@dataclass(slots=True)
class Mention:
    field: int
    sentence: int
    first: int            # token index in the field's normalized token list
    words: int
    entities: tuple[Entity, ...]
    rows: tuple[int, ...]  # GeoNames rows, when the name is not curated
    fallback: Mention | None = None  # the known first word of an unknown run


@dataclass
class Found:
    """What the extractor found in one article, in order of first mention."""

    mentions: list[Mention] = field(default_factory=list)
    places: list[Entity] = field(default_factory=list)
    countries: list[str] = field(default_factory=list)


def _capitalised(token: str) -> bool:
    return token[:1].isupper() or token[:1].isdigit() and token[-1:].isupper()


_CAPITAL_START = re.compile(r"(?<= )(?=[^\W\da-z_])")


def scan(gaz: Gazetteer, field_no: int, tokens: list[str], cased: list[str],
         cased_text: str) -> list[Mention]:
    """Longest names starting at capitalised words, in one left-to-right pass.

    Only capitalised words are visited: their positions come from one regex pass
    over the cased string, so the Python loop runs ~20 times per article, not ~120.
    """
    out: list[Mention] = []
    curated, places, stop, pairs = gaz.curated, gaz.places, gaz.stop, gaz.pairs
    count, skip_to = len(tokens), 0
    for start in _CAPITAL_START.finditer(cased_text):
        pos = start.start()
        i = cased_text.count(" ", 0, pos) - 1
        if i < skip_to or not cased[i][:1].isupper():
            continue
        sentence = cased_text.count(SENTENCE_BREAK, 0, pos)
        token = tokens[i]
        found = None
        longest = MAX_WORDS if " ".join(tokens[i:i + 2]) in pairs else 1
        for n in range(min(longest, count - i), 0, -1):
            key = " ".join(tokens[i:i + n]) if n > 1 else token
            if SENTENCE_BREAK in key or key in stop:
                continue
            ents = curated.get(key)
            if ents is not None:
                ents = tuple(e for e in ents if not e.capitals or cased[i:i + n] == [
                    t.upper() for t in cased[i:i + n]])
                # A region that is also a town ("Donetsk", "Moscow", "Washington"):
                # news mostly means the town; the choice among towns comes later.
                if ents and not (key in places and all(e.kind == "region" for e in ents)):
                    found = Mention(field_no, sentence, i, n, ents, ())
                    break
            if key in places:
                found = Mention(field_no, sentence, i, n, (), gaz.place_rows(key))
                break
        if found is not None and found.words == 1 and not _merges(found, i + 1, tokens, cased, gaz):
            out.append(found)
            continue
        if found is not None and found.words > 1:
            out.append(found)
            skip_to = i + found.words
            continue
        # A capitalised run the gazetteer does not know: perhaps a village, or a
        # known name that continues ("Shakhta Trudovskaya", "Donetsk Filtration Station").
        n = 1
        while n < 4 and i + n < count and _continues(tokens[i + n], cased[i + n], gaz):
            n += 1
        if token not in stop:
            out.append(Mention(field_no, sentence, i, n, (), (), found))
        skip_to = i + n
    return out


# Feature words that end a name ("Karbonit Mine") though alone they are no place.
FEATURES = frozenset("mine station airport hill hills camp base junction bridge dam "
                     "plant crossing".split())


def _continues(token: str, cased: str, gaz: Gazetteer) -> bool:
    if token in FEATURES:
        return True
    if not (_capitalised(cased) or token.isdigit()):
        return False
    return token not in gaz.stop and token not in gaz.curated and token not in gaz.places


def _merges(found: Mention, after: int, tokens: list[str], cased: list[str],
            gaz: Gazetteer) -> bool:
    """Does a one-word place or region run on into an unknown name?"""
    if after >= len(tokens) or not _capitalised(cased[after]) and tokens[after] not in FEATURES:
        return False
    if any(e.kind not in ("place", "region") for e in found.entities):
        return False
    return _continues(tokens[after], cased[after], gaz)


def _run_of_capitals(field_text: str, tokens: list[str], cased: list[str], m: Mention,
                     known: set[tuple[int, int]], ignore: frozenset[str]) -> bool:
    """Is this one-word name glued to another capitalised word ("Antony Blinken")?
    A neighbour that is itself a known name ("Tijuana Baja California") or a common
    word ("Sevan Police", "Yerevan Municipality") does not count."""
    neighbours = [j for j in (m.first - 1, m.first + 1) if 0 <= j < len(tokens)
                  and tokens[j] != SENTENCE_BREAK and _capitalised(cased[j])
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
    return any(re.fullmatch(r"[ \t]+", field_text[a[1]:b[0]] or "x")
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
    if before >= 0 and tokens[before] == "the":
        before -= 1
    cue = tokens[before] if before >= 0 else ""
    end = m.first + m.words
    after = tokens[end] if end < len(tokens) else ""
    skip = 1 + (tokens[end + 1] in ("al", "el", "the") if end + 1 < len(tokens) else 0)
    nxt = at.get((m.field, end + skip)) if after == "in" else at.get((m.field, end))
    where = _country_of(gaz, nxt, context)
    if after == "in" and where:
        # "shelled Dardara in al-Hasakeh": a name placed inside a known place or region.
        return Entity("place", " ".join(cased[m.first:end]), where)
    if after in UNLISTED_AFTER and cue in CUE_BEFORE | {"on", "rural"}:
        return Entity("place", " ".join(cased[m.first:end]), None)
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


SPEECH = frozenset("said says say urged urges called calls warned warns accused accuses "
                    "denied denies demanded demands condemned condemns insisted insists "
                    "announced responded reported claims claimed stated".split())


def _speaks(m: Mention, tokens: list[str]) -> bool:
    end = m.first + m.words
    # Only capitals and big cities stand for governments ("Moscow said").
    return (end < len(tokens) and tokens[end] in SPEECH and bool(m.entities)
            and all(e.kind == "place" and e.population >= BIG_PLACE for e in m.entities))


def _choose(gaz: Gazetteer, rows: tuple[int, ...], context: set[str]) -> Entity:
    candidates = [gaz.place(r) for r in rows]
    biggest = max(candidates, key=lambda c: c.population)
    local = [c for c in candidates if c.country in context]
    if not local:
        return biggest
    best = max(local, key=lambda c: c.population)
    # Brussels (1.2 million) over a Brussels in a country named elsewhere in the text.
    return biggest if biggest.population > 50 * max(best.population, 1000) else best


def resolve(gaz: Gazetteer, mentions: list[Mention], fields: tuple[str, str],
            token_lists: tuple[list[str], list[str]], cased_lists: tuple[list[str], list[str]]
            ) -> Found:
    """Keep the supported mentions; fill places and countries in order of mention."""
    context = {e.country for m in mentions for e in m.entities if e.country}
    at = {(m.field, m.first): m for m in mentions}
    known = {(m.field, j) for m in mentions if m.entities or m.rows
             for j in range(m.first, m.first + m.words)}
    found = Found()
    for m in mentions:
        tokens = token_lists[m.field]
        if not m.rows and not m.entities:
            place = _unlisted(gaz, m, tokens, cased_lists[m.field], at, context)
            if place is None and m.fallback is not None:
                m = m.fallback
            elif place is None:
                continue
        if not m.rows and not m.entities:
            name, m.words = _as_written(fields[m.field], tokens, m)
            m.entities = (Entity("place", name, place.country),)
        elif m.rows:
            best = _choose(gaz, m.rows, context)
            if m.words == 1 and (not _supported(m, tokens, context, best) or _run_of_capitals(
                    fields[m.field], tokens, cased_lists[m.field], m, known, gaz.stop | CUE_AFTER)):
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

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

# Words for "village" written before a name ("Barangay Pange", "tambon Kuttaphet"): a
# cue, not part of the name.
DESIGNATORS = frozenset("barangay barangays tambon kampung desa kelurahan".split())
# Verbs of attack place their object: "shelled Fleifel", "attacked Danhono in ...".
ATTACKED = frozenset("shelled attacked targeted bombed bombarded struck raided stormed besieged "
                     "captured seized recaptured overran entered shelling attacking "
                     "targeting bombing raiding storming".split())
CUE_BEFORE = frozenset(
    "in near at from of outside around towards toward into across between and to "
    "village town city settlement hamlet district province region area outskirts "
    "suburb neighbourhood neighborhood camp".split()) | DESIGNATORS | ATTACKED
# Stopwords that also start place names when an unknown capitalised word follows
# ("As Silw", "Al Jabaliyah", "San Pedro de Ycuamandiyu").
NAME_STARTS = frozenset("al el as at an ad ash ar az ad la le los las san santa santo "
                        "mount lake".split())
# Lower-case particles inside a name: "Wadi al-Rabi", "Furn el Chebbak".
PARTICLES = frozenset("al el ad ar ash az de del dos das los las ul".split())
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


# A space, then the first letter of a word that may be a capital (checked with isupper).
_CAPITAL = re.compile(r" [^\W\da-z_]")


def scan(gaz: Gazetteer, field_no: int, tokens: list[str], cased: list[str],
         cased_text: str) -> list[Mention]:
    """Longest names starting at capitalised words, in one left-to-right pass.

    Capitalised words are found with one regex pass and their word and sentence
    numbers counted on in C, so the Python loop runs only at capitals (~25 an
    article); stopwords ("On", "May") take a short path.
    """
    out: list[Mention] = []
    curated, places, stop, starts = gaz.curated, gaz.places, gaz.stop, gaz.starts
    count, skip_to, sentence, i, pos = len(tokens), 0, 0, -1, 0
    for start in _CAPITAL.finditer(cased_text):
        # Word number and sentence number of this capital, counted on from the last
        # one (str.count runs in C): the Python loop only visits capitalised words.
        i += cased_text.count(" ", pos, start.start() + 1)
        sentence += cased_text.count(SENTENCE_BREAK, pos, start.start())
        pos = start.start() + 1
        if i < skip_to or not cased[i][:1].isupper():
            continue
        token = tokens[i]
        found = None
        longest = MAX_WORDS if starts(" ".join(tokens[i:i + 2])) else 1
        if token in DESIGNATORS:
            continue  # "Barangay Pange": the name starts at the next word
        if longest == 1 and token in stop:
            # "On", "May", "The": no name starts here; the run after it is skipped,
            # unless it starts a name the gazetteer lacks ("As Silw", "Al Jah").
            n = _run(gaz, tokens, cased, i, count)
            if n > 1 and token in NAME_STARTS and not cased[i + 1][:1].isdigit():
                out.append(Mention(field_no, sentence, i, n, (), (), None))
            skip_to = i + n
            continue
        if longest > 1 or token in curated or token in places:
            found = _lookup(gaz, field_no, sentence, i, tokens, cased, longest)
        if found is not None and found.words == 1 and not _merges(found, i + 1, tokens, cased,
                                                                   gaz):
            out.append(found)
            continue
        if found is not None and found.words > 1:
            out.append(found)
            skip_to = i + found.words
            continue
        # A capitalised run the gazetteer does not know: perhaps a village, or a
        # known name that continues ("Shakhta Trudovskaya", "Donetsk Filtration Station").
        n = _run(gaz, tokens, cased, i, count)
        if token not in stop:
            out.append(Mention(field_no, sentence, i, n, (), (), found))
        skip_to = i + n
    return out


def _lookup(gaz: Gazetteer, field_no: int, sentence: int, i: int, tokens: list[str],
            cased: list[str], longest: int) -> Mention | None:
    """The longest curated name or GeoNames place starting at word i."""
    curated, places, stop = gaz.curated, gaz.places, gaz.stop
    for n in range(min(longest, len(tokens) - i), 0, -1):
        key = " ".join(tokens[i:i + n]) if n > 1 else tokens[i]
        if SENTENCE_BREAK in key or key in stop:
            continue
        ents = curated.get(key)
        if ents is not None:
            if any(e.capitals for e in ents):
                upper = cased[i:i + n] == [t.upper() for t in cased[i:i + n]]
                ents = tuple(e for e in ents if not e.capitals or upper)
            # A region that is also a town ("Donetsk", "Moscow", "Washington"):
            # news mostly means the town; the choice among towns comes later.
            if ents and not (key in places and all(e.kind == "region" for e in ents)):
                return Mention(field_no, sentence, i, n, ents, ())
        if key in places:
            return Mention(field_no, sentence, i, n, (), gaz.place_rows(key))
    return None


# Feature words that end a name ("Karbonit Mine") though alone they are no place.
FEATURES = frozenset("mine station airport hill hills camp base junction bridge dam "
                     "plant crossing".split())


def _run(gaz: Gazetteer, tokens: list[str], cased: list[str], i: int, count: int) -> int:
    """Words (1-4) of the unknown capitalised run that starts at word i."""
    stop, curated, places = gaz.stop, gaz.curated, gaz.places
    n = 1
    while n < 4 and i + n < count:
        token, word = tokens[i + n], cased[i + n]
        if (token in PARTICLES and word.islower() and i + n + 1 < count
                and cased[i + n + 1][:1].isupper() and n < 3):
            n += 2  # "Wadi al-Rabi", "Ras al Ain": the particle and the next word
            continue
        if token not in FEATURES and (
                not (word[:1].isupper() or token.isdigit()
                     or word[:1].isdigit() and word[-1:].isupper())
                or token in stop or token in curated or token in places):
            break
        n += 1
    return n


def _continues(token: str, cased: str, gaz: Gazetteer) -> bool:
    if token in FEATURES:
        return True
    if not (_capitalised(cased) or token.isdigit()):
        return False
    return token not in gaz.stop and token not in gaz.curated and token not in gaz.places


def _merges(found: Mention, after: int, tokens: list[str], cased: list[str],
            gaz: Gazetteer) -> bool:
    """Does a one-word place or region run on into an unknown name?"""
    if after >= len(tokens):
        return False
    if any(e.kind not in ("place", "region") for e in found.entities):
        return False
    if (tokens[after] in PARTICLES and cased[after].islower() and after + 1 < len(tokens)
            and cased[after + 1][:1].isupper()):
        return True  # "Wadi al-Rabi"
    if not _capitalised(cased[after]) and tokens[after] not in FEATURES:
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


# "the X highway": a name before these, after "the", is a place whatever the verb.
THE_AFTER = frozenset("area front frontline highway road roundabout crossing checkpoint base "
                      "airbase camp district village town neighbourhood neighborhood axis "
                      "sector junction bridge intersection countryside".split())
# What may follow the object of an attack verb when that object is a place.
OBJECT_AFTER = frozenset(["", SENTENCE_BREAK, "in", "near", "and", "on", "using", "with", "from",
                          "killing", "injuring", "wounding", "leaving", "after", "overnight",
                          "early", "late", "at", "amid", "causing", "but", "as", "during"])


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
    skip = 1 + (tokens[end + 1] in ("al", "el", "the") if end + 1 < len(tokens) else 0)
    nxt = at.get((m.field, end + skip)) if after == "in" else at.get((m.field, end))
    where = _country_of(gaz, nxt, context)
    name = " ".join(cased[m.first:end])
    if after == "in" and where:
        # "shelled Dardara in al-Hasakeh": a name placed inside a known place or region.
        return Entity("place", name, where)
    if after in UNLISTED_AFTER and (cue in CUE_BEFORE | {"on", "rural"} or the
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
    known = {(m.field, j) for m in mentions if m.entities or m.rows
             for j in range(m.first, m.first + m.words)}
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
            if m.words == 1 and (not _supported(m, tokens, context, best) or _run_of_capitals(
                    fields[m.field], tokens, cased_lists[m.field], m, known, _ignored(gaz))):
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

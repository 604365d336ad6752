"""The gazetteer: countries, regions, populated places, armed actors, organisations.

Two tables, both keyed by a name's normalized words ("nagorno karabakh"):

- ``curated``: countries (ISO names, short forms, demonyms), first-level regions,
  actors and organisations, hand-written and user places: a few tens of thousands of
  keys, each with the Entity objects it names;
- ``places``: GeoNames populated places (~235,000 and their close transliterations),
  a packed map from key to row (rules/nameindex.py: sorted hashes and one string of
  keys, no Python object per name); the rows are packed too (names in one string
  with offsets, country codes as indexes into a short list, coordinates and
  population in ``array``s) and materialised into an Entity only when hit. The
  extractor only looks up word n-grams that start with a capital.

Memory (issue 6 wants the whole daemon under 150 MB): a dict of the place keys and
a set of name starts cost ~60 MB of RSS; the packed tables cost ~20 MB. The file is
read line by line, so no decompressed copy of it or list of its lines is ever alive
(that alone left ~30 MB of fragmented heap behind). Only the starts of names of
three or more words are kept (``pairs``, ``_place_pairs``): two-word names are looked
up directly.

Data: rules/data/*.tsv.gz built by rules/data/build_gazetteer.py, and
rules/data/entities.yaml (hand-written). Pure: package data in, tables out.
"""

from __future__ import annotations

import gzip
from array import array
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

from rules.nameindex import HashSet, IndexBuilder, NameIndex, sorted_hashes
from rules.normalize import phrase_words

MAX_WORDS = 6  # longest name, in words, that the extractor tries


@dataclass(frozen=True, slots=True)
class Entity:
    kind: str                    # place | region | country | actor
    name: str
    country: str | None = None   # ISO alpha-2
    lat: float | None = None
    lon: float | None = None
    population: int = 0
    role: str | None = None      # actors: military, armed_group, organisation...
    capitals: bool = False       # an acronym: matches only when written in capitals


def name_key(name: str) -> str:
    """'Nagorno-Karabakh' -> 'nagorno karabakh': the words normalize() produces."""
    return " ".join(phrase_words(name))


def _rows(filename: str) -> Iterable[list[str]]:
    data = resources.files("rules.data").joinpath(filename).read_bytes()
    for line in gzip.decompress(data).decode("utf-8").splitlines():
        yield line.split("\t")


def _float(text: str) -> float | None:
    return float(text) if text else None


class Gazetteer:
    """Name tables; build with load_gazetteer() (cached) or .extended()."""

    def __init__(self) -> None:
        self.curated: dict[str, tuple[Entity, ...]] = {}
        self.places: NameIndex | dict[str, int | tuple[int, ...]] = {}
        self._names = bytearray()       # every place name, end to end, UTF-8
        self._offsets = array("I", [0])  # name of row r: _names[_offsets[r]:_offsets[r + 1]]
        self._codes: list[str] = []     # distinct country codes
        self._country = array("B")      # row -> index into _codes
        self.coords = array("f")       # lat, lon interleaved
        self.population = array("I")
        self.country_names: dict[str, str] = {}  # alpha-2 -> short display name
        self.stop: frozenset[str] = frozenset()
        self._made: dict[int, Entity] = {}
        # First two words of every name of three or more words: a lookup of 3+ words
        # is only tried when its first two words start one (or are a name). Curated
        # and user names here; GeoNames ones packed, by hash (a false hit only costs
        # a lookup that fails).
        self.pairs: set[str] = set()
        self._place_pairs: HashSet | set[str] = set()
        # What each capitalised run holds (rules/names.py); depends on these tables.
        self.runs: dict[str, tuple[Any, ...]] = {}

    def starts(self, pair: str) -> bool:
        """Do these two words start a name of two or more words?"""
        # The set and the dict first: a lookup in a packed table costs several of theirs.
        return (pair in self.pairs or pair in self.curated or pair in self._place_pairs
                or pair in self.places)

    def name(self, row: int) -> str:
        return self._names[self._offsets[row]:self._offsets[row + 1]].decode()

    def country(self, row: int) -> str:
        return self._codes[self._country[row]]

    def __len__(self) -> int:
        return len(self._country)

    def add(self, key: str, entity: Entity) -> None:
        _add_pair(self.pairs, key)
        if key and key not in self.stop:
            found = self.curated.get(key, ())
            if entity not in found:
                self.curated[key] = found + (entity,)

    def place(self, row: int) -> Entity:
        found = self._made.get(row)
        if found is None:
            if len(self._made) >= 20_000:  # a bounded cache of the places seen lately
                self._made.clear()
            found = self._made[row] = Entity(
                "place", self.name(row), self.country(row), float(self.coords[2 * row]),
                float(self.coords[2 * row + 1]), self.population[row])
        return found

    def place_rows(self, key: str) -> tuple[int, ...]:
        found = self.places.get(key)
        if found is None:
            return ()
        return (found,) if isinstance(found, int) else found

    def extended(self, extra: Mapping[str, Any] | None) -> Gazetteer:
        """A copy with user additions (places, aliases, actors), sharing GeoNames rows."""
        if not extra or not any(extra.values()):
            return self
        copy = Gazetteer()
        copy.__dict__.update(self.__dict__)
        copy.curated = dict(self.curated)
        copy.pairs = set(self.pairs)
        copy.runs = {}
        _add_curated(copy, extra)
        return copy


def _add_pair(pairs: set[str], key: str) -> None:
    if key.count(" ") >= 2:
        pairs.add(" ".join(key.split(" ", 2)[:2]))


def _add_places(gaz: Gazetteer) -> None:
    names, codes = bytearray(), {}
    index, pairs = IndexBuilder(), array("q")
    stop = gaz.stop
    for line in _lines("places.tsv.gz"):
        name, cc, lat, lon, pop, aliases = line.rstrip("\n").split("\t")
        row = len(gaz._country)
        names += name.encode()
        gaz._offsets.append(len(names))
        gaz._country.append(codes.setdefault(cc, len(codes)))
        gaz.coords.extend((float(lat), float(lon)))
        gaz.population.append(int(pop))
        for alias in [name, *aliases.split(";")] if aliases else [name]:
            key = _fast_key(alias)
            if not key or key in stop:
                continue
            if key.count(" ") >= 2:
                pairs.append(hash(" ".join(key.split(" ", 2)[:2])))
            index.add(key, row)
    gaz._names = names
    gaz._codes = list(codes)
    gaz.places = index.build()
    gaz._place_pairs = HashSet(sorted_hashes(pairs))
    assert len(gaz._codes) < 256


def _lines(filename: str) -> Iterator[str]:
    """The lines of a shipped gzip file, one at a time (no copy of the whole file)."""
    with resources.files("rules.data").joinpath(filename).open("rb") as raw, \
            gzip.open(raw, "rt", encoding="utf-8") as text:
        yield from text


_SEP = {c: " " for c in range(128) if not chr(c).isalnum()}


def _fast_key(name: str) -> str:
    # Built data is folded to ASCII already: skip the regex tokenizer for speed.
    if name.isascii():
        return " ".join(name.translate(_SEP).lower().split())
    return name_key(name)


def _add_countries(gaz: Gazetteer, demonyms: Mapping[str, list[str]],
                   short_names: Mapping[str, str]) -> None:
    for alpha2, alpha3, name, others in _rows("countries.tsv.gz"):
        short = short_names.get(alpha2) or sorted([name, *filter(None, others.split(";"))],
                                                  key=len)[0]
        gaz.country_names[alpha2] = short
        entity = Entity("country", short, alpha2)
        for alias in [name, *filter(None, others.split(";"))]:
            gaz.add(name_key(alias), entity)
    for alpha2, aliases in demonyms.items():
        entity = Entity("country", gaz.country_names.get(alpha2, alpha2), alpha2)
        for alias in aliases:
            gaz.add(name_key(alias), Entity(entity.kind, entity.name, alpha2,
                                            capitals=_is_acronym(alias)))


def _add_regions(gaz: Gazetteer) -> None:
    for name, cc, lat, lon, bare in _rows("regions.tsv.gz"):
        entity = Entity("region", bare or name, cc, _float(lat), _float(lon))
        for alias in (name, bare):
            if alias:
                gaz.add(name_key(alias), entity)


def _is_acronym(alias: str) -> bool:
    letters = [c for c in alias if c.isalpha()]
    return len(letters) <= 5 and all(c.isupper() for c in letters)


def _add_curated(gaz: Gazetteer, data: Mapping[str, Any]) -> None:
    """Actors and places from entities.yaml or the user's config ``gazetteer:``."""
    for actor in data.get("actors") or ():
        for alias in [actor["name"], *(actor.get("aliases") or ())]:
            gaz.add(name_key(alias), Entity("actor", actor["name"], actor.get("country"),
                                            role=actor.get("kind"), capitals=_is_acronym(alias)))
    for place in data.get("places") or ():
        entity = Entity("place", place["name"], place.get("country"), place.get("lat"),
                        place.get("lon"), int(place.get("population") or 0))
        for alias in [place["name"], *(place.get("aliases") or ())]:
            key = name_key(alias)
            _add_pair(gaz.pairs, key)
            # A hand-written place replaces what it names among curated regions.
            gaz.curated[key] = (Entity(entity.kind, entity.name, entity.country, entity.lat,
                                       entity.lon, entity.population, capitals=_is_acronym(alias)),)


@cache
def load_gazetteer() -> Gazetteer:
    """The bundled gazetteer, loaded once per process (about a second)."""
    hand = yaml.safe_load(resources.files("rules.data").joinpath("entities.yaml")
                          .read_text(encoding="utf-8"))
    gaz = Gazetteer()
    gaz.stop = frozenset(name_key(word) for word in hand.get("stoplist") or ())
    _add_countries(gaz, hand.get("countries") or {}, hand.get("short_names") or {})
    _add_regions(gaz)
    _add_curated(gaz, hand)
    _add_places(gaz)
    return gaz


"""Coordinates for incident places, for the map.

The rules store coordinates in each article's facts when they know them; for a place
stored without (an older article, a name the rules found by its context), the bundled
gazetteer is asked. It costs about a second and 60 MB to load, so it is loaded at most
once per process and only when a place actually lacks coordinates; answers are
remembered (bounded).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

_LOADING = threading.Lock()  # requests run in a thread pool: load the 60 MB tables once, not once per thread


def with_coordinates(places: Iterable[dict[str, Any] | str], countries: Iterable[str] = ()) -> list[dict[str, Any]]:
    """The places that have, or can be given, a latitude and longitude (copies; input untouched)."""
    hints = tuple(sorted(set(countries)))
    out = []
    for place in places:
        place = {"name": place} if isinstance(place, str) else place  # an older, names-only record
        if _number(place.get("lat")) and _number(place.get("lon")):
            out.append(dict(place))
            continue
        if "country" in place and place["country"] is None and "lat" in place:
            continue  # the rules found it by its context ("the town of X"): the gazetteer has no X
        found = lookup(str(place.get("name") or ""), str(place.get("country") or ""), hints)
        if found is not None:
            out.append({**place, "lat": found[0], "lon": found[1]})
    return out


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@lru_cache(maxsize=4096)
def lookup(name: str, country: str, hints: tuple[str, ...]) -> tuple[float, float] | None:
    """A place's coordinates by name: a curated place or region first, else the most populous
    GeoNames place of that name, preferring the place's own country, then the incident's."""
    if not name:
        return None
    from rules.gazetteer import load_gazetteer, name_key

    with _LOADING:
        gaz = load_gazetteer()
    key = name_key(name)
    wanted = (country,) if country else hints

    def rank(entity: Any) -> tuple[bool, int]:
        return (entity.country in wanted, entity.population)

    curated = [e for e in gaz.curated.get(key, ()) if e.kind in ("place", "region") and e.lat is not None]
    rows = [gaz.place(r) for r in gaz.place_rows(key)]
    for candidates in (curated, rows):
        if candidates:
            best = max(candidates, key=rank)
            if best.lat is not None and best.lon is not None:
                return float(best.lat), float(best.lon)
    return None

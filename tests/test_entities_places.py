"""Gazetteer and place extraction, on sentences written for the project."""

from __future__ import annotations

import pytest

from rules import RuleSet, build_ruleset
from rules.packs import read_bundled


@pytest.fixture(scope="module")
def rs() -> RuleSet:
    return build_ruleset([read_bundled("ceasefire")])


def places(rs: RuleSet, text: str, title: str = "") -> list[tuple[str, str | None]]:
    return [(p["name"], p["country"]) for p in rs.classify(title, text).places]


def test_small_front_line_towns_with_coordinates(rs: RuleSet) -> None:
    result = rs.classify("", "Troops shelled the Armenian towns of Goris, Kapan and Jermuk overnight.")
    found = {p["name"]: p for p in result.places}
    assert set(found) == {"Goris", "Kapan", "Jermuk"}
    assert all(p["country"] == "AM" for p in found.values())
    assert 39 < found["Jermuk"]["lat"] < 40.5 and 45 < found["Jermuk"]["lon"] < 46
    assert "AM" in result.countries


def test_aliases_and_transliterations(rs: RuleSet) -> None:
    assert ("Kyiv", "UA") in places(rs, "Drones were shot down over Kiev on Sunday.")
    assert ("Stepanakert", "AZ") in places(rs, "Sirens sounded in Khankendi at dawn.")


@pytest.mark.parametrize("text", [
    "Most of the shells missed.", "The coalition may split over the plan.",
    "A mobile unit of the police arrived.", "He spoke of the need for calm.",
    "Police said the road was closed.", "Split decisions rarely help.",
])
def test_common_words_are_not_places(rs: RuleSet, text: str) -> None:
    assert places(rs, text) == []


def test_person_names_are_not_places(rs: RuleSet) -> None:
    # "Antony" is a French town; here it is a first name glued to a surname.
    found = places(rs, "French officials met Antony Blinken in Paris on Monday.")
    assert ("Paris", "FR") in found and all(name != "Antony" for name, _ in found)


def test_ambiguous_names_prefer_the_country_in_the_text(rs: RuleSet) -> None:
    assert ("Kapan", "AM") in places(rs, "Armenian officials said Kapan came under fire.")
    assert ("Brussels", "BE") in places(rs, "The American envoy flew to Brussels for talks.")


def test_unlisted_village_from_context(rs: RuleSet) -> None:
    found = places(rs, "Mortars hit positions near Zarechnoye-Verkhneye, Donetsk, on Friday.")
    assert ("Zarechnoye-Verkhneye", "UA") in found


def test_countries_from_names_and_demonyms(rs: RuleSet) -> None:
    result = rs.classify("", "Azerbaijani troops and the Armenian army exchanged fire; Russia urged calm.")
    assert result.countries[:3] == ["AZ", "AM", "RU"]


def test_user_gazetteer_extension() -> None:
    extra = {"places": [{"name": "Qoshqar Post", "country": "AZ", "lat": 40.5, "lon": 45.9,
                         "aliases": ["Koshkar Post"]}],
             "actors": [{"name": "Border Brigade 7", "country": "AM", "kind": "military",
                         "aliases": ["BB7"]}]}
    rs = build_ruleset([read_bundled("ceasefire")], gazetteer_extra=extra)
    result = rs.classify("", "Shots were fired at Koshkar Post, said BB7 commanders.")
    assert {"name": "Qoshqar Post", "country": "AZ", "lat": 40.5, "lon": 45.9} in result.places
    assert any(a["name"] == "Border Brigade 7" for a in result.actors)
    # The bundled gazetteer is untouched by another RuleSet's additions.
    plain = build_ruleset([read_bundled("ceasefire")])
    assert plain.classify("", "Shots were fired at Koshkar Post.").places == []


@pytest.mark.parametrize("text,place", [
    # invented names: nothing here is in the gazetteer, the wording places them
    ("Gunmen attacked Kelbrino in Kaduna on Sunday.", ("Kelbrino", "NG")),
    ("Protesters blocked the Farzeen highway for hours.", ("Farzeen", None)),
    ("Fighting flared on the As Zumrah front overnight.", ("As Zumrah", None)),
    ("Mortars struck positions in Wadi al-Zarqan (Tripoli).", ("Wadi al-Zarqan", "LY")),
    ("Troops clashed with bandits in Tundimar, Zamfara state.", ("Tundimar", "NG")),
    ("Artillery shelled Qorvasht and nearby farms.", ("Qorvasht", None)),
    ("A firefight broke out in Barangay Ghalbeen, Sultan Kudarat.", ("Ghalbeen", "PH")),
])
def test_unlisted_places_from_news_wording(rs: RuleSet, text: str, place: tuple) -> None:
    assert place in places(rs, text)


@pytest.mark.parametrize("text", [
    "The minister spoke in Parliament on Monday.",
    "As Reuters reported, the talks failed.",
    "On Monday the Army said little.",
])
def test_capitalised_words_that_are_not_places(rs: RuleSet, text: str) -> None:
    assert places(rs, text) == []


def test_packed_place_rows_round_trip(rs: RuleSet) -> None:
    gaz = rs.gazetteer
    rows = gaz.place_rows("jermuk")
    assert rows and gaz.name(rows[0]) == "Jermuk" and gaz.country(rows[0]) == "AM"
    assert gaz.place(rows[0]) is gaz.place(rows[0])  # materialised once, then cached

"""The web pages' pure parts: highlighting, filters, TopoJSON decoding, the map view, charts."""

from __future__ import annotations

from datetime import timedelta

import pytest

from pipeline.web.charts import bars
from pipeline.web.filters import FilterError, Filters, parse_filters
from pipeline.web.highlight import segments, snippets
from pipeline.web.mapdraw import MapPlace, core, decode_topojson, draw, view_bounds, world
from pipeline.web.places import with_coordinates


def test_segments_mark_whole_words_longest_first_any_case():
    parts = segments("Cease-fire broken: fire on Goris, firing continues", ["fire", "cease-fire", "goris"])
    assert [text for text, hit in parts if hit] == ["Cease-fire", "fire", "Goris"]
    assert "".join(text for text, _ in parts) == "Cease-fire broken: fire on Goris, firing continues"


def test_segments_keep_markup_as_plain_text():
    parts = segments("<b>shelling</b> <script>x</script>", ["shelling", "script"])
    assert ("shelling", True) in parts and ("script", True) in parts
    assert "".join(text for text, _ in parts) == "<b>shelling</b> <script>x</script>"  # escaping is the template's


def test_segments_without_words():
    assert segments("plain", []) == [("plain", False)]
    assert segments("", ["x"]) == []


def test_snippets_show_words_in_context_and_stay_short():
    text = ("Opening words. " * 30) + "Troops opened artillery fire on the town. " + ("Filler text. " * 60) + \
        "Later a drone struck a depot." + (" Closing." * 30)
    passages = snippets(text, ["artillery", "drone"], context=40)
    assert len(passages) == 2
    assert all(any(hit for _, hit in p) for p in passages)
    assert all(len("".join(t for t, _ in p)) < 140 for p in passages)
    assert "".join(t for t, _ in passages[0]).startswith("…")
    dense = " ".join(["shelling"] * 400)
    assert all(len("".join(t for t, _ in p)) < 700 for p in snippets(dense, ["shelling"]))


def test_filters_parse_and_round_trip():
    filters = parse_filters({"category": "Shelling", "country": "am", "severity": "high", "since": "1d"})
    assert filters == Filters("shelling", "AM", "high", timedelta(days=1))
    assert filters.severities() == ["high", "critical"]
    assert filters.query() == "category=shelling&country=AM&severity=high&since=1d"
    assert parse_filters({}).query() == ""


@pytest.mark.parametrize("params", [{"category": "sports"}, {"country": "ARM"}, {"country": "%"},
                                    {"severity": "extreme"}, {"since": "yesterday"}, {"since": "0s"},
                                    {"limit": "many"}, {"limit": "501"}])
def test_filters_refuse_values_outside_their_sets(params):
    with pytest.raises(FilterError, match=next(iter(params))):
        parse_filters(params)


# Two unit squares side by side sharing the arc x=1 (arc 1), as TopoJSON quantizes them.
TOPOLOGY = {
    "type": "Topology",
    "transform": {"scale": [1, 1], "translate": [10, 20]},
    "arcs": [
        [[1, 0], [-1, 0], [0, 1], [1, 0]],  # (11,20) -> (10,20) -> (10,21) -> (11,21)
        [[1, 1], [0, -1]],                  # (11,21) -> (11,20): the shared edge
        [[1, 1], [1, 0], [0, -1], [-1, 0]],  # (11,21) -> (12,21) -> (12,20) -> (11,20)
    ],
    "objects": {"countries": {"type": "GeometryCollection", "geometries": [
        {"type": "Polygon", "arcs": [[0, 1]], "properties": {"name": "West"}},
        {"type": "MultiPolygon", "arcs": [[[-2, 2]]], "properties": {"name": "East"}},  # -2: arc 1 reversed
    ]}},
}


def test_decode_topojson_joins_shared_and_reversed_arcs():
    west, east = decode_topojson(TOPOLOGY, "countries")
    assert west.name == "West" and list(west.rings[0]) == [11, 20, 10, 20, 10, 21, 11, 21, 11, 20]
    assert east.name == "East" and list(east.rings[0]) == [11, 20, 11, 21, 12, 21, 12, 20, 11, 20]
    assert west.bbox == (10, 20, 11, 21) and east.bbox == (11, 20, 12, 21)


BORDER_TOWNS = [MapPlace("Goris", 39.51, 46.34), MapPlace("Kapan", 39.21, 46.41), MapPlace("Jermuk", 39.84, 45.67)]


def test_the_view_zooms_to_the_core_places_and_lists_far_ones():
    places = BORDER_TOWNS + [MapPlace("Moscow", 55.75, 37.62), MapPlace("Brussels", 50.85, 4.35)]
    assert {p.name for p in core(places)} == {"Goris", "Kapan", "Jermuk"}
    picture = draw(places, world(), width=800, height=500)
    assert {m.label for m in picture.markers} == {"Goris", "Kapan", "Jermuk"}
    assert picture.outside == ["Moscow", "Brussels"]
    assert {"Armenia", "Azerbaijan"} <= {name for name, _ in picture.countries}
    assert all(0 <= m.x <= 800 and 0 <= m.y <= 500 for m in picture.markers)
    west, south, east, north = picture.bounds
    assert (east - west) > (north - south)  # wider than high, as the picture


def test_view_keeps_the_aspect_ratio_and_a_minimum_span():
    west, south, east, north = view_bounds([MapPlace("Goris", 39.51, 46.34)], 800, 400)
    assert north - south >= 4.0 and west < 46.34 < east and south < 39.51 < north


def test_world_view_without_places():
    picture = draw([], world())
    assert len(picture.countries) > 100 and picture.markers == []


def test_places_without_coordinates_are_looked_up_in_the_gazetteer():
    found = with_coordinates([{"name": "Goris", "country": "AM", "lat": None, "lon": None},
                              {"name": "Nowhere-on-earth-xyz"}, "Kapan"], ["AM"])
    assert [p["name"] for p in found] == ["Goris", "Kapan"]
    assert abs(found[0]["lat"] - 39.5) < 0.2 and abs(found[0]["lon"] - 46.3) < 0.2


def test_bars_scale_to_the_largest_value():
    drawn = bars([0, 5, 10], ["a", "b", "c"], width=30, height=40)
    assert [b.value for b in drawn] == [0, 5, 10]
    assert drawn[2].height == 38 and drawn[1].height == 19 and drawn[0].height == 0
    assert bars([1, 1000], ["a", "b"])[0].height >= 1  # one hit stays visible next to a busy day

"""Names found one capitalised run at a time (rules/names.py), on sentences written
for the project: names with lower-case particles, names that end in lower-case words,
and the per-gazetteer cache of runs."""

from __future__ import annotations

import pytest

from rules import RuleSet, build_ruleset
from rules.gazetteer import load_gazetteer
from rules.names import RUN_CACHE_SIZE, scan
from rules.normalize import normalize_cased
from rules.packs import read_bundled


@pytest.fixture(scope="module")
def rs() -> RuleSet:
    return build_ruleset([read_bundled("ceasefire")])


def _names(text: str) -> list[tuple[int, int]]:
    return [(m.first, m.words) for m in scan(load_gazetteer(), 1, normalize_cased(text)[1])]


def test_particles_inside_a_name(rs: RuleSet) -> None:
    places = [p["name"] for p in rs.classify(
        "", "Gunmen attacked a bar in Santa Cruz de la Sierra on Friday.").places]
    assert "Santa Cruz de la Sierra" in places


def test_a_name_may_end_in_lower_case_words(rs: RuleSet) -> None:
    actors = [a["name"] for a in rs.classify(
        "", "Iran asked the UN security council to meet, Iran said.").actors]
    assert "UN Security Council" in actors


def test_word_and_sentence_numbers_across_runs() -> None:
    text = "Shelling hit Goris. Later Kapan and Jermuk were hit, officials in Yerevan said."
    gaz = load_gazetteer()
    mentions = scan(gaz, 1, normalize_cased(text)[1])
    words = normalize_cased(text)[1].split()
    by_name = {" ".join(words[m.first:m.first + m.words]): m.sentence for m in mentions
               if m.rows or m.entities}
    assert by_name["Goris"] == 0 and by_name["Kapan"] == 1 and by_name["Yerevan"] == 1


def test_a_cached_run_gives_the_same_names_again() -> None:
    text = "Armenia's Defense Ministry said Azerbaijani forces shelled Goris and Kapan."
    first = _names(text)
    again = _names(text)
    assert first == again and first


def test_user_places_do_not_leak_into_the_bundled_gazetteer() -> None:
    text = "Drones struck Zodville overnight, local officials said."
    extended = build_ruleset([read_bundled("ceasefire")], gazetteer_extra={
        "places": [{"name": "Zodville", "country": "AM", "lat": 40.0, "lon": 45.0}]})
    assert [p["name"] for p in extended.classify("", text).places] == ["Zodville"]
    plain = build_ruleset([read_bundled("ceasefire")])
    assert "Zodville" not in [p["name"] for p in plain.classify("", "Drones struck "
                                                                "Zodville overnight.").places
                              if p["lat"] is not None]


def test_the_run_cache_is_bounded() -> None:
    gaz = load_gazetteer()
    for n in range(RUN_CACHE_SIZE + 10):
        scan(gaz, 1, normalize_cased(f"Talks in Place{n} Town ended")[1])
    assert len(gaz.runs) <= RUN_CACHE_SIZE

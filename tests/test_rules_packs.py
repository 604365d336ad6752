"""The bundled pack: loads, and behaves on clear cases and on common traps.

Sentences here are written for the tests (not taken from any corpus).
"""

from __future__ import annotations

import pytest

from rules import RuleSet, build_ruleset
from rules.packs import bundled_pack_names, read_bundled


@pytest.fixture(scope="module")
def pack() -> RuleSet:
    return build_ruleset([read_bundled("ceasefire")])


def categories(rs: RuleSet, text: str, title: str = "") -> list[str]:
    return rs.classify(title, text).categories


def test_bundled_pack_names_and_source() -> None:
    assert "ceasefire" in bundled_pack_names()
    text, source = read_bundled("ceasefire")
    assert source == "rules/packs/ceasefire.yaml"
    assert "rules:" in text


def test_unknown_pack_lists_the_known_ones() -> None:
    with pytest.raises(KeyError, match="ceasefire"):
        read_bundled("no-such-pack")


def test_every_rule_has_a_description_and_a_unique_id(pack: RuleSet) -> None:
    assert len(pack) >= 10
    assert all(rule.description for rule in pack.rules)
    assert len({rule.id for rule in pack.rules}) == len(pack)


@pytest.mark.parametrize("text, expected", [
    ("Artillery pounded the outskirts of the provincial capital overnight.", "shelling"),
    ("The village was shelled for three hours, the regional governor said.", "shelling"),
    ("A drone struck a fuel depot near the border on Tuesday.", "shelling"),
    ("Warplanes carried out air strikes on two districts.", "shelling"),
    ("Mortar rounds landed near a school.", "shelling"),
    ("Border guards exchanged fire with an armed group near the crossing.", "armed_clash"),
    ("Insurgents ambushed an army patrol on the mountain road.", "armed_clash"),
    ("A roadside bomb exploded next to a military convoy.", "armed_clash"),
    ("Heavy clashes broke out between the two militias overnight.", "armed_clash"),
    ("Three soldiers were killed and five wounded, officials said.", "casualties"),
    ("The attack killed 12 people, including four children.", "casualties"),
    ("The defence ministry accused the rebels of violating the ceasefire.", "ceasefire_violation"),
    ("Government troops broke the truce within hours, the monitors reported.",
     "ceasefire_violation"),
    ("The shelling was in breach of the cease-fire agreed last month.", "ceasefire_violation"),
    ("The government requested consultations under Article 4 of the North Atlantic Treaty.",
     "treaty_appeal"),
    ("The security council decided to appeal to Moscow for military assistance under the "
     "1997 treaty.", "treaty_appeal"),
    ("The foreign ministry requested an emergency meeting of the UN Security Council.",
     "treaty_appeal"),
])
def test_clear_sentences_get_their_category(pack: RuleSet, text: str, expected: str) -> None:
    assert expected in categories(pack, text)


@pytest.mark.parametrize("text", [
    "The striker shot wide and the home side's attack faded in the second half.",
    "Their attacking midfielder was shot down by a late tackle; the keeper shot it long.",
    "Shell plc reported higher profits as the oil company shelled out on buybacks.",
    "Investigators traced the money through a shell company in a tax haven.",
    "The price war between the supermarkets hit margins.",
    "A trade war would hurt exporters, the minister warned.",
    "Drone delivery of parcels starts in three towns next month.",
    "The court rejected his appeal against the verdict.",
    "The club lodged an appeal with the league against the ban.",
    "He was fired from his job at the bank after the audit.",
    "The senate killed the bill in committee.",
    "The fans clashed over ticket prices online.",
    "Prices rocketed and the stock market exploded with optimism.",
    "The alliance reaffirmed its commitment to Article 5 at the summit.",
    "Troops from six allies joined the annual exercise of the alliance.",
])
def test_traps_give_nothing(pack: RuleSet, text: str) -> None:
    assert categories(pack, text) == []


def test_ceasefire_rules_ignore_denials_and_agreements(pack: RuleSet) -> None:
    assert "ceasefire_violation" not in categories(
        pack, "Monitors recorded no ceasefire violations in the region on Sunday.")
    assert "ceasefire_violation" not in categories(
        pack, "The two sides agreed a truce that takes effect at midnight.")


def test_treaty_rules_ignore_explanations_of_the_article(pack: RuleSet) -> None:
    assert "treaty_appeal" not in categories(
        pack, "Article 4 allows any ally to request consultations when it feels threatened.")


def test_severities_follow_the_pack_policy(pack: RuleSet) -> None:
    by_category = {rule.category: set() for rule in pack.rules}
    for rule in pack.rules:
        by_category[rule.category].add(rule.severity)
    assert by_category["treaty_appeal"] == {"critical"}
    assert by_category["armed_clash"] == {"medium"}
    assert by_category["shelling"] == by_category["ceasefire_violation"] == {"high"}


def test_seed_style_report_gets_the_three_headline_categories(pack: RuleSet) -> None:
    # A report written for this test in the style of a border-flare-up article.
    title = "Army says enemy forces fired on three border towns using drones"
    text = ("The defence ministry said artillery shelled positions near two towns. "
            "A senator called the attack an egregious violation of the ceasefire. "
            "The national security council decided to appeal to its ally for assistance "
            "under a 1997 mutual-defence treaty.")
    result = pack.classify(title, text)
    assert {"shelling", "ceasefire_violation", "treaty_appeal"} <= set(result.categories)
    assert result.severity == "critical"

"""Casualty counts, on sentences written for the project."""

from __future__ import annotations

import pytest

from rules.casualties import count_casualties, number


@pytest.mark.parametrize("text,value", [
    ("1,250", 1250), ("forty-nine", 49), ("twenty one", 21), ("a", 1), ("seven", 7),
    ("dozens", None),
])
def test_number(text: str, value: int | None) -> None:
    assert number(text) == value


@pytest.mark.parametrize("sentence,killed,injured", [
    ("Three soldiers were killed and five others were wounded near the border.", 3, 5),
    ("Forty-two villagers died when shells struck the market.", 42, None),
    ("The strike killed at least 14 people, officials said.", 14, None),
    ("More than 20 civilians were injured in the attack.", None, 20),
    ("Between 6 and 9 fighters were killed overnight.", 6, None),
    ("A soldier was killed by sniper fire on Tuesday.", 1, None),
    ("The death toll rose to 37 on Sunday.", 37, None),
    ("Two guards and 3 drivers were killed at the checkpoint.", 5, None),
    ("Four people were killed in the first raid, and two more were killed at dusk.", 6, None),
    ("A gunman killed 8 people at the bus station.", 8, None),
    ("Eleven people were hurt when a drone hit the depot.", None, 11),
])
def test_counts(sentence: str, killed: int | None, injured: int | None) -> None:
    result = count_casualties("", sentence)
    assert (result.killed, result.injured) == (killed, injured)


def test_vague_amounts_give_a_flag_not_a_number() -> None:
    result = count_casualties("", "Dozens of people were wounded in the shelling.")
    assert result.injured is None and "vague_injured" in result.flags


def test_past_wars_are_background() -> None:
    text = ("Shelling resumed along the border on Monday. Thousands were killed in a 44-day "
            "war over the region that ended in November 2020. In 1994, 300 people died in "
            "the war of 1994.")
    assert count_casualties("", text).killed is None


def test_civilians_and_military_where_stated() -> None:
    result = count_casualties("", "Two civilians were killed. Four soldiers were wounded.")
    assert result.civilians == {"killed": 2} and result.military == {"injured": 4}


def test_missing() -> None:
    assert count_casualties("", "Seven sailors went missing after the attack.").missing == 7


def test_title_counts_too() -> None:
    assert count_casualties("Nine killed as rockets hit town", "").killed == 9


@pytest.mark.parametrize("text,killed", [
    # several victims in one phrase: each "and his ..." / "and a ..." is one more
    ("A shepherd and his nephew were killed by a mine near the border.", 2),
    ("Seven guards and a driver were killed when the convoy was hit.", 8),
    ("The drone killed a medic and a cameraman outside the depot.", 2),
    ("Rebels killed 1 village chief in addition to 2 of his bodyguards.", 3),
    ("Three guards and 2-3 drivers were killed at the gate.", 5),
    # a singular victim of an intransitive verb, ages, pronouns
    ("A 62-year-old woman died after shrapnel hit her house.", 1),
    ("A prisoner died in custody at the camp.", 1),
    ("Snipers opened fire on a farmer, killing him.", 1),
    ("A militiaman killed his cousin in the square.", 1),
    ("The shell killed a family of five in the village.", 5),
    ("An official was found dead near the checkpoint.", 1),
    # the subject of an active verb is the killer, not the victim
    ("Two gunmen shot and killed a shopkeeper in the market.", 1),
    # different sides in different sentences add up; claims by a party do not
    ("Two soldiers were killed in the raid. Troops later killed 4 insurgents.", 6),
    ("Four police officers were killed. The group claimed it had killed 30.", 4),
    ("Nine people were killed. Other sources reported 12 deaths.", 9),
    # wire prefixes, tolls
    ("UPDATE 2-Six soldiers killed in ambush", 6),
    ("The death toll from the shelling of the northern villages rose to 17.", 17),
    ("Officials reported 25 rebel fighters and 6 military fatalities.", 31),
])
def test_counts_in_news_phrasing(text: str, killed: int | None) -> None:
    assert count_casualties("", text).killed == killed


@pytest.mark.parametrize("text", [
    "Three militants were killed or wounded in the clash.",
    "Two fighters were killed, injured or captured during the operation.",
    "Over 40 goats were killed when the shell hit the farm.",
    "Marchers gathered to honour 60 people killed in last year's unrest.",
    "A resident died from coronavirus the day before the curfew.",
])
def test_no_count_for_unsplit_animal_or_background_deaths(text: str) -> None:
    assert count_casualties("", text).killed is None

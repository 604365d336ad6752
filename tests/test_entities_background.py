"""Deaths that are the cause of a protest, not its casualties; second-source figures;
numbers and articles that are no count. Sentences written for the project."""

from __future__ import annotations

import pytest

from rules.casualties import count_casualties


@pytest.mark.parametrize("sentence", [
    "Residents protested in the town after police shot dead a motorcycle driver.",
    "Hundreds rallied over the killing of a journalist last week.",
    "Traders blocked the main road demanding justice for a vendor who was killed by a guard.",
    "Relatives held a vigil against the death of a prisoner in custody.",
    "Youths torched a police post following the killing of a teacher.",
])
def test_deaths_that_caused_a_protest_are_not_its_own(sentence: str) -> None:
    result = count_casualties("", sentence)
    assert result.killed == 0 and "background_killed" in result.flags


@pytest.mark.parametrize("sentence,killed", [
    # Deaths during the protest are its own, even when it was about another death.
    ("Police opened fire on a protest against the killing of a teacher, killing three people.", 3),
    ("Students marched over the death of a classmate and clashed with police; "
     "two protesters were shot dead.", 2),
    ("Protesters clashed with police after the vote, and two demonstrators were shot dead.", 2),
    # "after" in an ordinary report is no protest's cause.
    ("Fighting resumed after 4 soldiers were killed on Monday.", 4),
    ("Three soldiers were killed when protesters stormed the post after the arrest of a leader.",
     3),
])
def test_deaths_during_the_action_count(sentence: str, killed: int) -> None:
    result = count_casualties("", sentence)
    assert result.killed == killed and "background_killed" not in result.flags


def test_a_second_sources_figure_in_the_same_sentence_is_not_added() -> None:
    text = "The ministry said 25 people were killed, but other sources reported at least 37 died."
    assert count_casualties("", text).killed == 25


@pytest.mark.parametrize("sentence", [
    "The dead were taken to the district morgue.",
    "Officials have not released the fatalities yet.",
    "A form four student was hit by a car.",
])
def test_no_count(sentence: str) -> None:
    assert count_casualties("", sentence).killed is None


def test_a_protest_with_a_stated_toll_elsewhere_keeps_it() -> None:
    text = ("Two soldiers were killed in an ambush near the border. "
            "Residents later protested over the killing of a farmer.")
    assert count_casualties("", text).killed == 2

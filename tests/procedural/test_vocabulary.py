"""The public prompt list and the vocabulary figure measured over it."""

from __future__ import annotations

from pathlib import Path

from bench.vocabulary import content_words, load_prompts, measure
from model.procedural.figures.words import ANIMALS, PEOPLE, VERBS
from model.procedural.stand_ins import STAND_INS, stand_in_for

PROMPTS = Path(__file__).resolve().parents[2] / "docs" / "prompts.txt"


def test_the_prompt_list_has_at_least_200_distinct_prompts_across_the_themes() -> None:
    prompts = load_prompts(PROMPTS)
    assert len(prompts) >= 200
    assert len(set(prompts)) == len(prompts)
    text = " ".join(prompts)
    for theme in ("man", "dog", "cat", "basketball", "kitchen", "sea", "rain", "snow", "car", "glass"):
        assert f" {theme}" in f" {text}", theme


def test_content_words_leave_out_stop_words() -> None:
    assert content_words("a man throws a ball at the wall") == ["man", "throws", "ball", "wall"]


def test_the_share_counts_every_content_word_once() -> None:
    result = measure(["a red ball bounces on a concrete floor", "a zorblax quibbles"])
    assert result.content_words == 7
    assert dict(result.missing) == {"zorblax": 1, "quibbles": 1}
    assert result.used == 5 and result.prompts_fully_understood == 1


def test_stand_ins_cover_plurals_and_never_shadow_a_known_word() -> None:
    assert stand_in_for("apples") == ("apple", STAND_INS["apple"])
    assert stand_in_for("mugs") is not None and stand_in_for("zorblax") is None
    overlap = set(STAND_INS) & (set(PEOPLE) | set(ANIMALS) | set(VERBS))
    assert not overlap

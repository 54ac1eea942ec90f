"""The prompt grammar and the scene spec it produces."""

from __future__ import annotations

import json

import pytest

from model.procedural.edit import apply_edit
from model.procedural.layout import build_scene
from model.procedural.prompt import MAX_OBJECTS, parse_prompt
from model.procedural.scene import SCENE_VERSION, SceneSpec, SceneVersionError


def test_the_readme_prompt_is_understood_completely() -> None:
    parsed = parse_prompt("a red rubber ball falls from two meters and bounces on a concrete floor")
    assert parsed.unused_words == []
    (ball,) = parsed.groups
    assert (ball.kind, ball.color, ball.material, ball.action, ball.height) == ("ball", "red", "rubber", "drop", 2.0)
    assert [(f.kind, f.material) for f in parsed.fixtures] == [("floor", "concrete")]


@pytest.mark.parametrize(
    ("prompt", "kind", "count", "color"),
    [
        ("three light blue cubes", "cube", 3, "lightblue"),
        ("a pair of dark slate gray crates", "crate", 2, "darkslategray"),
        ("5 soccer balls", "football", 5, None),
        ("some tennis balls", "tennis_ball", 3, None),
        ("a rebeccapurple bottle", "bottle", 1, "rebeccapurple"),
        ("dominoes", "domino", 3, None),
    ],
)
def test_counts_colours_and_synonyms(prompt: str, kind: str, count: int, color: str | None) -> None:
    (group,) = parse_prompt(prompt).groups
    assert (group.kind, group.count, group.color) == (kind, count, color)


def test_environment_camera_and_pace_words() -> None:
    parsed = parse_prompt("a ball rolls down a ramp outside at sunset in the rain, windy, orbit shot, slow motion")
    assert (parsed.setting, parsed.time, parsed.rain, parsed.camera, parsed.pace) == (
        "outdoor", "sunset", 1.0, "orbit", 0.25)  # fmt: skip
    assert parsed.wind and parsed.wind > 0
    assert [f.kind for f in parsed.fixtures] == ["ramp"]


def test_unknown_words_are_reported_not_dropped() -> None:
    parsed = parse_prompt("a purple ball juggles flamboyantly near the xylophone")
    assert parsed.groups[0].color == "purple"
    assert parsed.unused_words == ["juggles", "flamboyantly", "xylophone"]


def test_quoted_line_becomes_speech_for_a_figure() -> None:
    parsed = parse_prompt('a robot says "hello there, -rf friend" and waves')
    assert parsed.speech == ["hello there, -rf friend"]
    assert parsed.groups[0].kind == "robot"
    scene, _ = build_scene(parsed, seed=0)
    assert scene.speech[0].speaker == scene.objects[0].id


@pytest.mark.parametrize(
    "prompt",
    [
        "",
        "   ",
        "zzzz qqqq",
        "x" * 10_000,
        "ball " * 2_500,
        "a ball\x00\x1b[31m falls\x07\x7f",
        "<script>alert(1)</script><b>a red cube</b>",
        '"""" "unterminated',
        "🙂🙃 ∑∫ 𝕒 𝔟𝔞𝔩𝔩",
        "\u202eevil\u202c ball",
    ],
)
def test_hostile_prompts_parse_into_a_bounded_scene(prompt: str) -> None:
    parsed = parse_prompt(prompt)
    scene, notes = build_scene(parsed, seed=1)
    movable = [o for o in scene.objects if o.shape != "figure"]
    assert 1 <= len(movable) <= MAX_OBJECTS
    assert json.loads(json.dumps(scene.to_dict()))["version"] == SCENE_VERSION
    if not parsed.groups:
        assert any("plain scene" in n for n in notes)


def test_markup_is_stripped_but_its_words_are_used() -> None:
    parsed = parse_prompt("<b>a red cube</b>")
    assert parsed.groups[0].kind == "cube" and parsed.groups[0].color == "red"
    assert "markup removed" in parsed.notes


def test_scene_spec_survives_a_json_round_trip() -> None:
    scene, _ = build_scene(parse_prompt("two cubes topple on a table next to a ramp at night"), seed=5)
    again = SceneSpec.from_dict(json.loads(json.dumps(scene.to_dict())))
    assert again == scene


def test_scene_from_another_version_is_refused() -> None:
    scene, _ = build_scene(parse_prompt("a ball"), seed=0)
    data = scene.to_dict() | {"version": SCENE_VERSION + 1}
    with pytest.raises(SceneVersionError):
        SceneSpec.from_dict(data)


def test_remix_colour_changes_only_colour() -> None:
    scene, _ = build_scene(parse_prompt("a red rubber ball falls from two meters"), seed=0)
    edited = apply_edit(scene, "make it blue", seed=0).scene
    (before,), (after,) = scene.objects, edited.objects
    assert after.color_name == "blue" and after.color == (0.0, 0.0, 1.0)
    assert (after.position, after.velocity, after.material) == (before.position, before.velocity, before.material)
    assert edited.environment == scene.environment and edited.camera == scene.camera


def test_remix_edits_weather_time_objects_and_pace() -> None:
    scene, _ = build_scene(parse_prompt("a red ball and a blue cube fall"), seed=0)
    result = apply_edit(scene, "at night in the rain, remove the cube, add two bottles, slow motion", seed=0)
    edited = result.scene
    assert (edited.environment.time, edited.environment.rain, edited.pace) == ("night", 1.0, 0.25)
    kinds = sorted(o.kind for o in edited.objects)
    assert kinds == ["ball", "bottle", "bottle"]
    ball = next(o for o in edited.objects if o.kind == "ball")
    assert ball.position == scene.objects[0].position
    assert result.reframe


def test_remix_material_change_applies_to_named_objects_only() -> None:
    scene, _ = build_scene(parse_prompt("a ball and a cube fall"), seed=0)
    edited = apply_edit(scene, "make the cube metal", seed=0).scene
    assert next(o for o in edited.objects if o.kind == "cube").material == "metal"
    assert next(o for o in edited.objects if o.kind == "ball").material == "rubber"

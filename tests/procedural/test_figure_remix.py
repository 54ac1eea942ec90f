"""Remix across the figures: 'make it a dog', 'now he catches it', 'make it snow', 'make it rain' change what was
asked and keep the rest of the scene."""

from __future__ import annotations

import copy

import numpy as np

from model.procedural.edit import apply_edit
from model.procedural.figures.performance import hold_drive, perform
from model.procedural.figures.reading import read_prompt
from model.procedural.figures.remix import apply_figure_edit, read_remix, without_words
from model.procedural.figures.staging import stage
from model.procedural.layout import build_scene
from model.procedural.physics import simulate
from model.procedural.prompt import parse_prompt
from model.procedural.scene import SceneSpec


def _scene(prompt: str) -> SceneSpec:
    parsed = parse_prompt(prompt)
    reading = read_prompt(prompt, parsed)
    scene, notes = build_scene(parsed, 0)
    stage(scene, reading, parsed, notes)
    return scene


def _remix(scene: SceneSpec, prompt: str) -> tuple[SceneSpec, list[str]]:
    figure_edit = read_remix(prompt)
    edit = apply_edit(scene, without_words(prompt, figure_edit.used), 0)
    return edit.scene, edit.changes + apply_figure_edit(edit.scene, figure_edit)


def test_make_it_a_dog_changes_the_animal_and_keeps_its_jump_and_the_sofa() -> None:
    source = _scene("a cat jumps onto a sofa")
    scene, changes = _remix(copy.deepcopy(source), "make it a dog")
    assert [f.kind for f in scene.figures] == ["dog"] and changes
    assert scene.figures[0].script == source.figures[0].script
    assert [f.kind for f in scene.fixtures] == [f.kind for f in source.fixtures]


def test_now_he_catches_it_turns_the_throw_into_a_catch_with_the_ball_in_his_hands() -> None:
    scene, changes = _remix(_scene("a man throws a ball at a wall"), "now he catches it")
    assert any("catch" in c for c in changes)
    fig = scene.figures[0]
    assert [m.verb for m in fig.script] == ["stand", "catch"] and fig.catches == "ball-1" and not fig.holds
    fps = 48.0
    traj = simulate(scene, 120, fps, drive=hold_drive(scene))
    track = perform(scene, traj).tracks[fig.id]
    ball = traj.poses[:, traj.names.index("ball-1"), :2]
    at = round(track.events["catch"] * fps)
    assert np.hypot(*(ball[0] - track.points["hand"][0])) > 2.0  # it comes from afar
    gap = np.hypot(*(ball[at + 2 :] - track.points["hand"][at + 2 :]).T)
    assert gap.max() < 0.1  # and stays in his hands after the catch


def test_make_it_snow_and_make_it_rain_change_only_the_weather() -> None:
    source = _scene("a dog runs along a beach and splashes into the sea")
    snowy, changes = _remix(copy.deepcopy(source), "make it snow")
    assert changes == ["snow: 1"]
    assert snowy.environment.snow > 0 and snowy.figures == source.figures
    assert all(o.color == s.color for o, s in zip(snowy.objects, source.objects, strict=True))  # not painted white
    rainy, _ = _remix(copy.deepcopy(source), "make it rain")
    assert rainy.environment.rain > 0 and rainy.figures == source.figures


def test_make_it_a_dog_without_a_figure_turns_the_ball_into_a_dog() -> None:
    scene, changes = _remix(_scene("a red ball bounces"), "make it a dog")
    assert changes == ["ball-1: now a dog"]
    assert [f.kind for f in scene.figures] == ["dog"] and not any(o.kind == "ball" for o in scene.objects)


def test_a_remix_through_the_generator_says_what_changed() -> None:
    import json

    from model.generator import CancelToken, GenerationRequest, SourceClip, no_progress
    from model.procedural import ProceduralGenerator

    generator = ProceduralGenerator(device="cpu")
    clip = generator.generate(GenerationRequest("generate", "a cat jumps onto a sofa", width=64, height=36,
                                                seconds=1.0), no_progress, CancelToken())  # fmt: skip
    source = SourceClip("src", "a cat jumps onto a sofa", "procedural", json.loads(json.dumps(clip.state)), clip)
    remix = generator.generate(GenerationRequest("remix", "make it a dog", sources=(source,), width=64, height=36,
                                                 seconds=1.0), no_progress, CancelToken())  # fmt: skip
    assert any("now a dog" in c for c in remix.metadata["changes"])
    assert remix.metadata["unused_words"] == [] and remix.state["scene"]["figures"][0]["kind"] == "dog"

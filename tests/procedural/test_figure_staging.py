"""Prompts with people, animals, water and weather become scenes: the reading, the staging and the physics of a
held ball. Numbers only; the pictures are checked on decoded clips in test_figures.py."""

from __future__ import annotations

import json

import numpy as np

from model.procedural.figures.performance import hold_drive, perform
from model.procedural.figures.reading import read_prompt
from model.procedural.figures.staging import SEAT_TOP, SHORE_X, stage
from model.procedural.layout import build_scene
from model.procedural.physics import simulate
from model.procedural.prompt import parse_prompt
from model.procedural.scene import SceneSpec


def _scene(prompt: str) -> tuple[SceneSpec, list[str], list[str]]:
    parsed = parse_prompt(prompt)
    reading = read_prompt(prompt, parsed)
    scene, notes = build_scene(parsed, 0)
    stage(scene, reading, parsed, notes)
    return scene, parsed.notes + notes, parsed.unused_words


def test_the_done_when_prompts_use_every_word_and_cast_their_figures() -> None:
    cases = {
        "a man throws a ball at a wall": ("adult", ["stand", "throw"]),
        "a cat jumps onto a sofa": ("cat", ["stand", "jump"]),
        "a gymnast does a backflip on a mat": ("adult", ["stand", "backflip"]),
        "a dog runs along a beach and splashes into the sea": ("dog", ["run", "swim"]),
    }
    for prompt, (kind, verbs) in cases.items():
        scene, notes, unused = _scene(prompt)
        assert unused == [], (prompt, unused)
        assert [f.kind for f in scene.figures] == [kind], prompt
        assert [m.verb for m in scene.figures[0].script] == verbs, prompt
        assert not any(o.shape == "figure" for o in scene.objects)  # no standing figure left behind
        assert "no object understood" not in " ".join(notes)


def test_a_cat_lands_on_the_sofa_seat_and_stays() -> None:
    scene, _, _ = _scene("a cat jumps onto a sofa")
    assert "sofa" in {f.kind for f in scene.fixtures}
    seat = next(f for f in scene.fixtures if f.kind == "sofa").boxes[0]
    traj = simulate(scene, 72, 24.0)
    cast = perform(scene, traj)
    track = cast.tracks[scene.figures[0].id]
    assert abs(track.lowest[-1] - SEAT_TOP) < 1e-6
    assert seat[0] - seat[3] < track.root[-1, 0] < seat[0] + seat[3]  # over the seat, not past it
    assert track.lowest[0] < 1e-6  # it started on the floor


def test_the_thrown_ball_stays_in_the_hand_until_the_release_then_flies_to_the_wall() -> None:
    scene, _, _ = _scene("a man throws a ball at a wall")
    fig = scene.figures[0]
    assert fig.holds == "ball-1"
    fps = 48.0
    traj = simulate(scene, 144, fps, drive=hold_drive(scene))
    cast = perform(scene, traj)
    track = cast.tracks[fig.id]
    release = track.events["release"]
    ball = traj.poses[:, traj.names.index("ball-1"), :2]
    before = np.arange(1, int(release * fps) - 1)
    gap = np.hypot(*(ball[before] - track.points["hand"][before]).T)
    assert gap.max() < 0.06  # in the hand (one frame's lag of the drive at most)
    after = int(release * fps) + 6
    assert np.hypot(*(ball[after] - track.points["hand"][after])) > 0.5  # it has left the hand
    wall = [e for e in traj.events if e.body == "ball-1" and e.other.startswith("wall")]
    assert wall and wall[0].time > release
    x_at_wall = ball[int(wall[0].time * fps) + 4, 0]
    assert x_at_wall < ball[int(wall[0].time * fps), 0]  # bounced back off it


def test_a_dog_runs_into_the_sea_and_splashes_with_a_sound() -> None:
    scene, _, _ = _scene("a dog runs along a beach and splashes into the sea")
    sea = next(f for f in scene.fixtures if f.kind == "pool")
    assert sea.boxes[0][0] - sea.boxes[0][3] == SHORE_X
    assert scene.floor().color != (0.56, 0.56, 0.54)  # sand, not concrete
    traj = simulate(scene, 120, 24.0)
    cast = perform(scene, traj)
    assert cast.sounds and 0.5 < cast.sounds[0].time < 4.5
    splash = cast.particles[0]
    first = int(np.argmax(splash.alive.any(axis=1)))
    assert abs(first / 24.0 - cast.sounds[0].time) <= 1 / 24 + 1e-9  # droplets and sound on the same frame


def test_a_glass_of_water_is_a_glass_that_spills_not_a_pool() -> None:
    scene, _, unused = _scene("a glass of water is knocked off a kitchen table")
    assert unused == []
    assert "pool" not in {f.kind for f in scene.fixtures}
    glass = next(o for o in scene.objects if not o.static)
    assert glass.material == "glass" and glass.contents == "water" and glass.shape == "cylinder"
    traj = simulate(scene, 96, 24.0)
    cast = perform(scene, traj)
    assert cast.particles and cast.sounds  # the water pours out as it tips, and is heard


def test_unknown_nouns_become_stand_ins_named_in_the_notes() -> None:
    scene, notes, unused = _scene("an apple falls from a tree")
    assert "apple" not in unused
    assert any("'apple'" in n and "ball" in n for n in notes)
    assert any(o.kind == "ball" for o in scene.objects)


def test_snow_and_animals_without_a_rig_are_read() -> None:
    scene, notes, _ = _scene("a bear walks through the snow")
    assert scene.environment.snow > 0 and scene.figures[0].kind == "dog" and scene.figures[0].scale > 1.5
    assert any("'bear'" in n for n in notes)


def test_scenes_with_figures_round_trip_and_old_scenes_still_load() -> None:
    scene, _, _ = _scene("a cat jumps onto a sofa")
    data = json.loads(json.dumps(scene.to_dict()))
    again = SceneSpec.from_dict(data)
    assert again.figures == scene.figures
    old = json.loads(json.dumps(scene.to_dict()))
    del old["figures"]
    del old["environment"]["snow"]
    for o in old["objects"]:
        o.pop("contents", None)
    assert SceneSpec.from_dict(old).figures == []

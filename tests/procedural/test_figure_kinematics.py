"""Rigs, verbs and forward kinematics of people and animals: pure numbers, no rendering."""

from __future__ import annotations

import math

import numpy as np
import pytest

from model.procedural.figures import RIG_KINDS, VERBS, Motion, animate, rig_for
from model.procedural.figures.looks import limb_bodies, look_for
from model.procedural.figures.verbs import verbs_for

FPS = 48
TIMES = np.arange(0, 4.0, 1 / FPS)


def test_every_rig_does_every_verb_with_finite_poses_and_stands_on_the_ground() -> None:
    for kind in RIG_KINDS:
        rig = rig_for(kind)
        for verb in VERBS:
            track = animate(rig, [Motion(verb)], TIMES)
            assert np.isfinite(track.poses).all(), (kind, verb)
            assert track.poses.shape == (TIMES.size, len(rig.limbs), 3)
        standing = animate(rig, [Motion("stand")], TIMES)
        assert np.allclose(standing.lowest, 0.0, atol=1e-9), kind  # feet on the floor, not in it


def test_people_have_adult_and_child_proportions() -> None:
    adult = animate(rig_for("adult"), [Motion("stand")], TIMES[:1])
    child = animate(rig_for("child"), [Motion("stand")], TIMES[:1])
    top = lambda tr: float(tr.points["head"][0, 1]) + 0.1  # noqa: E731
    assert 1.6 < top(adult) < 1.85
    assert 0.95 < top(child) < 1.3
    head_share = lambda k: rig_for(k).limb("head").width / rig_for(k).height  # noqa: E731
    assert head_share("child") > 1.15 * head_share("adult")  # a child's head is bigger for its size


def test_a_jump_rises_and_lands_where_it_started() -> None:
    track = animate(rig_for("adult"), [Motion("jump")], TIMES)
    low = track.lowest
    takeoff, landing = track.events["takeoff"], track.events["landing"]
    flight = (takeoff + 0.05 < TIMES) & (landing - 0.05 > TIMES)
    assert low[flight].max() > 0.3  # feet well off the ground at the top
    assert np.allclose(low[landing + 0.02 < TIMES], 0.0, atol=1e-6)  # and back on it after
    assert np.allclose(low[takeoff > TIMES], 0.0, atol=1e-6)
    apex = TIMES[np.argmax(low)]
    assert takeoff < apex < landing


def test_a_cat_jumps_onto_a_seat_and_stays_there() -> None:
    seat = 0.45
    track = animate(rig_for("cat"), [Motion("stand", seconds=0.3), Motion("jump", distance=0.8, height=seat)], TIMES,
                    x0=-0.5)  # fmt: skip
    after = track.events["landing"] + 0.05 < TIMES
    assert np.allclose(track.lowest[after], seat, atol=1e-6)
    assert abs(track.root[-1, 0] - 0.3) < 1e-6  # travelled the 0.8 m it was asked to
    assert track.lowest[TIMES < 0.3].max() < 1e-6


def test_a_walk_advances_at_walking_pace_and_a_run_faster() -> None:
    walk = animate(rig_for("adult"), [Motion("walk")], TIMES)
    run = animate(rig_for("adult"), [Motion("run")], TIMES)
    walked = walk.root[-1, 0] - walk.root[0, 0]
    ran = run.root[-1, 0] - run.root[0, 0]
    assert 1.0 * 4 < walked < 1.8 * 4
    assert ran > 2 * walked
    assert np.all(np.diff(walk.root[:, 0]) >= 0)
    # Legs alternate: the two thighs' angles are out of phase.
    names = walk.names
    r, left = names.index("thigh_r"), names.index("thigh_l")
    assert np.corrcoef(walk.poses[:, r, 2], walk.poses[:, left, 2])[0, 1] < -0.9
    facing_left = animate(rig_for("dog"), [Motion("walk")], TIMES, x0=2.0, facing=-1.0)
    assert facing_left.root[-1, 0] < 2.0 - 1.0


def test_the_ball_leaves_the_hand_where_the_hand_is_and_flies_forward_and_up() -> None:
    rig = rig_for("adult")
    track = animate(rig, [Motion("stand", seconds=0.4), Motion("throw")], TIMES, x0=-1.0)
    release = track.release
    assert release is not None
    f = round(release.time * FPS)
    hand_then = animate(rig, [Motion("stand", seconds=0.4), Motion("throw")], np.array([release.time]), x0=-1.0)
    assert np.allclose(hand_then.points["hand"][0], release.position, atol=1e-9)
    assert abs(track.points["hand"][f, 0] - release.position[0]) < 0.35  # the frame nearest agrees too
    vx, vy = release.velocity
    assert 5.0 < math.hypot(vx, vy) < 20.0
    assert vx > 0 and 0 < vy < vx  # forward, a little up
    assert release.position[1] > 1.3  # over the shoulder
    mirrored = animate(rig, [Motion("throw")], TIMES, x0=0.0, facing=-1.0).release
    assert mirrored is not None and mirrored.velocity[0] < 0


def test_a_backflip_turns_the_torso_through_a_full_turn_in_the_air() -> None:
    track = animate(rig_for("adult"), [Motion("backflip")], TIMES)
    torso = track.names.index("torso")
    angle = np.unwrap(track.poses[:, torso, 2])
    takeoff, landing = track.events["takeoff"], track.events["landing"]
    turned = angle[np.searchsorted(TIMES, landing)] - angle[np.searchsorted(TIMES, takeoff)]
    assert abs(turned - 2 * math.pi) < 0.3
    flight = (takeoff + 0.1 < TIMES) & (landing - 0.1 > TIMES)
    assert track.lowest[flight].min() > 0.05  # the whole turn happens off the ground
    assert np.allclose(track.lowest[landing + 0.02 < TIMES], 0.0, atol=1e-6)


def test_a_fall_ends_lying_down_and_sitting_on_a_seat_puts_the_hips_on_it() -> None:
    fall = animate(rig_for("adult"), [Motion("fall")], TIMES)
    assert fall.points["head"][-1, 1] < 0.4
    sit = animate(rig_for("adult"), [Motion("sit", height=0.45)], TIMES)
    assert abs(sit.root[-1, 1] - 0.45) < 0.1
    assert abs(sit.root[0, 1] - 0.95) < 0.1


def test_swimming_keeps_the_body_at_the_surface_and_flying_off_the_ground() -> None:
    swim = animate(rig_for("adult"), [Motion("swim", surface=0.0)], TIMES, ground=-2.0)
    assert np.all(np.abs(swim.root[:, 1]) < 0.2)
    assert swim.root[-1, 0] > 2.0
    bird = animate(rig_for("bird"), [Motion("fly")], TIMES)
    assert bird.lowest.min() > 0.2


def test_animals_do_what_their_bodies_can() -> None:
    assert verbs_for(rig_for("dog"), "throw") == "jump"
    assert verbs_for(rig_for("bird"), "run") == "fly"
    assert verbs_for(rig_for("adult"), "throw") == "throw"
    with pytest.raises(ValueError, match="verb"):
        verbs_for(rig_for("adult"), "teleport")


def test_scripts_chain_verbs_without_jumps_in_position() -> None:
    track = animate(rig_for("dog"), [Motion("run", distance=3.0), Motion("swim", surface=-0.2)], TIMES)
    steps = np.abs(np.diff(track.root[:, 0]))
    assert steps.max() < 0.2  # no teleport at the switch from running to swimming
    assert track.root[-1, 0] > 3.0


def test_limbs_become_bodies_with_the_prompt_colour_on_the_main_part() -> None:
    rig = rig_for("dog")
    track = animate(rig, [Motion("stand")], TIMES[:2], z=0.5)
    bodies = limb_bodies("dog0", rig, track, look_for("dog", (0.1, 0.1, 0.1)))
    assert len(bodies) == len(rig.limbs)
    assert all(b.id.startswith("dog0/") for b in bodies)
    torso = next(b for b in bodies if b.id == "dog0/torso")
    assert torso.color == (0.1, 0.1, 0.1)
    assert {round(b.z - 0.5, 3) for b in bodies} >= {0.0}
    assert (bodies[0].position, bodies[0].angle) == (tuple(track.poses[0, 0, :2]), track.poses[0, 0, 2])


def test_the_same_script_gives_the_same_poses() -> None:
    a = animate(rig_for("horse"), [Motion("run"), Motion("jump")], TIMES)
    b = animate(rig_for("horse"), [Motion("run"), Motion("jump")], TIMES)
    assert np.array_equal(a.poses, b.poses)

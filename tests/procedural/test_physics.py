"""The rigid-body world: free fall, restitution, energy, determinism, toppling."""

from __future__ import annotations

import math

import numpy as np
import pytest

from model.procedural.layout import TABLE_EDGE_X, TABLE_TOP, build_scene
from model.procedural.materials import material
from model.procedural.physics import (
    GRAVITY,
    Simulator,
    build_world,
    combined_restitution,
    mechanical_energy,
    simulate,
)
from model.procedural.prompt import parse_prompt
from model.procedural.scene import BodySpec, FixtureSpec, SceneSpec

FPS = 24.0


def _drop_scene(height: float, ball: str = "rubber", floor: str = "concrete") -> SceneSpec:
    r = 0.11
    return SceneSpec(
        objects=[BodySpec("ball-1", "ball", "sphere", (r, r, r), ball, (1, 0, 0), "red", (0.0, height + r))],
        fixtures=[FixtureSpec("floor", floor, (0.5, 0.5, 0.5))],
    )


@pytest.mark.parametrize("height", [0.5, 2.0, 4.0])
def test_ball_first_hits_floor_at_free_fall_time(height: float) -> None:
    traj = simulate(_drop_scene(height), frames=96, fps=FPS)
    first = min(e.time for e in traj.events)
    assert abs(first - math.sqrt(2 * height / GRAVITY)) <= 1 / FPS


@pytest.mark.parametrize(("ball", "floor"), [("rubber", "concrete"), ("wood", "wood"), ("glass", "stone")])
def test_ball_rebounds_to_e_squared_height(ball: str, floor: str) -> None:
    height = 2.0
    world = build_world(_drop_scene(height, ball, floor))
    sim = Simulator(world)
    dt = 1 / 960
    body = world.dynamic[0]
    bottom: list[float] = []
    while sim.time < 2.5:
        sim.step(dt)
        bottom.append(body.y - body.hw)
    first = int(sim.events[0].time / dt)
    second = int(sim.events[1].time / dt) if len(sim.events) > 1 else len(bottom)
    apex = max(bottom[first + 2 : second])
    e = combined_restitution(material(ball).restitution, material(floor).restitution)
    assert apex == pytest.approx(e * e * height, rel=0.05)


@pytest.mark.parametrize(
    "prompt",
    [
        "a red rubber ball falls from two meters",
        "five dominoes topple",
        "three cubes fall",
        "two balls collide",
        "a basketball is thrown at the hoop",
        "a ball rolls down a ramp into a wall",
        "a crate slides on ice",
        "balls bounce down the stairs",
        "a box topples on a table",
    ],
)
def test_energy_never_grows(prompt: str) -> None:
    scene, _ = build_scene(parse_prompt(prompt), seed=3)
    world = build_world(scene)
    sim = Simulator(world)
    start = mechanical_energy(world)
    energies = [start]
    for _ in range(3 * 384):
        sim.step(1 / 384)
        energies.append(mechanical_energy(world))
    energy = np.array(energies)
    # Positional correction may lift a resting body by a fraction of a millimetre; nothing more.
    tolerance = 1e-3 * start + 1e-6
    assert energy.max() <= start + tolerance
    assert np.all(np.maximum.accumulate(energy)[:-1] + tolerance >= energy[1:])
    assert energy[-1] < start  # something was lost to bounces and friction


def test_same_scene_simulates_identically() -> None:
    scene, _ = build_scene(parse_prompt("three cubes and two balls fall onto a wooden table"), seed=11)
    a = simulate(scene, frames=72, fps=FPS)
    b = simulate(scene, frames=72, fps=FPS)
    assert np.array_equal(a.poses, b.poses)
    assert a.events == b.events


def test_domino_row_topples_completely() -> None:
    scene, _ = build_scene(parse_prompt("five dominoes topple"), seed=0)
    traj = simulate(scene, frames=96, fps=FPS)
    assert np.all(np.abs(traj.poses[0, :, 2]) < 0.05)  # standing at the start
    assert np.all(np.abs(traj.poses[-1, :, 2]) > 1.0)  # every one has fallen
    hits = [e for e in traj.events if e.other.startswith("domino")]
    assert len(hits) >= 4  # each domino knocks into the next


def test_resting_box_makes_no_more_impacts() -> None:
    scene, _ = build_scene(parse_prompt("a wooden crate falls from 20 cm"), seed=0)
    traj = simulate(scene, frames=72, fps=FPS)
    assert traj.events
    assert max(e.time for e in traj.events) < 1.0  # after it settles there is nothing to hear


def test_extension_starts_exactly_where_simulation_stopped() -> None:
    scene = _drop_scene(2.0)
    whole = simulate(scene, frames=48, fps=FPS)
    first = simulate(scene, frames=24, fps=FPS)
    rest = simulate(scene, frames=24, fps=FPS, start_state=first.final)
    assert np.allclose(rest.poses[0], whole.poses[24], atol=1e-9)
    assert np.allclose(rest.poses[-1], whole.poses[-1], atol=1e-9)


@pytest.mark.parametrize(
    "prompt",
    [
        "a glass bottle falls off a table",
        "a red ball rolls off the table",
        "a wooden crate slides off a table",
        "two cans are knocked off the table",
    ],
)
def test_something_falling_off_a_table_starts_on_its_top_and_ends_on_the_floor_beyond_its_edge(prompt: str) -> None:
    scene, _ = build_scene(parse_prompt(prompt), seed=0)
    assert {o.kind for o in scene.objects} and all(o.kind != "table" for o in scene.objects)
    traj = simulate(scene, frames=72, fps=24.0)
    for i, obj in enumerate(scene.objects):
        x0, y0 = traj.poses[0, i, 0], traj.poses[0, i, 1]
        bottom = y0 - (obj.size[0] if obj.shape == "sphere" or obj.axis == "z" else obj.size[1])
        assert abs(bottom - TABLE_TOP) < 0.01 and abs(x0) < TABLE_EDGE_X, (obj.id, x0, y0)  # on the table top
        x1, y1 = traj.poses[-1, i, 0], traj.poses[-1, i, 1]
        assert x1 > TABLE_EDGE_X and y1 < 0.3, (obj.id, x1, y1)  # on the floor, past the edge


def test_off_without_a_table_is_a_plain_drop() -> None:
    scene, _ = build_scene(parse_prompt("a ball falls off"), seed=0)
    [ball] = scene.objects
    assert ball.position[1] > 1.0 and ball.velocity == (0.0, 0.0)


@pytest.mark.parametrize("prompt", ["a man throws a ball at a wall", "a ball is thrown at a wall"])
def test_a_ball_thrown_at_a_wall_reaches_it_in_either_voice(prompt: str) -> None:
    scene, _ = build_scene(parse_prompt(prompt), seed=0)
    ball = next(o for o in scene.objects if o.kind == "ball")
    traj = simulate(scene, frames=72, fps=24.0)
    hits = [e for e in traj.events if e.body == ball.id and e.other.startswith("wall")]
    assert hits and hits[0].speed > 1.0, [(e.body, e.other) for e in traj.events]  # it hits the wall, hard
    thrower = [o for o in scene.objects if o.shape == "figure"]
    assert all(o.static for o in thrower)  # the man stays where he is; only the ball flies

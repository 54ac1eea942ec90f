"""Putting what figures/reading.py understood into a scene: figures with their scripts, their supports (a sofa,
a gym mat), the sea and its beach, snow, and a thrown ball in the thrower's hand.

Positions are chosen so each verb reads in a side view: a thrower stands where the ball starts, a cat jumps from
the floor onto the sofa's seat, a dog runs from the beach into the sea on the right.
"""

from __future__ import annotations

import math

import numpy as np

from model.procedural.colors import CSS_COLORS, color_rgb
from model.procedural.figures.kinematics import animate
from model.procedural.figures.reading import FigureRequest, Reading
from model.procedural.figures.rigs import rig_for
from model.procedural.figures.spec import FigureSpec
from model.procedural.figures.verbs import G, Motion
from model.procedural.prompt import ParsedPrompt
from model.procedural.scene import FixtureSpec, SceneSpec

SEAT_TOP = 0.45
MAT_TOP = 0.06
SHORE_X = 1.0  # the sea starts here and stretches away to the right
SEA_SURFACE = 0.04
SAND = (0.86, 0.77, 0.57)
FALLBACK_NOTE = "no object understood; showing a plain scene with a ball"


def sofa() -> FixtureSpec:
    """A three-seat sofa seen side-on: seat, back (behind, in depth) and two arms."""
    color = (0.25, 0.28, 0.7)  # a blue sofa: apart from an orange cat, a brown dog, a red ball
    boxes = [
        (1.2, SEAT_TOP / 2, 0.0, 0.8, SEAT_TOP / 2, 0.45, 0.0),  # the seat
        (1.2, 0.5, -0.4, 0.8, 0.5, 0.1, 0.0),  # the back
        (2.06, 0.32, 0.0, 0.08, 0.32, 0.45, 0.0),  # the far arm; the near end stays open to jump onto
    ]
    return FixtureSpec(kind="sofa", material="cloth", color=color, boxes=boxes)


def mat() -> FixtureSpec:
    return FixtureSpec(kind="mat", material="rubber", color=(0.2, 0.6, 0.3),
                       boxes=[(0.0, MAT_TOP / 2, 0.0, 1.4, MAT_TOP / 2, 0.8, 0.0)])  # fmt: skip


def sea() -> FixtureSpec:
    """A body of water from the shore to the horizon; the physics treats it as a pool (it lifts and drags)."""
    far = 16.0
    box = ((SHORE_X + far) / 2, SEA_SURFACE / 2, -3.0, (far - SHORE_X) / 2, SEA_SURFACE / 2, 5.0, 0.0)
    return FixtureSpec(kind="pool", material="water", color=(0.13, 0.42, 0.62), boxes=[box])


def stage(scene: SceneSpec, reading: Reading, parsed: ParsedPrompt, notes: list[str]) -> None:
    """Add the reading's figures, supports, water and weather to a built scene (in place); `notes` gains what
    the caption should say."""
    env = scene.environment
    if reading.snow:
        env.snow = reading.snow
        if env.setting == "indoor":
            env.setting = "outdoor"
    if reading.water == "sea" or reading.beach:
        scene.fixtures = [f for f in scene.fixtures if f.kind != "pool"]
        scene.fixtures.append(sea())
        if reading.beach:
            floor = scene.floor()
            floor.color = SAND
    for index, liquid in reading.liquids.items():
        if index < len(parsed.groups):
            group = parsed.groups[index]
            vessel = next((o for o in scene.objects if o.kind == group.kind and not o.contents and not o.static), None)
            if vessel is not None:
                vessel.contents = liquid
    kinds = {f.kind for f in scene.fixtures}
    for support in dict.fromkeys(reading.supports):
        if support not in kinds:
            scene.fixtures.append(sofa() if support == "sofa" else mat())
            kinds.add(support)
    weather = env.snow or env.rain or reading.water == "sea"
    if (reading.figures or weather) and FALLBACK_NOTE in notes and not parsed.groups:
        # The grammar found no object and put a ball in; the figures (or the weather) are the subject here.
        scene.objects = [o for o in scene.objects if not (o.kind == "ball" and not o.static)]
        notes.remove(FALLBACK_NOTE)
    if scene.figures or not reading.figures:
        notes.extend(reading.notes)
        return
    held = _held_body(scene, reading, parsed)
    for n, request in enumerate(reading.figures[:3]):
        for k in range(min(request.count, 3)):
            fig = _figure(request, f"{request.kind}-fig{n}{k}", kinds)
            caught = _caught_body(scene, parsed) if "catch" in request.verbs and n == 0 and k == 0 else None
            if n == 0 and k == 0 and held is not None:
                _hold(scene, fig, held)
            elif caught is not None:
                catch(scene, fig, caught)
            elif k % 2 == 1 and fig.kind in {"adult", "child"}:
                fig.x, fig.facing = -fig.x + 0.8, -1.0  # a second person faces the first (playing catch)
            elif n or k:
                fig.x -= 0.9 * k
                fig.z = -0.7 * (n + k)  # others stand behind, so no one hides anyone
            scene.figures.append(fig)
    notes.extend(reading.notes)


def _caught_body(scene: SceneSpec, parsed: ParsedPrompt) -> str | None:
    body = next((o for o in scene.objects if not o.static and o.shape != "figure"), None)
    return body.id if body is not None else None


def catch(scene: SceneSpec, fig: FigureSpec, body_id: str) -> None:
    """Throw `body_id` from in front of the figure so it reaches its hands at the catch; it stays there after."""
    ball = next(o for o in scene.objects if o.id == body_id)
    rig = rig_for(fig.kind, fig.scale)
    probe = animate(rig, fig.script, np.zeros(1), fig.x, fig.facing, fig.z, fig.ground, with_release=False)
    at = probe.events.get("catch")
    if at is None:
        return
    hand = animate(rig, fig.script, np.array([at]), fig.x, fig.facing, fig.z, fig.ground, with_release=False)
    hx, hy = (float(v) for v in hand.points["hand"][0])
    x0, y0 = hx + fig.facing * 3.2, max(1.0, hy - 0.3)
    ball.position, ball.angle, ball.z = (x0, y0), 0.0, fig.z
    ball.velocity = ((hx - x0) / at, (hy - y0 + 0.5 * G * at * at) / at)
    ball.spin = 0.0
    fig.catches, fig.holds = body_id, ""


def _held_body(scene: SceneSpec, reading: Reading, parsed: ParsedPrompt) -> str | None:
    if reading.held is None or reading.held >= len(parsed.groups):
        return None
    kind = parsed.groups[reading.held].kind
    body = next((o for o in scene.objects if o.kind == kind and not o.static and o.shape != "figure"), None)
    return body.id if body is not None else None


def _script(request_verbs: list[str], kind: str, onto: str | None, into: str | None, kinds: set[str]
            ) -> tuple[list[Motion], float, float]:  # fmt: skip
    """The verbs as a script, with where the figure starts (x) and what it stands on (ground)."""
    verbs = request_verbs or ["stand"]
    script: list[Motion] = []
    x, ground = -0.8, 0.0
    if "mat" in kinds and onto in {None, "mat"} and verbs[0] in {"backflip", "jump", "dance", "fall", "stand", "wave"}:
        ground = MAT_TOP
        x = 0.0
    for verb in verbs:
        if verb in {"jump", "climb"} and onto == "sofa":
            x = -0.6 if kind != "adult" else -1.2
            script += [Motion("stand", seconds=0.5), Motion(verb, distance=1.35 - x, height=SEAT_TOP)]
        elif verb in {"jump", "climb"} and onto in {"table", "box"}:
            script += [
                Motion("stand", seconds=0.5),
                Motion(verb, distance=0.8, height=0.78 if onto == "table" else 0.44),
            ]
        elif verb in {"run", "walk"} and into in {"sea", "pool"}:
            x = SHORE_X - 4.2
            script += [Motion(verb, distance=SHORE_X - x + 0.25), Motion("swim", surface=SEA_SURFACE)]
        elif verb == "swim":
            script.append(Motion("swim", surface=SEA_SURFACE if into == "sea" else 0.7))
            x = SHORE_X + 0.8 if into == "sea" else -0.6
        elif verb == "sit" and onto == "sofa":
            x = 1.0
            script.append(Motion("sit", height=SEAT_TOP))
        elif verb in {"run", "walk"}:
            x = -2.5
            script.append(Motion(verb, distance=5.0))
        elif verb in {"throw", "kick", "catch", "wave", "backflip"}:
            script += [Motion("stand", seconds=0.4), Motion(verb)]
        else:
            script.append(Motion(verb))
    return script, x, ground


def _figure(request: FigureRequest, fid: str, kinds: set[str]) -> FigureSpec:
    script, x, ground = _script(request.verbs, request.kind, request.onto, request.into, kinds)
    color = color_rgb(request.color) if request.color and request.color in CSS_COLORS else None
    if request.kind in {"adult", "child"} and "sea" in kinds and request.into is None and "swim" not in request.verbs:
        x = min(x, SHORE_X - 1.5)
    return FigureSpec(id=fid, kind=request.kind, word=request.word, x=x, script=script, scale=request.scale,
                      ground=ground, color=color, color_name=request.color or "")  # fmt: skip


def _hold(scene: SceneSpec, fig: FigureSpec, body_id: str) -> None:
    """Put the thrown body in the thrower's hand at the release, on the arc the layout gave it: the figure
    stands where that arc passes at its hand's height (rising), so the ball flies to the same target."""
    ball = next(o for o in scene.objects if o.id == body_id)
    rig = rig_for(fig.kind, fig.scale)
    probe = animate(rig, fig.script, np.zeros(1), x0=0.0, facing=1.0, ground=fig.ground)
    if probe.release is None:
        return
    rx, ry = probe.release.position
    (x0, y0), (vx, vy) = ball.position, ball.velocity
    # y0 + vy t - g t^2 / 2 = ry: the earlier root is where the rising arc reaches the hand.
    disc = vy * vy - 2 * G * (ry - y0)
    if disc >= 0 and vy > 0:
        t = (vy - math.sqrt(disc)) / G
        start, velocity = (x0 + vx * t, ry), (vx, vy - G * t)
    else:  # a flat throw: from the hand, as the layout threw it
        start, velocity = (x0, ry), (vx, vy)
    fig.facing = 1.0 if velocity[0] >= 0 else -1.0
    fig.x = start[0] - rx * fig.facing
    fig.holds = body_id
    # It starts in the hand (the drive keeps it there until the release, then gives it `velocity`).
    hand = animate(rig, fig.script, np.zeros(1), fig.x, fig.facing, fig.z, fig.ground, with_release=False)
    ball.position = (float(hand.points["hand"][0, 0]), float(hand.points["hand"][0, 1]))
    ball.velocity = velocity

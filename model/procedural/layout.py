"""Turn what the prompt grammar understood into a scene with explicit positions and velocities."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from model.procedural.colors import CSS_COLORS, color_rgb
from model.procedural.materials import material
from model.procedural.physics import GRAVITY, combined_friction, transverse_inertia_per_mass
from model.procedural.prompt import FixtureRequest, ObjectGroup, ParsedPrompt
from model.procedural.scene import (
    BodySpec,
    CameraSpec,
    EnvironmentSpec,
    FixtureSpec,
    SceneSpec,
    SpeechSpec,
)


@dataclass(frozen=True)
class Kind:
    shape: str  # sphere | box | cylinder | figure
    size: tuple[float, float, float]  # half extents at scale 1 (spheres: radius in all three; cylinders: r, h, r)
    material: str
    color: str


KINDS: dict[str, Kind] = {
    "ball": Kind("sphere", (0.11, 0.11, 0.11), "rubber", "crimson"),
    "basketball": Kind("sphere", (0.12, 0.12, 0.12), "leather", "darkorange"),
    "football": Kind("sphere", (0.11, 0.11, 0.11), "leather", "white"),
    "tennis_ball": Kind("sphere", (0.034, 0.034, 0.034), "felt", "greenyellow"),
    "cube": Kind("box", (0.15, 0.15, 0.15), "wood", "royalblue"),
    "box": Kind("box", (0.22, 0.18, 0.2), "wood", "burlywood"),
    "crate": Kind("box", (0.25, 0.25, 0.25), "wood", "peru"),
    "rock": Kind("sphere", (0.1, 0.1, 0.1), "stone", "dimgray"),
    "log": Kind("cylinder", (0.09, 0.35, 0.09), "wood", "sienna"),
    "plank": Kind("box", (0.4, 0.03, 0.12), "wood", "burlywood"),
    "bottle": Kind("cylinder", (0.04, 0.14, 0.04), "glass", "seagreen"),
    "domino": Kind("box", (0.03, 0.2, 0.1), "wood", "ivory"),
    "can": Kind("cylinder", (0.035, 0.062, 0.035), "metal", "silver"),
    "glass": Kind("cylinder", (0.036, 0.06, 0.036), "glass", "powderblue"),  # a drinking glass (lathe.tumbler)
    "figure": Kind("figure", (0.22, 0.85, 0.14), "cloth", "steelblue"),
    "robot": Kind("figure", (0.24, 0.85, 0.16), "metal", "lightslategray"),
}
DEFAULT_DROP_HEIGHT = {"sphere": 1.5, "box": 0.9}
# What is asked to break falls at least this far: it lands at about 4 m/s, clear of sound.BREAK_SPEED (3 m/s).
BREAK_DROP_HEIGHT = 0.8
FLOOR_COLORS = {"concrete": (0.56, 0.56, 0.54), "wood": (0.55, 0.38, 0.22), "ice": (0.78, 0.9, 0.97),
                "stone": (0.5, 0.48, 0.45), "metal": (0.6, 0.62, 0.65), "glass": (0.7, 0.82, 0.86),
                "rubber": (0.2, 0.2, 0.22), "plastic": (0.75, 0.75, 0.78)}  # fmt: skip
TABLE_TOP = 0.78
TABLE_EDGE_X = 0.75  # the table top's half length: it spans -0.75..0.75
TABLE_HALF_DEPTH = 0.45
# The high end of the ramp; it runs down to the right and meets the floor at x = -0.4. Steep enough (29 degrees,
# tan 0.55) that a wooden box on a wooden ramp keeps sliding once pushed.
RAMP_TOP = (-2.6, 1.2)
RAMP_LOW_X = -0.4
WALL_X = 2.0
BOARD_X = 2.2
RIM_Y = 3.05
STEP_RUN, STEP_RISE, STEPS = 0.4, 0.2, 4  # the stairs descend to the right from x = -2.4 to the floor at -0.8
STAIRS_X = -2.2  # the top step's centre
POOL = (0.6, 0.35, 0.0, 1.5, 0.35, 0.9)  # the water's box: centre x, y, z and half extents; surface at y = 0.7


def _color(name: str | None, fallback: str, mat: str | None) -> tuple[tuple[float, float, float], str]:
    if name and name in CSS_COLORS:
        return color_rgb(name), name
    if mat is not None:
        return material(mat).color, mat
    return color_rgb(fallback), fallback


def fixture_spec(request: FixtureRequest, setting: str) -> FixtureSpec:
    """Explicit geometry for a fixture the prompt asked for."""
    kind = request.kind
    defaults = {"floor": "concrete" if setting == "outdoor" else "wood", "ramp": "wood", "wall": "concrete",
                "backboard": "plastic", "stairs": "concrete", "table": "wood", "pool": "water"}  # fmt: skip
    mat = request.material or defaults.get(kind, "wood")
    if request.color and request.color in CSS_COLORS:
        color = color_rgb(request.color)
    elif kind == "floor":
        color = FLOOR_COLORS.get(mat, material(mat).color)
    elif kind == "backboard":
        color = (0.93, 0.93, 0.95)
    else:
        color = material(mat).color
    spec = FixtureSpec(kind=kind, material=mat, color=color)
    if kind == "ramp":
        (x0, y0), x1 = RAMP_TOP, RAMP_LOW_X
        theta = math.atan2(y0, x1 - x0)  # the slope, descending to the right
        half = math.hypot(x1 - x0, y0) / 2 + 0.05
        t = 0.05
        mx, my = (x0 + x1) / 2, y0 / 2
        nx, ny = math.sin(theta), math.cos(theta)
        spec.boxes.append((mx - nx * t, my - ny * t, 0.0, half, t, 0.45, -theta))
        spec.boxes.append((x0 + 0.05, y0 / 2 - 0.04, 0.0, 0.05, y0 / 2 - 0.04, 0.42, 0.0))  # the support
    elif kind == "wall":
        spec.boxes.append((WALL_X + 0.1, 1.1, 0.0, 0.1, 1.1, 1.6, 0.0))
    elif kind == "backboard":
        spec.boxes.append((BOARD_X, 3.4, 0.0, 0.03, 0.53, 0.9, 0.0))
        spec.boxes.append((BOARD_X + 0.4, 1.75, 0.0, 0.07, 1.75, 0.07, 0.0))  # the pole
        spec.boxes.append((BOARD_X + 0.2, 2.95, 0.0, 0.2, 0.04, 0.04, 0.0))  # the arm holding the board
        back, front = BOARD_X - 0.15, BOARD_X - 0.15 - 0.45
        spec.circles.extend([(back, RIM_Y, 0.02), (front, RIM_Y, 0.02)])
    elif kind == "stairs":
        for i in range(STEPS):
            h = STEP_RISE * (STEPS - i)
            spec.boxes.append((STAIRS_X + STEP_RUN * i, h / 2, 0.0, STEP_RUN / 2, h / 2, 0.8, 0.0))
    elif kind == "pool":
        # The water itself: bodies pass into it, and it lifts and drags them (physics.Simulator).
        spec.material, spec.color = "water", material("water").color
        spec.boxes.append((*POOL[:3], *POOL[3:], 0.0))
    elif kind == "table":
        spec.boxes.append((0.0, TABLE_TOP - 0.025, 0.0, TABLE_EDGE_X, 0.025, TABLE_HALF_DEPTH, 0.0))
        for lx in (-0.68, 0.68):
            for lz in (-0.38, 0.38):
                spec.boxes.append((lx, (TABLE_TOP - 0.05) / 2, lz, 0.03, (TABLE_TOP - 0.05) / 2, 0.03, 0.0))
    return spec


def _ballistic(x0: float, y0: float, x1: float, y1: float) -> tuple[float, float]:
    """Launch velocity that reaches (x1, y1) from (x0, y0) on an arc whose flight time grows with distance."""
    t = max(0.55, math.hypot(x1 - x0, y1 - y0) / 4.0)
    return (x1 - x0) / t, (y1 - y0) / t + 0.5 * GRAVITY * t


def _surface_height(scene: SceneSpec, x: float) -> float:
    """Height of the top fixture surface under x (table or stairs); the floor is 0."""
    top = 0.0
    for f in scene.fixtures:
        if f.kind == "table" and abs(x) < 0.72:
            top = max(top, TABLE_TOP)
        if f.kind == "stairs":
            for cx, cy, _cz, hx, hy, _hz, _a in f.boxes:
                if abs(x - cx) <= hx:
                    top = max(top, cy + hy)
    return top


def place_groups(scene: SceneSpec, groups: list[ObjectGroup], rng: random.Random, start_index: int = 0) -> None:
    """Add the groups' objects to the scene with initial positions and velocities from their actions."""
    kinds = {f.kind for f in scene.fixtures}
    things = [g for g in groups if KINDS[g.kind].shape != "figure"]
    figures = [g for g in groups if KINDS[g.kind].shape == "figure"]
    existing = [o for o in scene.objects if o.shape != "figure"]
    counter = start_index
    # Lay the new objects out in a row; with existing objects, start to their right.
    widths: list[float] = []
    for g in things:
        widths.extend([_slot_width(g)] * g.count)
    row_start = -sum(widths) / 2
    if existing:
        row_start = max(o.position[0] + o.size[0] for o in existing) + 0.4
    bodies: list[tuple[ObjectGroup, BodySpec]] = []
    x_cursor = row_start
    for g in things:
        k = KINDS[g.kind]
        mat = g.material or k.material
        rgb, cname = _color(g.color, k.color, g.material)
        hx, hy, hz = (s * g.scale for s in k.size)
        for _ in range(g.count):
            counter += 1
            width = _slot_width(g)
            x = x_cursor + width / 2
            x_cursor += width
            spec = BodySpec(
                id=f"{g.kind}-{counter}", kind=g.kind, shape=k.shape,
                size=(hx, hx, hx) if k.shape == "sphere" else (hx, hy, hz), material=mat, color=rgb,
                color_name=cname, position=(x, 0.0),
            )  # fmt: skip
            bodies.append((g, spec))
    for g, spec in bodies:
        start_motion(scene, g, spec, [b for _, b in bodies], rng, kinds)
        scene.objects.append(spec)
    _place_figures(scene, figures, counter, rng)


def _slot_width(g: ObjectGroup) -> float:
    """Room one object takes in the row; toppling boxes stand closer than their height so each hits the next."""
    k = KINDS[g.kind]
    hx, hy = k.size[0] * g.scale, k.size[1] * g.scale
    if k.shape == "box" and g.kind == "domino":
        return max(hy * 1.4, hx * 2.2)
    if k.shape in {"box", "cylinder"} and g.action == "topple":
        return 2 * hx + 2 * hy + 0.05  # room to fall over without landing on the next one
    return max(hx * 2.6, 0.32)


def start_motion(
    scene: SceneSpec, g: ObjectGroup, spec: BodySpec, row: list[BodySpec], rng: random.Random, kinds: set[str]
) -> None:
    """Set `spec`'s starting position, velocity and spin for its group's action (in place).

    `row` is the objects placed together with it (their order staggers heights and spacing); `kinds` the
    fixture kinds in the scene (a ramp turns "rolls" into rolling down the ramp, stairs make drops bounce down).
    """
    action = g.action or ("roll" if spec.shape in {"sphere", "cylinder"} and "ramp" in kinds else "drop")
    if g.breaks and material(spec.material).breaks and action in {"drop", "stand", "topple", "collapse"}:
        # Asked to break: it must land hard. Off the table's edge when there is one, else dropped from high enough.
        action = "off" if "table" in kinds else "drop"
    if action == "off" and "table" not in kinds:
        action = "drop"  # off nothing in particular: it falls from above the floor
    if g.kind == "domino" and action == "drop" and g.height is None and len(row) > 1:
        action = "topple"  # "dominoes fall": stood in a row, the first one tipped into the next
    if spec.shape == "cylinder" and (action in {"roll", "collide"} or g.kind == "log"):
        # A can or bottle rolls lying across the view: its side view is then a disc, so it rolls in the picture.
        spec.axis = "z"
    sphere = spec.shape == "sphere"
    rolls = sphere or (spec.shape == "cylinder" and spec.axis == "z")  # round in the x-y plane
    r = spec.size[0]
    half_h = r if rolls else spec.size[1]
    index = row.index(spec)
    single = len(row) == 1
    x = spec.position[0]
    if action == "collapse" and not g.stacked:
        action = "topple"
    if g.stacked:
        _stack(scene, spec, [b for b in row if b.kind == spec.kind], action, half_h, rng)
        return
    if "pool" in kinds and action in {"float", "sink", "splash", "drop"}:
        _into_the_water(spec, index, len(row), action, half_h)
        return
    if action in {"float", "sink", "splash"}:
        action = "drop"
    if action == "bank" or (action == "drop" and "backboard" in kinds):
        _off_the_board(scene, spec, index, half_h)
        return
    if "stairs" in kinds and action in {"drop", "topple"}:
        _down_the_stairs(spec, index, action, rolls, half_h)
        return
    if action in {"roll", "slide"}:
        if "ramp" in kinds:
            # Start near the top of the ramp, resting on its surface.
            (x0, y0), x1 = RAMP_TOP, RAMP_LOW_X
            theta = math.atan2(y0, x1 - x0)
            along = 0.25 + index * max(2.4 * r, 0.3)
            sx, sy = x0 + along * math.cos(theta), y0 - along * math.sin(theta)
            offset = half_h + 0.001
            spec.position = (sx + math.sin(theta) * offset, sy + math.cos(theta) * offset)
            spec.angle = 0.0 if rolls else -theta
            if not rolls:
                # A push down the slope: a box on a ramp no steeper than its friction angle only slides once moving.
                push = 1.4
                spec.velocity = (push * math.cos(theta), -push * math.sin(theta))
        else:
            base = _surface_height(scene, x)
            speed = 2.6 + (0.0 if single else rng.uniform(-0.3, 0.3))
            start_x = (-1.6 if base == 0 else -0.6) - index * max(2.6 * r, 0.3)
            spec.position = (start_x, base + half_h + 0.001)
            spec.velocity = (speed if action == "roll" or rolls else speed + 0.6, 0.0)
            if rolls and action == "roll":
                spec.spin = -speed / r
    elif action == "collide":
        left = index < max(1, len(row) // 2) if len(row) > 1 else True
        speed = 2.4
        if len(row) == 1:
            if not kinds & {"wall", "backboard"}:
                scene.fixtures.append(fixture_spec(FixtureRequest("wall"), scene.environment.setting))
                kinds.add("wall")
            spec.position = (-0.6, half_h + 0.001)
            spec.velocity = (speed + 1.0, 0.0)
        else:
            gap = max(2.6 * r, 0.3)
            order = index if left else index - len(row) // 2
            sx = (-1.3 - order * gap) if left else (1.3 + order * gap)
            spec.position = (sx, half_h + 0.001)
            spec.velocity = (speed if left else -speed, 0.0)
        if rolls:
            spec.spin = -spec.velocity[0] / r
    elif action == "off":
        _off_the_table(spec, index, len(row), rolls, half_h)
    elif action == "topple" and not sphere:
        base = _surface_height(scene, x)
        spec.position = (x, base + half_h + 0.001)
        if index == 0 or g.kind != "domino":
            _tip_over_to_the_right(spec)
    elif action == "throw":
        start = (-2.2 - index * 0.3, 1.2)
        target = _throw_target(scene, g, spec, row)
        spec.position = (start[0], start[1] + index * 0.05)
        spec.velocity = _ballistic(spec.position[0], spec.position[1], target[0], target[1])
        spec.spin = -3.0 if sphere else -2.0
    elif action == "stand" or (action == "topple" and sphere):
        base = _surface_height(scene, x)
        spec.position = (x, base + half_h + 0.001)
        if action == "topple":
            spec.velocity = (1.5, 0.0)
            spec.spin = -1.5 / r
    else:  # drop, fall, bounce
        base = _surface_height(scene, x) if "stairs" not in kinds else 0.9
        height = g.height if g.height is not None else DEFAULT_DROP_HEIGHT["sphere" if sphere else "box"]
        if g.breaks and material(spec.material).breaks:
            height = max(height, BREAK_DROP_HEIGHT)
        height = min(max(height, 0.05), 30.0)
        stagger = 0.0 if single else 0.15 * index * height
        spec.position = (x, base + height + stagger + half_h)
        if "stairs" in kinds:
            spec.position = (-2.3 + index * 0.12, 0.8 + height + half_h + index * 0.35)
            spec.velocity = (0.9, 0.0)
        if not sphere and not single:
            spec.angle = rng.uniform(-0.5, 0.5)
        elif not sphere:
            spec.angle = 0.3 * (rng.random() - 0.5)


def _stack(
    scene: SceneSpec, spec: BodySpec, stack: list[BodySpec], action: str, half_h: float, rng: random.Random
) -> None:
    """One on another, in a column at the middle; a stack that collapses leans, each level further out than the
    one below, so that what rests on the lowest levels hangs past their edge and the tower comes down."""
    level = stack.index(spec)
    base = _surface_height(scene, 0.0)
    hx = spec.size[0]
    falls = action in {"collapse", "topple", "drop", "collide"}
    lean = 0.45 * hx if falls else 0.0
    jitter = rng.uniform(-0.04, 0.04) * hx
    spec.position = (-0.2 + lean * level + (jitter if level else 0.0), base + half_h * (2 * level + 1) + 0.001 * level)
    spec.angle = 0.0
    if falls and level == len(stack) - 1:
        spec.velocity = (0.6, 0.0)  # and a nudge at the top


def _into_the_water(spec: BodySpec, index: int, count: int, action: str, half_h: float) -> None:
    """Above the pool, spread along it, falling in: what is lighter than water floats, what is denser sinks."""
    cx, cy, _cz, hx, hy, _hz = POOL
    surface = cy + hy
    spread = min(0.5, 2 * (hx - 0.3) / max(count, 1))
    spec.position = (cx + (index - (count - 1) / 2) * spread, surface + (1.2 if action == "splash" else 0.5) + half_h
                     + 0.25 * index)  # fmt: skip
    spec.angle = 0.0


def _off_the_board(scene: SceneSpec, spec: BodySpec, index: int, half_h: float) -> None:
    """Thrown at the backboard (or a wall) above the rim: it hits the board and comes back off it through the air."""
    r = spec.size[0]
    board = next((f for f in scene.fixtures if f.kind == "backboard"), None)
    if board is None:
        wall = next((f for f in scene.fixtures if f.kind == "wall"), None)
        if wall is None:
            wall = fixture_spec(FixtureRequest("wall"), scene.environment.setting)
            scene.fixtures.append(wall)
        face = wall.boxes[0][0] - wall.boxes[0][3]
        target = (face - r, 1.2)
        start = (face - 2.6 - index * 0.35, 0.9)
    else:
        cx, cy, _cz, hx, _hy, _hz, _a = board.boxes[0]
        target = (cx - hx - r, cy + 0.1)  # the board's face, above the rim
        start = (cx - 3.0 - index * 0.35, 1.5)
    spec.position = (start[0], max(start[1], half_h + 0.01))
    spec.velocity = _ballistic(spec.position[0], spec.position[1], target[0], target[1])
    spec.spin = -4.0


def _down_the_stairs(spec: BodySpec, index: int, action: str, rolls: bool, half_h: float) -> None:
    """Onto the top step and over its edge: a ball bounces down step by step, a box tumbles down.

    Several objects go down side by side in depth (the stairs are 1.6 m wide), so they do not land on each other.
    """
    top = STEP_RISE * STEPS
    right_edge = STAIRS_X + STEP_RUN / 2
    spec.z = (0.0, -0.4, 0.4, -0.65, 0.65)[index % 5]
    if rolls:
        spec.position = (STAIRS_X - 0.1 - 0.04 * index, top + 0.35 + half_h + 0.15 * index)
        spec.velocity = (0.8 - 0.05 * index, 0.0)
        spec.spin = -0.8 / max(spec.size[0], 0.01)
        return
    hx = spec.size[0]
    spec.position = (right_edge - hx - 0.01 - 0.03 * index, top + half_h + 0.001)
    spec.angle = 0.0
    _tip_over_to_the_right(spec)
    # Tipping alone leaves it on the next step; a forward push carries it on down, one step at a time.
    push = 0.75 * (1.0 - 0.12 * index)
    spec.velocity = (spec.velocity[0] + push, spec.velocity[1])


def _tip_over_to_the_right(spec: BodySpec) -> None:
    """A push that tips a standing body over its right bottom edge: from energy, 1/2 I_edge w^2 = m g (d - hy) with
    I_edge = I_centre + m d^2 (d: centre to edge), times a margin so it clearly passes the tipping point."""
    hx, hy = spec.size[0], spec.size[1]
    d = math.hypot(hx, hy)
    edge_inertia = 4.0 / 3.0 * d * d  # a box's, per unit mass
    if spec.shape == "cylinder":
        edge_inertia = transverse_inertia_per_mass("cylinder", hx, hy) + d * d
    omega = math.sqrt(2 * GRAVITY * (d - hy) / edge_inertia * 1.8)
    spec.spin = -omega
    # The centre moves as a point rotating about that edge, so the body does not start by sliding.
    spec.velocity = (omega * hy, omega * hx)


def _off_the_table(spec: BodySpec, index: int, count: int, rolls: bool, half_h: float) -> None:
    """Start on the table top near its right edge, moving so that it goes over the edge and falls to the floor.

    Round things roll off; tall things (a bottle) stand at the edge and are tipped over it, as a knock would (side
    by side in depth when there are several: one behind another, the second would tip onto the table); the rest
    slide, fast enough that friction on the wooden top cannot stop them first.
    """
    r = spec.size[0]
    if not rolls and spec.size[1] > 1.5 * spec.size[0]:
        lane = 2 * spec.size[2] + 0.04
        depth = min(TABLE_HALF_DEPTH - spec.size[2], lane * (count - 1) / 2)
        spec.z = -depth + (2 * depth * index / (count - 1) if count > 1 else 0.0)
        spec.position = (TABLE_EDGE_X - r - 0.01, TABLE_TOP + half_h + 0.001)
        _tip_over_to_the_right(spec)
        return
    gap = max(2.6 * r, 0.25)
    x = max(TABLE_EDGE_X - 0.3 - index * gap, -TABLE_EDGE_X + r)  # a long row starts at the table's left end
    spec.position = (x, TABLE_TOP + half_h + 0.001)
    speed = 1.0 + 0.15 * index  # later ones catch up a little, so they go over one after another
    if rolls:
        spec.velocity = (speed, 0.0)
        spec.spin = -speed / r
        return
    # Sliding to the edge d away with deceleration mu g needs v >= sqrt(2 mu g d); arrive with ~0.6 m/s to spare.
    mu = combined_friction(material(spec.material).friction, material("wood").friction)
    distance = TABLE_EDGE_X - x
    spec.velocity = (math.sqrt(2 * mu * GRAVITY * distance + 0.6**2), 0.0)


def _throw_target(scene: SceneSpec, g: ObjectGroup, spec: BodySpec, row: list[BodySpec]) -> tuple[float, float]:
    target = g.target or ""
    for f in scene.fixtures:
        if f.kind == "backboard" and target in {"backboard", "", "ball", "basketball"}:
            back, front = f.circles[0][0], f.circles[1][0]
            # Aim just above the rim's far half so the ball drops through or rattles out.
            return ((back + front) / 2 + 0.08, f.circles[0][1] + 0.12)
        if f.kind == "wall" and target in {"wall", ""}:
            return (f.boxes[0][0] - f.boxes[0][3] - spec.size[0], 1.0)
    for other in row + [o for o in scene.objects]:
        if other is not spec and (other.kind == target or target == "") and other.shape != "figure":
            return other.position
    return (1.6, spec.size[0])


def _place_figures(scene: SceneSpec, figures: list[ObjectGroup], counter: int, rng: random.Random) -> None:
    things = [o for o in scene.objects if o.shape != "figure"]
    left = min((o.position[0] - o.size[0] for o in things), default=0.0)
    left = min(left, -0.4)
    placed = [o for o in scene.objects if o.shape == "figure"]
    x = min([left - 0.7] + [o.position[0] - 0.8 for o in placed])
    for g in figures:
        k = KINDS[g.kind]
        for _ in range(g.count):
            counter += 1
            rgb, cname = _color(g.color, k.color, g.material)
            hx, hy, hz = (s * min(max(g.scale, 0.6), 1.3) for s in k.size)
            scene.objects.append(BodySpec(
                id=f"{g.kind}-{counter}", kind=g.kind, shape="figure", size=(hx, hy, hz),
                material=g.material or k.material, color=rgb, color_name=cname, position=(x, hy), static=True,
                label=g.label, z=-0.45,
            ))  # fmt: skip
            x -= 0.8


def _break_notes(groups: list[ObjectGroup]) -> list[str]:
    """What the caption should say about objects asked to break: those that cannot, and drops raised to break."""
    notes: list[str] = []
    for g in groups:
        if not g.breaks or KINDS[g.kind].shape == "figure":
            continue
        mat = g.material or KINDS[g.kind].material
        name = f"{mat} {g.kind.replace('_', ' ')}"
        if not material(mat).breaks:
            notes.append(f"'{g.breaks}': only glass breaks; the {name} lands whole")
        elif g.height is not None and g.height < BREAK_DROP_HEIGHT and g.action in {None, "drop"}:
            notes.append(f"'{g.breaks}': the {name} falls from {BREAK_DROP_HEIGHT:g} m, to land hard enough")
    return notes


def build_scene(parsed: ParsedPrompt, seed: int) -> tuple[SceneSpec, list[str]]:
    """A scene with explicit initial conditions; also notes about defaults the user should know."""
    rng = random.Random(seed)
    notes: list[str] = []
    env = EnvironmentSpec(
        setting=parsed.setting or "outdoor",
        time=parsed.time or "day",
        rain=parsed.rain or 0.0,
        wind=parsed.wind or 0.0,
    )
    if parsed.setting is None and any(f.kind in {"table", "stairs"} for f in parsed.fixtures):
        env.setting = "indoor"
    if env.setting == "indoor" and env.rain:
        notes.append("rain is only drawn outdoors; moved the scene outside")
        env.setting = "outdoor"
    scene = SceneSpec(
        environment=env,
        camera=CameraSpec(move=parsed.camera or "static", framing=parsed.framing or "medium"),
        pace=parsed.pace or 1.0,
        seed=seed,
    )
    requests = list(parsed.fixtures)
    if not any(f.kind == "floor" for f in requests):
        requests.insert(0, FixtureRequest("floor"))
    if any(g.action in {"float", "sink", "splash"} for g in parsed.groups) and not any(
        f.kind == "pool" for f in requests
    ):
        requests.append(FixtureRequest("pool"))  # floating and sinking need water
        notes.append("added a pool of water to float, sink or splash in")
    for request in requests:
        scene.fixtures.append(fixture_spec(request, env.setting))
    groups = list(parsed.groups)
    if not groups:
        groups = [
            ObjectGroup(kind="ball", color=parsed.loose.get("color", "white"), material=parsed.loose.get("material"))
        ]
        notes.append("no object understood; showing a plain scene with a ball")
    notes.extend(_break_notes(groups))
    place_groups(scene, groups, rng)
    figures = [o for o in scene.objects if o.shape == "figure"]
    for i, line in enumerate(parsed.speech):
        speaker = figures[min(i, len(figures) - 1)].id if figures else ""
        scene.speech.append(SpeechSpec(speaker=speaker, text=line, start=0.4 + 2.0 * i))
    return scene, notes

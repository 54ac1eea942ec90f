"""Rigid spheres, boxes and cylinders in the x-y plane: gravity, restitution, Coulomb friction, impulses.

The world is simulated in 2-D (x right, y up) and drawn in 3-D; each body also has a depth lane `z`, and two
bodies collide only when their depth ranges overlap. Plain Python floats on purpose: a handful of bodies makes
tensor overhead dominate, and float arithmetic in a fixed order keeps every run bit-for-bit deterministic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from model.procedural.materials import Material, material
from model.procedural.scene import BodySpec, SceneSpec

GRAVITY = 9.81


def combined_restitution(a: float, b: float) -> float:
    """The bouncier surface wins: a rubber ball bounces on concrete as a rubber ball does."""
    return max(a, b)


def combined_friction(a: float, b: float) -> float:
    """Geometric mean: ice makes anything slippery, two grippy surfaces grip."""
    return math.sqrt(a * b)


@dataclass(frozen=True)
class PhysicsSettings:
    step_hz: float = 384.0  # a 6 m/s ball moves 1.6 cm per step; 16 steps per frame at 24 fps
    iterations: int = 8
    # Below this approach speed a contact is resting, not bouncing: no restitution and no impact sound.
    bounce_threshold: float = 0.35
    # Impacts slower than this are not reported as events (resting jitter is not a sound).
    event_threshold: float = 0.25
    slop: float = 0.001  # metres of penetration left alone so resting contacts do not chatter
    correction: float = 0.5  # fraction of the remaining penetration removed per step
    sleep_speed: float = 0.04
    sleep_seconds: float = 0.5


@dataclass(slots=True)
class Body:
    """One simulated body; static bodies (fixtures, figures) have zero inverse mass."""

    name: str
    shape: str  # circle | box
    hw: float
    hh: float
    hz: float
    z: float
    inv_mass: float
    inv_inertia: float
    restitution: float
    friction: float
    material: str
    x: float
    y: float
    vx: float = 0.0
    vy: float = 0.0
    angle: float = 0.0
    omega: float = 0.0
    static: bool = False
    asleep: bool = False
    still: float = 0.0

    @property
    def bound(self) -> float:
        return self.hw if self.shape == "circle" else math.hypot(self.hw, self.hh)


@dataclass(slots=True)
class Contact:
    a: Body
    b: Body | None  # None: the floor
    nx: float  # unit normal, pointing from b towards a
    ny: float
    px: float
    py: float
    pen: float
    bias: float = 0.0
    pn: float = 0.0
    pt: float = 0.0
    kn: float = 0.0
    kt: float = 0.0
    restitution: float = 0.0
    friction: float = 0.0
    approach: float = 0.0


@dataclass(frozen=True)
class ImpactEvent:
    """A body hit something. `time` is simulated seconds from the start of this simulation."""

    time: float
    body: str
    other: str  # a body name, or "floor"
    speed: float  # approach speed along the normal, m/s
    x: float
    y: float
    z: float
    material: str
    other_material: str
    size: float  # the hitting body's bounding radius, metres


@dataclass
class Trajectory:
    """Per-frame body poses plus what the sound needs.

    poses: (F, N, 3) x, y, angle at each frame's time; roll/slide: (F, N) contact speeds per frame.
    """

    names: list[str]
    poses: np.ndarray
    roll: np.ndarray
    slide: np.ndarray
    events: list[ImpactEvent]
    final: dict[str, Any]  # body states one frame after the last frame: where an extension starts
    frame_dt: float  # simulated seconds between frames


@dataclass
class World:
    bodies: list[Body]  # dynamic and static, dynamic first
    statics: list[Body]
    floor_material: str
    floor_restitution: float
    floor_friction: float
    dynamic: list[Body] = field(default_factory=list)


# Bottles and cans are thin-walled: they weigh this share of a solid cylinder of their material, as a hollow
# ball weighs 0.15 of a solid one.
SHELL_FRACTION = 0.15


def transverse_inertia_per_mass(shape: str, hw: float, hh: float) -> float:
    """I / m about the z axis through the centre for a body seen side-on as a `hw` x `hh` rectangle.

    A box: (w^2 + h^2) / 12. An upright cylinder (radius hw, half height hh) is a thin tube: r^2 / 2 + L^2 / 12.
    """
    if shape == "cylinder":
        return hw * hw / 2.0 + (2 * hh) ** 2 / 12.0
    return ((2 * hw) ** 2 + (2 * hh) ** 2) / 12.0


def _cylinder_body(spec: BodySpec, mat: Material) -> tuple[str, float, float, float, float, float]:
    """Shape, half extents in the x-y plane and depth, mass and inertia of a bottle or can.

    Upright or tipping (axis "y", in the picture plane) its side view is a rectangle, so it collides as a box;
    lying across the view (axis "z") its side view is a disc, so it collides as a circle and rolls, with a thin
    tube's I = m r^2 about its own axis.
    """
    r, h = spec.size[0], spec.size[1]
    mass = mat.density * math.pi * r * r * 2 * h * SHELL_FRACTION
    if spec.axis == "z":
        return "circle", r, r, h, mass, mass * r * r
    return "box", r, h, r, mass, mass * transverse_inertia_per_mass("cylinder", r, h)


def build_world(scene: SceneSpec) -> World:
    """Turn a scene spec into simulation bodies (movable objects, fixtures' boxes and circles)."""
    dynamic: list[Body] = []
    statics: list[Body] = []
    for spec in scene.objects:
        mat = material(spec.material)
        if spec.shape == "sphere":
            r = spec.size[0]
            # A thin-walled hollow ball has I = 2/3 m r^2; a solid one 2/5 m r^2.
            mass = mat.density * (4.0 / 3.0) * math.pi * r**3 * (0.15 if mat.hollow else 1.0)
            inertia = (2.0 / 3.0 if mat.hollow else 0.4) * mass * r * r
            hw = hh = hz = r
            shape = "circle"
        elif spec.shape == "cylinder":
            shape, hw, hh, hz, mass, inertia = _cylinder_body(spec, mat)
        else:
            hw, hh, hz = spec.size
            mass = mat.density * 8.0 * hw * hh * hz
            inertia = mass * ((2 * hw) ** 2 + (2 * hh) ** 2) / 12.0
            shape = "box"
        static = spec.static or spec.shape == "figure"
        body = Body(
            name=spec.id, shape=shape, hw=hw, hh=hh, hz=hz, z=spec.z,
            inv_mass=0.0 if static else 1.0 / mass, inv_inertia=0.0 if static else 1.0 / inertia,
            restitution=mat.restitution, friction=mat.friction, material=spec.material,
            x=spec.position[0], y=spec.position[1], vx=spec.velocity[0], vy=spec.velocity[1],
            angle=spec.angle, omega=spec.spin, static=static,
        )  # fmt: skip
        (statics if static else dynamic).append(body)
    floor = scene.floor()
    for fixture in scene.fixtures:
        mat = material(fixture.material)
        for i, (cx, cy, cz, hx, hy, hz, angle) in enumerate(fixture.boxes):
            statics.append(Body(f"{fixture.kind}-{i}", "box", hx, hy, hz, cz, 0.0, 0.0, mat.restitution,
                                mat.friction, fixture.material, cx, cy, angle=angle, static=True))
        for i, (cx, cy, r) in enumerate(fixture.circles):
            # A rim is a ring around the y axis; in the x-y plane it shows as two points, each a thin circle.
            statics.append(Body(f"{fixture.kind}-rim-{i}", "circle", r, r, 0.3, 0.0, 0.0, 0.0, mat.restitution,
                                mat.friction, fixture.material, cx, cy, static=True))
    fmat = material(floor.material)
    return World(dynamic + statics, statics, floor.material, fmat.restitution, fmat.friction, dynamic)


def apply_state(world: World, state: dict[str, Any]) -> None:
    """Put bodies where a previous simulation left them (extend)."""
    by_name = {b.name: b for b in world.dynamic}
    for name, values in state.get("bodies", {}).items():
        body = by_name.get(name)
        if body is not None:
            body.x, body.y, body.vx, body.vy, body.angle, body.omega = (float(v) for v in values[:6])
            body.asleep = bool(values[6]) if len(values) > 6 else False


def _corners(b: Body) -> list[tuple[float, float]]:
    c, s = math.cos(b.angle), math.sin(b.angle)
    out = []
    for sx, sy in ((1, 1), (-1, 1), (-1, -1), (1, -1)):
        lx, ly = sx * b.hw, sy * b.hh
        out.append((b.x + c * lx - s * ly, b.y + s * lx + c * ly))
    return out


def _floor_contacts(a: Body, out: list[Contact]) -> None:
    if a.shape == "circle":
        if a.y < a.hw:
            out.append(Contact(a, None, 0.0, 1.0, a.x, 0.0, a.hw - a.y))
        return
    for cx, cy in _corners(a):
        if cy < 0.0:
            out.append(Contact(a, None, 0.0, 1.0, cx, cy, -cy))


def _circle_circle(a: Body, b: Body, out: list[Contact]) -> None:
    dx, dy = a.x - b.x, a.y - b.y
    dist = math.hypot(dx, dy)
    reach = a.hw + b.hw
    if dist >= reach or dist == 0.0:
        return
    nx, ny = dx / dist, dy / dist
    out.append(Contact(a, b, nx, ny, b.x + nx * b.hw, b.y + ny * b.hw, reach - dist))


def _circle_box(a: Body, b: Body, out: list[Contact], flip: bool = False) -> None:
    """Circle `a` against box `b`; with `flip` the contact is reported as box against circle."""
    c, s = math.cos(b.angle), math.sin(b.angle)
    dx, dy = a.x - b.x, a.y - b.y
    lx, ly = c * dx + s * dy, -s * dx + c * dy
    qx, qy = min(max(lx, -b.hw), b.hw), min(max(ly, -b.hh), b.hh)
    inside = qx == lx and qy == ly
    if inside:
        # Centre inside the box: leave through the nearest face.
        ex, ey = b.hw - abs(lx), b.hh - abs(ly)
        if ex < ey:
            nlx, nly, pen = math.copysign(1.0, lx), 0.0, ex + a.hw
            qx = math.copysign(b.hw, lx)
        else:
            nlx, nly, pen = 0.0, math.copysign(1.0, ly), ey + a.hw
            qy = math.copysign(b.hh, ly)
    else:
        ddx, ddy = lx - qx, ly - qy
        dist = math.hypot(ddx, ddy)
        if dist >= a.hw:
            return
        nlx, nly, pen = ddx / dist, ddy / dist, a.hw - dist
    nx, ny = c * nlx - s * nly, s * nlx + c * nly
    px, py = b.x + c * qx - s * qy, b.y + s * qx + c * qy
    if flip:
        out.append(Contact(b, a, -nx, -ny, px, py, pen))
    else:
        out.append(Contact(a, b, nx, ny, px, py, pen))


def _box_corners_in(a: Body, b: Body, out: list[Contact], flip: bool) -> None:
    """Corners of box `a` inside box `b` push `a` out through `b`'s nearest face."""
    c, s = math.cos(b.angle), math.sin(b.angle)
    for px, py in _corners(a):
        dx, dy = px - b.x, py - b.y
        lx, ly = c * dx + s * dy, -s * dx + c * dy
        ex, ey = b.hw - abs(lx), b.hh - abs(ly)
        if ex <= 0.0 or ey <= 0.0:
            continue
        if ex < ey:
            nlx, nly, pen = math.copysign(1.0, lx), 0.0, ex
        else:
            nlx, nly, pen = 0.0, math.copysign(1.0, ly), ey
        nx, ny = c * nlx - s * nly, s * nlx + c * nly
        if flip:
            out.append(Contact(b, a, -nx, -ny, px, py, pen))
        else:
            out.append(Contact(a, b, nx, ny, px, py, pen))


def _pair_contacts(a: Body, b: Body, out: list[Contact]) -> None:
    if abs(a.z - b.z) >= a.hz + b.hz:
        return
    if math.hypot(a.x - b.x, a.y - b.y) >= a.bound + b.bound:
        return
    if a.shape == "circle" and b.shape == "circle":
        _circle_circle(a, b, out)
    elif a.shape == "circle":
        _circle_box(a, b, out)
    elif b.shape == "circle":
        _circle_box(b, a, out, flip=True)
    else:
        _box_corners_in(a, b, out, flip=False)
        _box_corners_in(b, a, out, flip=True)


def _velocity_at(body: Body | None, rx: float, ry: float) -> tuple[float, float]:
    if body is None:
        return 0.0, 0.0
    return body.vx - body.omega * ry, body.vy + body.omega * rx


def _apply(body: Body | None, rx: float, ry: float, ix: float, iy: float) -> None:
    if body is None or body.inv_mass == 0.0 or body.asleep:
        return
    body.vx += ix * body.inv_mass
    body.vy += iy * body.inv_mass
    body.omega += body.inv_inertia * (rx * iy - ry * ix)


def _inv(body: Body | None) -> tuple[float, float]:
    if body is None or body.asleep:
        return 0.0, 0.0
    return body.inv_mass, body.inv_inertia


class Simulator:
    """Steps a world at a fixed rate and records poses, impacts and rolling/sliding speeds."""

    def __init__(self, world: World, settings: PhysicsSettings | None = None) -> None:
        self.world = world
        self.settings = settings or PhysicsSettings()
        self.time = 0.0
        self.events: list[ImpactEvent] = []
        self._last_event: dict[tuple[str, str], ImpactEvent] = {}
        self._touching: dict[str, tuple[float, float]] = {}

    def _contacts(self) -> list[Contact]:
        out: list[Contact] = []
        dyn = self.world.dynamic
        for i, a in enumerate(dyn):
            if not a.asleep:
                _floor_contacts(a, out)
            for b in dyn[i + 1 :]:
                if a.asleep and b.asleep:
                    continue
                _pair_contacts(a, b, out)
            if not a.asleep:
                for s in self.world.statics:
                    _pair_contacts(a, s, out)
        return out

    def step(self, dt: float) -> None:
        st = self.settings
        w = self.world
        for b in w.dynamic:
            if not b.asleep:
                b.vy -= GRAVITY * dt
        contacts = self._contacts()
        # Something moving touched a sleeping body: wake it so it can respond.
        for c in contacts:
            if c.b is not None and (c.a.asleep != c.b.asleep):
                sleeper, mover = (c.a, c.b) if c.a.asleep else (c.b, c.a)
                if math.hypot(mover.vx, mover.vy) + abs(mover.omega) * mover.bound > st.sleep_speed * 2:
                    sleeper.asleep, sleeper.still = False, 0.0
        for c in contacts:
            a, b = c.a, c.b
            rax, ray = c.px - a.x, c.py - a.y
            rbx, rby = (c.px - b.x, c.py - b.y) if b is not None else (0.0, 0.0)
            ima, iia = _inv(a)
            imb, iib = _inv(b)
            rna = rax * c.ny - ray * c.nx
            rnb = rbx * c.ny - rby * c.nx
            kn = ima + imb + iia * rna * rna + iib * rnb * rnb
            tx, ty = -c.ny, c.nx
            rta = rax * ty - ray * tx
            rtb = rbx * ty - rby * tx
            kt = ima + imb + iia * rta * rta + iib * rtb * rtb
            c.kn = 1.0 / kn if kn > 0 else 0.0
            c.kt = 1.0 / kt if kt > 0 else 0.0
            if b is None:
                e = combined_restitution(a.restitution, w.floor_restitution)
                mu = combined_friction(a.friction, w.floor_friction)
            else:
                e = combined_restitution(a.restitution, b.restitution)
                mu = combined_friction(a.friction, b.friction)
            c.restitution, c.friction = e, mu
            vax, vay = _velocity_at(a, rax, ray)
            vbx, vby = _velocity_at(b, rbx, rby)
            vn = (vax - vbx) * c.nx + (vay - vby) * c.ny
            c.approach = -vn
            c.bias = -e * vn if -vn > st.bounce_threshold else 0.0
        for _ in range(st.iterations):
            for c in contacts:
                a, b = c.a, c.b
                rax, ray = c.px - a.x, c.py - a.y
                rbx, rby = (c.px - b.x, c.py - b.y) if b is not None else (0.0, 0.0)
                vax, vay = _velocity_at(a, rax, ray)
                vbx, vby = _velocity_at(b, rbx, rby)
                rvx, rvy = vax - vbx, vay - vby
                vn = rvx * c.nx + rvy * c.ny
                dpn = (c.bias - vn) * c.kn
                new = max(c.pn + dpn, 0.0)
                dpn, c.pn = new - c.pn, new
                _apply(a, rax, ray, dpn * c.nx, dpn * c.ny)
                _apply(b, rbx, rby, -dpn * c.nx, -dpn * c.ny)
                vax, vay = _velocity_at(a, rax, ray)
                vbx, vby = _velocity_at(b, rbx, rby)
                tx, ty = -c.ny, c.nx
                vt = (vax - vbx) * tx + (vay - vby) * ty
                limit = c.friction * c.pn
                new = min(max(c.pt - vt * c.kt, -limit), limit)
                dpt, c.pt = new - c.pt, new
                _apply(a, rax, ray, dpt * tx, dpt * ty)
                _apply(b, rbx, rby, -dpt * tx, -dpt * ty)
        for b in w.dynamic:
            if b.asleep:
                continue
            b.x += b.vx * dt
            b.y += b.vy * dt
            b.angle += b.omega * dt
        # Positional correction without touching velocities, so it cannot pump energy into bounces.
        for c in contacts:
            ima, _ = _inv(c.a)
            imb, _ = _inv(c.b)
            total = ima + imb
            corr = max(c.pen - st.slop, 0.0) * st.correction
            if total == 0.0 or corr == 0.0:
                continue
            c.a.x += c.nx * corr * ima / total
            c.a.y += c.ny * corr * ima / total
            if c.b is not None:
                c.b.x -= c.nx * corr * imb / total
                c.b.y -= c.ny * corr * imb / total
        self.time += dt
        self._record(contacts, dt)

    def _record(self, contacts: list[Contact], dt: float) -> None:
        st = self.settings
        touching: dict[str, tuple[float, float]] = {}
        for c in contacts:
            a, b = c.a, c.b
            other = "floor" if b is None else b.name
            if c.approach > st.event_threshold:
                key = (a.name, other)
                last = self._last_event.get(key)
                # Several corners or iterations of one landing are one impact, not a drum roll.
                if last is None or self.time - last.time > 0.03:
                    event = ImpactEvent(
                        time=self.time - dt, body=a.name, other=other, speed=c.approach, x=c.px, y=c.py, z=a.z,
                        material=a.material, other_material=self.world.floor_material if b is None else b.material,
                        size=a.bound,
                    )
                    self.events.append(event)
                    self._last_event[key] = event
                elif c.approach > last.speed and self.time - last.time <= 0.03:
                    upgraded = ImpactEvent(**{**last.__dict__, "speed": c.approach})
                    self.events[self.events.index(last)] = upgraded
                    self._last_event[key] = upgraded
            # Tangential speed at the contact: rolling if the surfaces move together, sliding if they slip.
            rax, ray = c.px - a.x, c.py - a.y
            vax, vay = _velocity_at(a, rax, ray)
            tx, ty = -c.ny, c.nx
            slip = abs(vax * tx + vay * ty) if b is None else 0.0
            if b is not None:
                rbx, rby = c.px - b.x, c.py - b.y
                vbx, vby = _velocity_at(b, rbx, rby)
                slip = abs((vax - vbx) * tx + (vay - vby) * ty)
            roll = abs(a.vx * tx + a.vy * ty) if a.shape == "circle" else 0.0
            prev = touching.get(a.name, (0.0, 0.0))
            touching[a.name] = (max(prev[0], roll), max(prev[1], slip))
        self._touching = touching
        for b in self.world.dynamic:
            if b.asleep:
                continue
            moving = math.hypot(b.vx, b.vy) + abs(b.omega) * b.bound
            if moving < st.sleep_speed and b.name in touching:
                b.still += dt
                if b.still >= st.sleep_seconds:
                    b.asleep, b.vx, b.vy, b.omega = True, 0.0, 0.0, 0.0
            else:
                b.still = 0.0


def simulate(
    scene: SceneSpec,
    frames: int,
    fps: float,
    settings: PhysicsSettings | None = None,
    start_state: dict[str, Any] | None = None,
) -> Trajectory:
    """Simulate `frames` frames (at `scene.pace` simulated seconds per played second) and record them."""
    settings = settings or PhysicsSettings()
    world = build_world(scene)
    if start_state:
        apply_state(world, start_state)
    sim = Simulator(world, settings)
    frame_dt = scene.pace / fps
    # The step never exceeds 1/step_hz whatever the frame rate or pace, so physics does not change with them.
    sub = max(1, math.ceil(frame_dt * settings.step_hz - 1e-9))
    dt = frame_dt / sub
    names = [b.name for b in world.dynamic]
    n = len(names)
    poses = np.zeros((frames, n, 3), np.float64)
    roll = np.zeros((frames, n), np.float32)
    slide = np.zeros((frames, n), np.float32)
    for f in range(frames):
        for i, b in enumerate(world.dynamic):
            poses[f, i] = (b.x, b.y, b.angle)
        acc_roll = np.zeros(n)
        acc_slide = np.zeros(n)
        for _ in range(sub):
            sim.step(dt)
            for i, b in enumerate(world.dynamic):
                r, s = sim._touching.get(b.name, (0.0, 0.0))
                acc_roll[i] += r
                acc_slide[i] += s
        roll[f] = acc_roll / sub
        slide[f] = acc_slide / sub
    final = {
        "time": sim.time,
        "bodies": {b.name: [b.x, b.y, b.vx, b.vy, b.angle, b.omega, b.asleep] for b in world.dynamic},
    }
    return Trajectory(names, poses, roll, slide, sim.events, final, frame_dt)


def mechanical_energy(world: World) -> float:
    """Kinetic plus potential energy of the movable bodies (J); used to check energy never grows."""
    total = 0.0
    for b in world.dynamic:
        if b.inv_mass == 0.0:
            continue
        m = 1.0 / b.inv_mass
        inertia = 1.0 / b.inv_inertia
        total += 0.5 * m * (b.vx * b.vx + b.vy * b.vy) + 0.5 * inertia * b.omega * b.omega + m * GRAVITY * b.y
    return total

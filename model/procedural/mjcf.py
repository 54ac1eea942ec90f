"""The MuJoCo model of a scene: an MJCF document built from a SceneSpec, and the contact law for each pair.

Every movable body moves in the picture plane (x right, y up): two slide joints and a hinge about z, so the
renderer's (x, y, angle) contract holds exactly. Bodies keep their depth `z` and real 3-D shapes, so two bodies
collide only where they really overlap in depth. Gravity points down -y, matching the scene's axes.

Contacts are explicit `<pair>`s (every geom's contype is 0), so each pair gets its own law: friction is the
geometric mean of the two materials' and restitution the larger of the two, as before. Restitution comes from a
spring-damper contact (MuJoCo's negative solref: stiffness, damping); the damping that gives a coefficient of
restitution `e` is found once per (e, timestep) by dropping a ball in a one-body model of the same law.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import mujoco

from model.procedural.materials import Material, material
from model.procedural.scene import BodySpec, FixtureSpec, SceneSpec

GRAVITY = 9.81
# Thin-walled bottles and cans weigh this share of a solid cylinder of their material (a hollow ball: 0.15).
SHELL_FRACTION = 0.15
# Contact stiffness (1/s^2, per unit effective mass): a ball landing at 6 m/s dents 3 cm into the floor for ~20 ms.
# Stiffer contacts need a shorter step for the bounce to come out the same whatever the phase of the step.
CONTACT_STIFFNESS = 3.0e4
IMPEDANCE = "0.99 0.99 0.001 0.5 2"  # near-hard constraints: the spring-damper alone decides the bounce
RIM_SEGMENTS = 16
SLEEP_TOLERANCE = 0.01  # m/s: slower than this for a while, a body is at rest


def combined_restitution(a: float, b: float) -> float:
    """The bouncier surface wins: a rubber ball bounces on concrete as a rubber ball does."""
    return max(a, b)


def combined_friction(a: float, b: float) -> float:
    """Geometric mean: ice makes anything slippery, two grippy surfaces grip."""
    return math.sqrt(a * b)


def transverse_inertia_per_mass(shape: str, hw: float, hh: float) -> float:
    """I / m about the z axis through the centre for a body seen side-on as a `hw` x `hh` rectangle.

    A box: (w^2 + h^2) / 12. An upright cylinder (radius hw, half height hh) is a thin tube: r^2 / 2 + L^2 / 12.
    """
    if shape == "cylinder":
        return hw * hw / 2.0 + (2 * hh) ** 2 / 12.0
    return ((2 * hw) ** 2 + (2 * hh) ** 2) / 12.0


@dataclass(frozen=True)
class GeomInfo:
    """What the event recorder needs about one collision geom."""

    name: str  # a body id, "floor", or a fixture part such as "stairs-2" or "backboard-rim-0"
    material: str
    body: int  # index into the dynamic bodies, or -1 for static geometry
    size: float  # bounding radius of the body (dynamic) or 0


@dataclass(frozen=True)
class DynamicBody:
    """A movable body as simulated: its id, material and the numbers the old 2-D contract exposed."""

    name: str
    shape: str  # circle | box (its side view)
    hw: float
    hh: float
    hz: float
    z: float
    mass: float
    inertia: float  # about z
    material: str

    @property
    def bound(self) -> float:
        return self.hw if self.shape == "circle" else math.hypot(self.hw, self.hh)


@dataclass
class ModelPlan:
    """The MJCF text plus the tables that map MuJoCo's indices back to the scene."""

    xml: str
    bodies: list[DynamicBody] = field(default_factory=list)
    geoms: dict[str, GeomInfo] = field(default_factory=dict)  # by MJCF geom name
    water: list[tuple[float, float, float, float, float]] = field(default_factory=list)  # x0, x1, z0, z1, surface y


def _shape_of(spec: BodySpec, mat: Material) -> tuple[str, float, float, float, float, float]:
    """Side-view shape, half extents, mass and moment of inertia about z (same numbers as the old solver)."""
    if spec.shape == "sphere":
        r = spec.size[0]
        # A thin-walled hollow ball has I = 2/3 m r^2; a solid one 2/5 m r^2.
        mass = mat.density * (4.0 / 3.0) * math.pi * r**3 * (0.15 if mat.hollow else 1.0)
        return "circle", r, r, r, mass, (2.0 / 3.0 if mat.hollow else 0.4) * mass * r * r
    if spec.shape == "cylinder":
        r, h = spec.size[0], spec.size[1]
        mass = mat.density * math.pi * r * r * 2 * h * SHELL_FRACTION
        if spec.axis == "z":
            return "circle", r, r, h, mass, mass * r * r  # a thin tube rolling on its side
        return "box", r, h, r, mass, mass * transverse_inertia_per_mass("cylinder", r, h)
    hw, hh, hz = spec.size
    mass = mat.density * 8.0 * hw * hh * hz
    return "box", hw, hh, hz, mass, mass * ((2 * hw) ** 2 + (2 * hh) ** 2) / 12.0


def _geom_xml(name: str, spec: BodySpec) -> str:
    common = f'name="{name}" contype="0" conaffinity="0"'
    if spec.shape == "sphere":
        return f'<geom {common} type="sphere" size="{spec.size[0]!r}"/>'
    if spec.shape == "cylinder":
        r, h = spec.size[0], spec.size[1]
        # MuJoCo's cylinder axis is its local z: upright means turning that axis onto y.
        orient = "" if spec.axis == "z" else ' zaxis="0 1 0"'
        return f'<geom {common} type="cylinder" size="{r!r} {h!r}"{orient}/>'
    hw, hh, hz = spec.size
    return f'<geom {common} type="box" size="{hw!r} {hh!r} {hz!r}"/>'


def _static_box(name: str, box: tuple[float, float, float, float, float, float, float]) -> str:
    cx, cy, cz, hx, hy, hz, angle = box
    return (f'<geom name="{name}" type="box" contype="0" conaffinity="0" pos="{cx!r} {cy!r} {cz!r}" '
            f'size="{hx!r} {hy!r} {hz!r}" euler="0 0 {angle!r}"/>')  # fmt: skip


def _rim(fixture: FixtureSpec) -> list[tuple[str, str]]:
    """A hoop's rim as a ring of capsules in the x-z plane through its two cross-section circles.

    Returns (part name, MJCF attributes) per capsule; a lone circle is a short capsule across the view.
    """
    if len(fixture.circles) != 2:
        return [(f"{fixture.kind}-rim-{i}", f'fromto="{cx!r} {cy!r} -0.05 {cx!r} {cy!r} 0.05" size="{r!r}"')
                for i, (cx, cy, r) in enumerate(fixture.circles)]  # fmt: skip
    (x0, y, r), (x1, _, _) = fixture.circles
    mid, radius = (x0 + x1) / 2, abs(x0 - x1) / 2
    out = []
    for k in range(RIM_SEGMENTS):
        a0, a1 = 2 * math.pi * k / RIM_SEGMENTS, 2 * math.pi * (k + 1) / RIM_SEGMENTS
        p0 = (mid + radius * math.cos(a0), y, radius * math.sin(a0))
        p1 = (mid + radius * math.cos(a1), y, radius * math.sin(a1))
        out.append(
            (
                f"{fixture.kind}-rim-{k}",
                f'fromto="{p0[0]!r} {p0[1]!r} {p0[2]!r} {p1[0]!r} {p1[1]!r} {p1[2]!r}" size="{r!r}"',
            )
        )
    return out


def contact_damping(restitution: float, timestep: float, stiffness: float = CONTACT_STIFFNESS) -> float:
    """Damping of the contact spring that makes a drop rebound with `restitution` at this timestep."""
    return _calibrated_damping(round(restitution, 4), round(timestep, 10), stiffness)


@functools.lru_cache(maxsize=256)
def _calibrated_damping(restitution: float, timestep: float, stiffness: float) -> float:
    # Start from the linear oscillator's damping ratio, then correct by bisection: a contact can only push, and the
    # discrete step adds its own loss, so the linear formula alone is off by up to a third.
    e = min(max(restitution, 0.02), 0.98)
    lo, hi = 0.0, 4.0 * math.sqrt(stiffness)
    for _ in range(22):
        mid = (lo + hi) / 2
        if _rebound(mid, timestep, stiffness) > e:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def _rebound(damping: float, timestep: float, stiffness: float) -> float:
    """Coefficient of restitution of a ball landing at 4 m/s on a plane with this contact law."""
    xml = f"""<mujoco><option gravity="0 -{GRAVITY} 0" timestep="{timestep!r}"/><worldbody>
<geom name="floor" type="plane" size="0 0 1" zaxis="0 1 0" contype="0" conaffinity="0"/>
<body><joint type="slide" axis="0 1 0"/><inertial pos="0 0 0" mass="1" diaginertia="0.01 0.01 0.01"/>
<geom name="ball" type="sphere" size="0.1" contype="0" conaffinity="0"/></body></worldbody>
<contact><pair geom1="ball" geom2="floor" condim="1" solref="{-stiffness!r} {-damping!r}" solimp="{IMPEDANCE}"/>
</contact></mujoco>"""
    model = mujoco.MjModel.from_xml_string(xml)
    data = mujoco.MjData(model)
    data.qpos[0], data.qvel[0] = 0.1 + 1e-4, -4.0
    touched = False
    for _ in range(int(0.5 / timestep)):
        mujoco.mj_step(model, data)
        if data.ncon:
            touched = True
        elif touched:
            break
    return float(data.qvel[0]) / 4.0


def plan_model(scene: SceneSpec, timestep: float) -> ModelPlan:
    """The MJCF for `scene`: floor, fixtures and figures as world geoms, movable bodies, and every contact pair."""
    plan = ModelPlan(xml="")
    world_xml = ['<geom name="floor" type="plane" size="0 0 1" zaxis="0 1 0" contype="0" conaffinity="0"/>']
    statics: list[tuple[str, str]] = [("floor", scene.floor().material)]  # MJCF geom name, material
    plan.geoms["floor"] = GeomInfo("floor", scene.floor().material, -1, 0.0)
    for fixture in scene.fixtures:
        if fixture.kind == "floor":
            continue
        if fixture.kind == "pool":
            # Water is not a solid: it only lifts and drags what is in it (see physics.Simulator).
            for cx, cy, cz, hx, hy, hz, _a in fixture.boxes:
                plan.water.append((cx - hx, cx + hx, cz - hz, cz + hz, cy + hy))
            continue
        parts = [(f"{fixture.kind}-{i}", box) for i, box in enumerate(fixture.boxes)]
        for i, box in parts:
            gid = f"f{len(statics)}"
            world_xml.append(_static_box(gid, box))
            statics.append((gid, fixture.material))
            plan.geoms[gid] = GeomInfo(i, fixture.material, -1, 0.0)
        for name, attrs in _rim(fixture):
            gid = f"f{len(statics)}"
            world_xml.append(f'<geom name="{gid}" type="capsule" contype="0" conaffinity="0" {attrs}/>')
            statics.append((gid, fixture.material))
            plan.geoms[gid] = GeomInfo(name, fixture.material, -1, 0.0)
    body_xml: list[str] = []
    movers: list[tuple[str, str, float]] = []  # MJCF geom name, material, rolling radius (0: does not roll)
    for spec in scene.objects:
        mat = material(spec.material)
        if spec.static or spec.shape == "figure":
            gid = f"s{len(statics)}"
            hw, hh, hz = spec.size
            world_xml.append(_static_box(gid, (spec.position[0], spec.position[1], spec.z, hw, hh, hz, spec.angle)))
            statics.append((gid, spec.material))
            plan.geoms[gid] = GeomInfo(spec.id, spec.material, -1, 0.0)
            continue
        shape, hw, hh, hz, mass, inertia = _shape_of(spec, mat)
        body = DynamicBody(spec.id, shape, hw, hh, hz, spec.z, mass, inertia, spec.material)
        index = len(plan.bodies)
        plan.bodies.append(body)
        gid = f"d{index}"
        # Rotations about x and y do not exist for these bodies; their inertia there only has to be valid.
        body_xml.append(
            f'<body name="b{index}" pos="0 0 {spec.z!r}">'
            '<joint type="slide" axis="1 0 0"/><joint type="slide" axis="0 1 0"/><joint type="hinge" axis="0 0 1"/>'
            f'<inertial pos="0 0 0" mass="{mass!r}" diaginertia="{inertia!r} {inertia!r} {inertia!r}"/>'
            f"{_geom_xml(gid, spec)}</body>"
        )
        movers.append((gid, spec.material, hw if shape == "circle" else 0.0))
        plan.geoms[gid] = GeomInfo(spec.id, spec.material, index, body.bound)
    pairs: list[str] = []
    for k, (ga, ma, ra) in enumerate(movers):
        # Rolling resistance only against the ground and fixtures: between two moving balls it would couple their
        # spins and throw them off the floor.
        pairs.extend(_pair(ga, ma, gb, mb, ra, timestep) for gb, mb in statics)
        pairs.extend(_pair(ga, ma, gb, mb, 0.0, timestep) for gb, mb, _r in movers[k + 1 :])
    plan.xml = (
        '<mujoco><compiler angle="radian"/>'
        # Islands of bodies that have come to rest sleep until something touches them: a fallen row of dominoes
        # then costs nothing for the rest of the clip.
        f'<option gravity="0 -{GRAVITY} 0" timestep="{timestep!r}" integrator="Euler" cone="pyramidal" '
        f'sleep_tolerance="{SLEEP_TOLERANCE!r}"><flag sleep="enable"/></option>'
        f"<worldbody>{''.join(world_xml)}{''.join(body_xml)}</worldbody>"
        f"<contact>{''.join(pairs)}</contact></mujoco>"
    )
    return plan


def _pair(ga: str, ma: str, gb: str, mb: str, radius: float, timestep: float) -> str:
    """One contact pair's law; `radius` is the rolling radius where rolling resistance applies (else 0)."""
    a, b = material(ma), material(mb)
    e = combined_restitution(a.restitution, b.restitution)
    mu = combined_friction(a.friction, b.friction)
    damping = contact_damping(e, timestep)
    law = f'solref="{-CONTACT_STIFFNESS!r} {-damping!r}" solimp="{IMPEDANCE}"'
    if radius == 0.0:
        return f'<pair geom1="{ga}" geom2="{gb}" condim="3" friction="{mu!r} {mu!r} 0 0 0" {law}/>'
    # Something round: rolling resistance (a torque of c * r * N) so a rolling ball slows down and stops.
    roll = max(a.rolling, b.rolling) * radius
    return (f'<pair geom1="{ga}" geom2="{gb}" condim="6" friction="{mu!r} {mu!r} {roll!r} {roll!r} {roll!r}" '
            f"{law}/>")  # fmt: skip

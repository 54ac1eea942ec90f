"""Rigid bodies on MuJoCo: gravity, bouncing, friction, stacking, toppling, floating; poses and impacts per frame.

The scene becomes an MJCF model (model/procedural/mjcf.py); this module steps it, turns new contacts into impact
events (the sounds' onsets) and records each frame's poses for the renderer. Water in a pool lifts and drags what
is in it with forces applied to the bodies each step, so MuJoCo integrates them with everything else. MuJoCo runs
on one thread and is deterministic: the same scene gives the same poses and events, bit for bit.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import mujoco
import numpy as np

from model.procedural.mjcf import (
    CONTACT_STIFFNESS,
    GRAVITY,
    SHELL_FRACTION,
    DynamicBody,
    GeomInfo,
    ModelPlan,
    combined_friction,
    combined_restitution,
    contact_damping,
    plan_model,
    transverse_inertia_per_mass,
)
from model.procedural.scene import SceneSpec

__all__ = [
    "GRAVITY",
    "SHELL_FRACTION",
    "Body",
    "ImpactEvent",
    "PhysicsSettings",
    "Simulator",
    "Trajectory",
    "World",
    "apply_state",
    "build_world",
    "combined_friction",
    "combined_restitution",
    "mechanical_energy",
    "simulate",
    "transverse_inertia_per_mass",
]

STATE_SPEC = mujoco.mjtState.mjSTATE_INTEGRATION


@dataclass(frozen=True)
class PhysicsSettings:
    # A 6 m/s ball moves 3 mm per step; the contact spring (mjcf.CONTACT_STIFFNESS) lasts ~40 steps, so a bounce
    # comes out the same whatever the phase of the step it starts in.
    step_hz: float = 2000.0
    # Impacts slower than this are not reported as events (resting jitter is not a sound).
    event_threshold: float = 0.25
    event_merge: float = 0.03  # seconds: several corners or steps of one landing are one impact, not a drum roll
    # A body whose pose moves less than this (metres, radians) from the pose last drawn is drawn where it was, so a
    # settled scene gives identical frames (the renderer reuses them) instead of sub-pixel jitter.
    hold_tolerance: float = 5e-4
    # Impacts are looked for every this many steps (a contact lasts ~40): one Python call per batch, not per step.
    check_steps: int = 4
    contact_samples: int = 4  # rolling/sliding speeds sampled this many times per frame, for the sound
    touch_hold: float = 0.025  # seconds a hopping slider still counts as touching (see Simulator._sample_contacts)
    water_density: float = 1000.0
    water_drag: float = 1.2  # drag coefficient in water (a bluff body)
    water_damping: float = 8.0  # 1/s: bobbing and spinning die away in water within a second or two
    splash_threshold: float = 0.4  # m/s downward through the surface makes a splash


@dataclass(frozen=True)
class ImpactEvent:
    """A body hit something. `time` is simulated seconds from the start of this simulation."""

    time: float
    body: str
    other: str  # a body name, a fixture part ("stairs-2", "backboard-rim-3"), "floor" or "water"
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
    Bodies move in the x-y plane at their scene depth `z` (BodySpec.z), so (x, y, angle) is their whole pose.
    """

    names: list[str]
    poses: np.ndarray
    roll: np.ndarray
    slide: np.ndarray
    events: list[ImpactEvent]
    final: dict[str, Any]  # body states one frame after the last frame: where an extension starts
    frame_dt: float  # simulated seconds between frames


class Body:
    """A live view of one movable body in the MuJoCo state: position, velocity and its fixed shape."""

    def __init__(self, spec: DynamicBody, data: mujoco.MjData, index: int) -> None:
        self.spec = spec
        self.name, self.shape, self.material = spec.name, spec.shape, spec.material
        self.hw, self.hh, self.hz, self.z = spec.hw, spec.hh, spec.hz, spec.z
        self.mass, self.inertia = spec.mass, spec.inertia
        self._data = data
        self._q = 3 * index  # each body owns three dofs: x, y, angle

    @property
    def bound(self) -> float:
        return self.spec.bound

    @property
    def x(self) -> float:
        return float(self._data.qpos[self._q])

    @property
    def y(self) -> float:
        return float(self._data.qpos[self._q + 1])

    @property
    def angle(self) -> float:
        return float(self._data.qpos[self._q + 2])

    @property
    def vx(self) -> float:
        return float(self._data.qvel[self._q])

    @property
    def vy(self) -> float:
        return float(self._data.qvel[self._q + 1])

    @property
    def omega(self) -> float:
        return float(self._data.qvel[self._q + 2])


@dataclass
class World:
    """A compiled MuJoCo model of one scene and its live state."""

    plan: ModelPlan
    model: mujoco.MjModel
    data: mujoco.MjData
    dynamic: list[Body]
    geoms: list[GeomInfo]  # by MuJoCo geom id
    pair_restitution: list[float]
    held: dict[str, tuple[float, float, float]] = field(default_factory=dict)

    @property
    def timestep(self) -> float:
        return float(self.model.opt.timestep)

    def set_timestep(self, timestep: float) -> None:
        """Step at `timestep`, re-deriving each pair's contact damping so bounces stay the same."""
        if timestep == self.model.opt.timestep:
            return
        self.model.opt.timestep = timestep
        for i, e in enumerate(self.pair_restitution):
            self.model.pair_solref[i] = (-CONTACT_STIFFNESS, -contact_damping(e, timestep))


def build_world(scene: SceneSpec, settings: PhysicsSettings | None = None, timestep: float | None = None) -> World:
    """Compile the scene into a MuJoCo model with bodies at their starting positions and velocities."""
    settings = settings or PhysicsSettings()
    plan = plan_model(scene, timestep or 1.0 / settings.step_hz)
    model = mujoco.MjModel.from_xml_string(plan.xml)
    data = mujoco.MjData(model)
    movers = [o for o in scene.objects if not (o.static or o.shape == "figure")]
    for i, spec in enumerate(movers):
        data.qpos[3 * i : 3 * i + 3] = (spec.position[0], spec.position[1], spec.angle)
        data.qvel[3 * i : 3 * i + 3] = (spec.velocity[0], spec.velocity[1], spec.spin)
    geoms = [plan.geoms[mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_GEOM, g)] for g in range(model.ngeom)]
    restitution = [_pair_restitution(model, i, geoms) for i in range(model.npair)]
    mujoco.mj_forward(model, data)
    bodies = [Body(spec, data, i) for i, spec in enumerate(plan.bodies)]
    return World(plan, model, data, bodies, geoms, restitution)


def _pair_restitution(model: mujoco.MjModel, pair: int, geoms: list[GeomInfo]) -> float:
    from model.procedural.materials import material

    a, b = geoms[int(model.pair_geom1[pair])], geoms[int(model.pair_geom2[pair])]
    return combined_restitution(material(a.material).restitution, material(b.material).restitution)


def apply_state(world: World, state: dict[str, Any]) -> None:
    """Put bodies where a previous simulation left them (extend): the exact MuJoCo state when it fits this model,
    else each body's position and velocity by name."""
    saved = state.get("mujoco")
    size = mujoco.mj_stateSize(world.model, STATE_SPEC)
    if isinstance(saved, list) and len(saved) == size and state.get("timestep") == world.timestep:
        mujoco.mj_setState(world.model, world.data, np.asarray(saved, np.float64), STATE_SPEC)
    else:
        by_name = {b.name: i for i, b in enumerate(world.dynamic)}
        for name, values in state.get("bodies", {}).items():
            i = by_name.get(name)
            if i is not None:
                x, y, vx, vy, angle, omega = (float(v) for v in values[:6])
                world.data.qpos[3 * i : 3 * i + 3] = (x, y, angle)
                world.data.qvel[3 * i : 3 * i + 3] = (vx, vy, omega)
    world.data.time = 0.0
    world.held = {k: (float(v[0]), float(v[1]), float(v[2])) for k, v in state.get("held", {}).items()}
    mujoco.mj_forward(world.model, world.data)


Drive = Callable[[World, float], None]


class Simulator:
    """Steps a world and records impacts (new contacts), splashes and rolling/sliding speeds."""

    def __init__(self, world: World, settings: PhysicsSettings | None = None, drive: Drive | None = None) -> None:
        self.world = world
        self.settings = settings or PhysicsSettings()
        self.drive = drive  # moves held bodies (a ball in a thrower's hand) before each batch of steps
        self.events: list[ImpactEvent] = []
        self._last_event: dict[tuple[str, str], int] = {}  # pair -> index into events
        self._touching = np.zeros((len(world.dynamic), 2))  # roll, slide speeds at the last sample
        # When each body last touched something calmly, and that surface's normal (for a slider's hops).
        self._touch_time = np.full(len(world.dynamic), -np.inf)
        self._touch_normal = np.zeros((len(world.dynamic), 2))
        self._geom_body = np.array([g.body for g in world.geoms], np.int64)
        self._round = np.array([b.shape == "circle" for b in world.dynamic], bool)
        self._wet: dict[int, float] = {}  # submerged share of each body in water, to see it enter
        self._body_ids = [mujoco.mj_name2id(world.model, mujoco.mjtObj.mjOBJ_BODY, f"b{i}")
                          for i in range(len(world.dynamic))]  # fmt: skip

    @property
    def time(self) -> float:
        return float(self.world.data.time)

    def step(self, dt: float, sample: bool = False) -> None:
        """Advance `dt` seconds in steps no longer than the world's timestep; `sample` measures contact speeds."""
        n = max(1, math.ceil(dt / self.world.timestep - 1e-9))
        self.world.set_timestep(dt / n)
        self.advance(n, sample)

    def advance(self, steps: int, sample: bool = False) -> None:
        """Take `steps` steps of the world's timestep; `sample` measures contact speeds at the end."""
        m, d = self.world.model, self.world.data
        done = 0
        while done < steps:
            batch = min(self.settings.check_steps, steps - done)
            if self.drive is not None:
                self.drive(self.world, self.time)
            if self.world.plan.water:
                self._water_forces()
            mujoco.mj_step(m, d, nstep=batch)
            done += batch
            self._record_impacts()  # the contacts of the batch's last step are still in `data`
        if sample:
            self._sample_contacts()

    def _record_impacts(self) -> None:
        d = self.world.data
        n = d.ncon
        if n == 0:
            return
        threshold = self.settings.event_threshold
        efc_vel = d.efc_vel
        # A pyramid's edges straddle the normal; a fast approach shows as a fast closing speed on some edge.
        if efc_vel.size == 0 or float(efc_vel.min()) > -threshold:
            return
        contacts = d.contact
        adr, dim, geom = contacts.efc_address, contacts.dim, contacts.geom
        for c in range(n):
            a = int(adr[c])
            if a < 0:
                continue
            rows = 2 * (int(dim[c]) - 1) if dim[c] > 1 else 1
            approach = -float(efc_vel[a : a + rows].mean())
            if approach <= threshold:
                continue
            g1, g2 = self.world.geoms[int(geom[c, 0])], self.world.geoms[int(geom[c, 1])]
            if g1.body < 0 or (0 <= g2.body < g1.body):
                g1, g2 = g2, g1
            # Seen up to a batch late: the spring's energy gives back the speed and time it first touched at.
            dent = max(-float(contacts.dist[c]), 0.0)
            speed = math.sqrt(approach * approach + CONTACT_STIFFNESS * dent * dent)
            when = self.time - self.world.timestep - dent / ((speed + approach) / 2)
            pos = contacts.pos[c]
            self._impact(g1, g2.name, g2.material, speed, float(pos[0]), float(pos[1]), when)

    def _impact(
        self, hitter: GeomInfo, other: str, other_material: str, speed: float, x: float, y: float, now: float
    ) -> None:
        # A rim is a ring of capsules: touching two neighbours at once is one knock on the rim.
        key = (hitter.name, other.split("-rim-")[0] + "-rim" if "-rim-" in other else other)
        last = self._last_event.get(key)
        if last is not None and now - self.events[last].time <= self.settings.event_merge:
            if speed > self.events[last].speed:
                self.events[last] = ImpactEvent(**{**self.events[last].__dict__, "speed": speed})
            return
        z = self.world.dynamic[hitter.body].z
        self.events.append(ImpactEvent(now, hitter.name, other, speed, x, y, z, hitter.material, other_material,
                                       hitter.size))  # fmt: skip
        self._last_event[key] = len(self.events) - 1

    def _sample_contacts(self) -> None:
        """Tangential speeds at each body's contacts: rolling if the surfaces move together, sliding if they slip.

        Only contacts whose surfaces are not closing or parting fast count: a bounce is an impact, not a roll. A
        sliding or resting body rides on sub-millimetre hops and touches only part of the time, so one that touched
        within `touch_hold` seconds and is still moving along that surface keeps its last speeds.
        """
        d, st = self.world.data, self.settings
        touching = np.zeros_like(self._touching)
        n = d.ncon
        vel3 = d.qvel.reshape(-1, 3)
        if n:
            geom = d.contact.geom[:n]
            pos = d.contact.pos[:n]
            normal = d.contact.frame[:n, :3]
            owner = self._geom_body[geom]  # (n, 2) body index or -1
            vel = np.zeros((n, 2, 3))
            for side in range(2):
                b = owner[:, side]
                live = b >= 0
                if not live.any():
                    continue
                q = 3 * b[live]
                v = vel3[b[live]]
                r = pos[live, :2] - d.qpos[np.stack([q, q + 1], axis=1)]
                vel[live, side, 0] = v[:, 0] - v[:, 2] * r[:, 1]
                vel[live, side, 1] = v[:, 1] + v[:, 2] * r[:, 0]
            rel = vel[:, 0] - vel[:, 1]
            closing = np.sum(rel * normal, axis=1)
            slip = np.linalg.norm(rel - normal * closing[:, None], axis=1)
            calm = np.abs(closing) <= st.event_threshold
            for side in range(2):
                b = owner[:, side]
                use = calm & (b >= 0)
                if not use.any():
                    continue
                bodies, n2 = b[use], normal[use, :2]
                np.maximum.at(touching[:, 1], bodies, slip[use])
                # Rolling is the centre moving along the surface.
                v = vel3[bodies, :2]
                along = np.linalg.norm(v - n2 * np.sum(v * n2, axis=1, keepdims=True), axis=1)
                np.maximum.at(touching[:, 0], bodies, np.where(self._round[bodies], along, 0.0))
                self._touch_time[bodies] = self.time
                self._touch_normal[bodies] = n2
        held = (
            ~touching.any(axis=1)
            & (self.time - self._touch_time <= st.touch_hold)
            & (np.abs(np.sum(vel3[:, :2] * self._touch_normal, axis=1)) < 0.1)  # hopping along, not leaving
        )
        touching[held] = self._touching[held]
        self._touching = touching

    def _water_forces(self) -> None:
        """Buoyancy (the weight of the displaced water), drag and damping for bodies in a pool; splashes."""
        d, st = self.world.data, self.settings
        d.xfrc_applied[:] = 0.0
        for i, body in enumerate(self.world.dynamic):
            x, y, angle = d.qpos[3 * i : 3 * i + 3]
            vx, vy, w = d.qvel[3 * i : 3 * i + 3]
            for x0, x1, z0, z1, surface in self.world.plan.water:
                if not (x0 <= x <= x1 and z0 <= body.z <= z1):
                    continue
                # Half the body's vertical extent as it is turned now; what lies below the surface is submerged.
                if body.shape == "circle":
                    ext = body.hw
                else:
                    ext = abs(body.hw * math.sin(angle)) + abs(body.hh * math.cos(angle))
                before = self._wet.get(i, 0.0)
                frac = min(max((surface - (y - ext)) / (2 * ext), 0.0), 1.0)
                if body.shape == "circle" and body.hz == body.hw:  # a sphere: its cap's volume, not a slab's
                    h = frac * 2 * ext
                    frac = h * h * (3 * ext - h) / (4 * ext**3)
                if before == 0.0 and frac > 0.0 and -vy > st.splash_threshold:
                    hitter = GeomInfo(body.name, body.material, i, body.bound)
                    self._impact(hitter, "water", "water", -float(vy), float(x), float(surface), self.time)
                self._wet[i] = frac
                if frac <= 0.0:
                    continue
                volume = _volume(body)
                lift = st.water_density * volume * frac * GRAVITY
                area = 2 * body.hw * 2 * body.hz * max(frac, 0.2)
                speed = math.hypot(vx, vy)
                drag = 0.5 * st.water_density * st.water_drag * area * speed
                damp = st.water_damping * body.mass * frac
                bid = self._body_ids[i]
                d.xfrc_applied[bid, 0] = -(drag + damp) * vx
                d.xfrc_applied[bid, 1] = lift - (drag + damp) * vy
                d.xfrc_applied[bid, 5] = -st.water_damping * body.inertia * frac * w * 4.0


def _volume(body: Body) -> float:
    """The water a body displaces when fully under: its outer volume (a hollow ball floats high)."""
    if body.shape == "circle" and body.hz == body.hw:
        return 4.0 / 3.0 * math.pi * body.hw**3
    if body.shape == "circle":
        return math.pi * body.hw**2 * 2 * body.hz  # a can lying across the view
    return 8.0 * body.hw * body.hh * body.hz


def _held_pose(world: World, body: Body, tolerance: float) -> tuple[float, float, float]:
    pose = (body.x, body.y, body.angle)
    held = world.held.get(body.name)
    if held is not None and max(abs(pose[k] - held[k]) for k in range(3)) < tolerance:
        return held
    world.held[body.name] = pose
    return pose


def simulate(
    scene: SceneSpec,
    frames: int,
    fps: float,
    settings: PhysicsSettings | None = None,
    start_state: dict[str, Any] | None = None,
    drive: Drive | None = None,
) -> Trajectory:
    """Simulate `frames` frames (at `scene.pace` simulated seconds per played second) and record them.

    `drive(world, time)` runs before each batch of steps: it may set held bodies' positions and velocities."""
    settings = settings or PhysicsSettings()
    frame_dt = scene.pace / fps
    # The step never exceeds 1/step_hz whatever the frame rate or pace, and divides a frame exactly.
    sub = max(1, math.ceil(frame_dt * settings.step_hz - 1e-9))
    world = build_world(scene, settings, frame_dt / sub)
    if start_state:
        apply_state(world, start_state)
    sim = Simulator(world, settings, drive)
    names = [b.name for b in world.dynamic]
    n = len(names)
    poses = np.zeros((frames, n, 3), np.float64)
    roll = np.zeros((frames, n), np.float32)
    slide = np.zeros((frames, n), np.float32)
    samples = max(1, min(settings.contact_samples, sub))
    per_sample = sub // samples
    for f in range(frames):
        for i, b in enumerate(world.dynamic):
            poses[f, i] = _held_pose(world, b, settings.hold_tolerance)
        acc = np.zeros((n, 2))
        done = 0
        for s in range(samples):
            steps = per_sample if s < samples - 1 else sub - done
            sim.advance(steps, sample=True)
            done += steps
            acc += sim._touching
        roll[f] = acc[:, 0] / samples
        slide[f] = acc[:, 1] / samples
    state = np.zeros(mujoco.mj_stateSize(world.model, STATE_SPEC))
    mujoco.mj_getState(world.model, world.data, state, STATE_SPEC)
    final = {
        "time": sim.time,
        "timestep": world.timestep,
        "bodies": {b.name: [b.x, b.y, b.vx, b.vy, b.angle, b.omega, False] for b in world.dynamic},
        "held": {k: list(v) for k, v in world.held.items()},
        "mujoco": [float(v) for v in state],
    }
    return Trajectory(names, poses, roll, slide, sim.events, final, frame_dt)


def mechanical_energy(world: World) -> float:
    """Kinetic plus potential energy of the movable bodies (J); used to check energy never grows."""
    total = 0.0
    for b in world.dynamic:
        total += 0.5 * b.mass * (b.vx * b.vx + b.vy * b.vy) + 0.5 * b.inertia * b.omega**2 + b.mass * GRAVITY * b.y
    return total

"""A simulated scene's figures and elements, performed: limb poses beside the physics bodies for the renderer,
the hand that holds a ball until the throw (a physics drive), splashes, spills, snow, broken glass and their sounds.

The figures are kinematic: their verbs say where each limb is. What they carry is physical: a held ball is
driven to the hand each step, then let go with its throw velocity and flies, bounces and rolls in MuJoCo.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from model.procedural.elements.draw import Projector, draw_particles
from model.procedural.elements.particles import GLINT, Particles, drips, pour, ripple_rings, shards, snow, splash
from model.procedural.elements.sounds import footstep_sound, pour_sound, splash_sound
from model.procedural.elements.waves import crest_foam
from model.procedural.figures.kinematics import FigureTrack, animate
from model.procedural.figures.looks import limb_bodies, look_for
from model.procedural.figures.rigs import Rig, rig_for
from model.procedural.figures.spec import FigureSpec
from model.procedural.materials import material
from model.procedural.physics import Drive, ImpactEvent, Trajectory, World
from model.procedural.scene import BodySpec, SceneSpec
from model.procedural.sound import BREAK_SPEED, place_mono

HOLD_HZ = 1000.0  # the hand's path is sampled this finely for the drive, then interpolated


@dataclass
class Sound:
    time: float  # played seconds from the start of this clip part
    samples: np.ndarray
    x: float  # world x, for panning


@dataclass
class Performance:
    """What to draw and hear beside the physics: `scene` has the limbs as bodies; names/poses add them to the
    physics trajectory's; particles are drawn over the frames."""

    scene: SceneSpec
    names: list[str]
    poses: np.ndarray  # (F, N + limbs, 3)
    tracks: dict[str, FigureTrack]
    particles: list[Particles] = field(default_factory=list)
    thrown: dict[str, tuple[str, int]] = field(default_factory=dict)  # figure -> (body, frame it lands or hits)
    sounds: list[Sound] = field(default_factory=list)
    # Glass that broke: body -> (first frame it is gone, x, y of the impact). The body is hidden under the floor
    # from then on; the camera is shown it where it broke, so it keeps the shards in view instead.
    broken: dict[str, tuple[int, float, float]] = field(default_factory=dict)
    # The impacts that broke glass, this part's and earlier parts' (time from this part's start, so negative for
    # those): an extension of the clip keeps those bodies gone and their shards where they lie.
    breaks: list[ImpactEvent] = field(default_factory=list)

    def camera_view(self) -> tuple[SceneSpec, list[str], np.ndarray]:
        """What the camera director frames: each figure first, as one whole-body silhouette following its limbs
        (the prompt's subject is its first moving thing), then every drawn body."""
        view = copy.copy(self.scene)
        hulls: list[BodySpec] = []
        centres = []
        for fig_id, track in self.tracks.items():
            xy = track.poses[..., :2]
            low, high = xy.min(axis=1), xy.max(axis=1)  # (F, 2)
            centre = (low + high) / 2
            half = (high[0] - low[0]) / 2 + 0.1
            shape = "figure"
            thrown = self.thrown.get(fig_id)
            travel = float(np.ptp(track.root[:, 0])) if track.root.shape[0] else 0.0
            if thrown is None and travel < 3.0:
                # A figure that stays about where it is (a jump onto a sofa, a backflip) is one still subject at
                # the middle of all it does, as big as the figure itself or an eighth of that span: the director
                # then holds a still shot close enough to see it and wide enough for the whole move.
                low, high = xy.reshape(-1, 2).min(axis=0) - 0.1, xy.reshape(-1, 2).max(axis=0) + 0.1
                body = (xy[0].max(axis=0) - xy[0].min(axis=0)) / 2 + 0.05
                radius = max(math.sqrt(4 * body[0] * body[1] / math.pi), 0.13 * float(np.max(high - low)))
                centre = np.broadcast_to((low + high) / 2, centre.shape)
                half, shape = np.full(2, radius * math.sqrt(math.pi) / 2), "box"
            if thrown is not None:
                # A throw is the thrower and the flight together: one still box round both, so both are seen.
                ball = self.poses[: thrown[1], self.names.index(thrown[0]), :2]
                low = np.minimum(xy.reshape(-1, 2).min(axis=0), ball.min(axis=0)) - 0.2
                high = np.maximum(xy.reshape(-1, 2).max(axis=0), ball.max(axis=0)) + 0.2
                centre = np.broadcast_to((low + high) / 2, centre.shape)
                half, shape = (high - low) / 2, "box"
            hulls.append(BodySpec(id=fig_id, kind="figure", shape=shape, size=(half[0], half[1], 0.2),
                                  material="cloth", color=(0.5, 0.5, 0.5), color_name="",
                                  position=(float(centre[0, 0]), float(centre[0, 1])), static=True,
                                  z=float(track.depth.mean())))  # fmt: skip
            centres.append(np.concatenate([centre, np.zeros((centre.shape[0], 1))], axis=1))
        poses = self.poses
        if self.broken:
            poses = poses.copy()
            for name, (first, x, y) in self.broken.items():
                poses[first:, self.names.index(name), :2] = (x, y)
        if not hulls:
            return self.scene, self.names, poses
        view.objects = hulls + list(self.scene.objects)
        return view, [h.id for h in hulls] + self.names, np.concatenate([np.stack(centres, 1), poses], axis=1)

    def draw(self, frame: np.ndarray, index: int, project: Projector, focal: float) -> None:
        """Draw frame `index`'s particles into an (H, W, 3) uint8 frame in place."""
        for p in self.particles:
            draw_particles(frame, p, index, project, focal)

    def audio(self, n: int, sample_rate: int, pan_of: Callable[[float], float]) -> np.ndarray:
        """(2, n) float32: every sound placed at its time, panned by `pan_of(x) -> [-1, 1]`."""
        out = np.zeros((2, n), np.float32)
        for s in self.sounds:
            place_mono(out, s.samples, sample_rate, s.time, pan_of(s.x), sample_rate)
        return out


def _rig_and_track(fig: FigureSpec, times: np.ndarray) -> tuple[Rig, FigureTrack]:
    rig = rig_for(fig.kind, fig.scale)
    return rig, animate(rig, fig.script, times, fig.x, fig.facing, fig.z, fig.ground)


def hold_drive(scene: SceneSpec, start: float = 0.0) -> Drive | None:
    """A physics drive that keeps each held body in its figure's hand until the release, then throws it with
    the velocity the scene gives it. `start`: simulated seconds already played (an extension starts later)."""
    holds: list[tuple[str, np.ndarray, np.ndarray, float, tuple[float, float]]] = []
    for fig in scene.figures:
        if not fig.holds:
            continue
        body = next((o for o in scene.objects if o.id == fig.holds), None)
        rig = rig_for(fig.kind, fig.scale)
        probe = animate(rig, fig.script, np.zeros(1), fig.x, fig.facing, fig.z, fig.ground)
        if body is None or probe.release is None or probe.release.time <= start:
            continue
        times = np.arange(0.0, probe.release.time + 2 / HOLD_HZ, 1 / HOLD_HZ)
        hand = animate(rig, fig.script, times, fig.x, fig.facing, fig.z, fig.ground, with_release=False).points["hand"]
        holds.append((fig.holds, times, hand, probe.release.time, body.velocity))
    catches: list[tuple[str, np.ndarray, np.ndarray, float]] = []
    for fig in scene.figures:
        if not fig.catches:
            continue
        rig = rig_for(fig.kind, fig.scale)
        probe = animate(rig, fig.script, np.zeros(1), fig.x, fig.facing, fig.z, fig.ground, with_release=False)
        at = probe.events.get("catch")
        if at is None:
            continue
        times = np.arange(max(at, start) - 1 / HOLD_HZ, start + 30.0, 1 / HOLD_HZ)
        times = times[: int(12 * HOLD_HZ)]  # twelve seconds in the hands is longer than any clip part
        hand = animate(rig, fig.script, times, fig.x, fig.facing, fig.z, fig.ground, with_release=False).points["hand"]
        catches.append((fig.catches, times, hand, at))
    if not holds and not catches:
        return None
    released: set[str] = set()

    def drive(world: World, time: float) -> None:
        t = time + start
        for name, times, hand, release, velocity in holds:
            if name in released:
                continue
            i = next(k for k, b in enumerate(world.dynamic) if b.name == name)
            q = 3 * i
            if t >= release:
                world.data.qvel[q : q + 3] = (velocity[0], velocity[1], -3.0)
                released.add(name)
                continue
            x, y = np.interp(t, times, hand[:, 0]), np.interp(t, times, hand[:, 1])
            k = min(int(t * HOLD_HZ), len(times) - 2)
            vx, vy = (hand[k + 1] - hand[k]) * HOLD_HZ
            world.data.qpos[q : q + 3] = (x, y, 0.0)
            world.data.qvel[q : q + 3] = (vx, vy, 0.0)
        for name, times, hand, at in catches:
            if t < at or t > times[-1]:
                continue  # in flight before the catch: the physics has it
            i = next(k for k, b in enumerate(world.dynamic) if b.name == name)
            q = 3 * i
            k = min(int((t - times[0]) * HOLD_HZ), len(times) - 2)
            x, y = np.interp(t, times, hand[:, 0]), np.interp(t, times, hand[:, 1])
            world.data.qpos[q : q + 3] = (x, y, 0.0)
            world.data.qvel[q : q + 3] = (*((hand[k + 1] - hand[k]) * HOLD_HZ), 0.0)

    return drive


def perform(scene: SceneSpec, traj: Trajectory, first_frame: int = 0,
            earlier_breaks: list[ImpactEvent] | None = None) -> Performance:  # fmt: skip
    """Pose every figure at the trajectory's frame times and gather the elements' particles and sounds.

    Glass that breaks is gone from then on: its later impacts, rolling and sliding leave `traj` (see `_breakage`).
    `earlier_breaks`: glass that broke in the clip this part extends (times before this part's start)."""
    frames = traj.poses.shape[0]
    start = first_frame * traj.frame_dt
    times = start + np.arange(frames) * traj.frame_dt  # simulated seconds
    drawn = copy.copy(scene)
    drawn.objects = list(scene.objects)
    names, blocks = list(traj.names), [traj.poses]
    tracks: dict[str, FigureTrack] = {}
    perf = Performance(drawn, names, traj.poses, tracks)
    for fig in scene.figures:
        rig, track = _rig_and_track(fig, times)
        tracks[fig.id] = track
        bodies = limb_bodies(fig.id, rig, track, look_for(fig.kind, fig.color))
        drawn.objects.extend(bodies)
        names.extend(b.id for b in bodies)
        blocks.append(track.poses)
        _water_entries(scene, fig, track, times, start, scene.pace, perf)
        _footsteps(fig, track, times, start, scene.pace, perf)
    perf.poses = np.concatenate(blocks, axis=1) if len(blocks) > 1 else traj.poses
    for fig in scene.figures:
        release = tracks[fig.id].events.get("release")
        if fig.holds in traj.names and release is not None:
            hits = [e.time for e in traj.events if e.body == fig.holds and e.time + start > release]
            end = (hits[0] + 0.3) if hits else traj.frame_dt * frames
            perf.thrown[fig.id] = (fig.holds, max(1, min(frames, int(end / traj.frame_dt) + 1)))
    _physics_splashes(scene, traj, times, start, perf)
    _breakage(scene, traj, times, start, perf, earlier_breaks or [])
    _spills(scene, traj, times, start, perf)
    _weather(scene, times, perf)
    return perf


def _waters(scene: SceneSpec) -> list[tuple[float, float, float, float, float]]:
    out = []
    for f in scene.fixtures:
        if f.kind == "pool":
            for cx, cy, cz, hx, hy, hz, _a in f.boxes:
                out.append((cx - hx, cx + hx, cz - hz, cz + hz, cy + hy))
    return out


def _water_entries(scene: SceneSpec, fig: FigureSpec, track: FigureTrack, times: np.ndarray, start: float,
                   pace: float, perf: Performance) -> None:  # fmt: skip
    """A figure that goes into water makes a splash (droplets, rings and its sound) on the frame it enters."""
    rig = rig_for(fig.kind, fig.scale)
    for x0, x1, z0, z1, surface in _waters(scene):
        if not z0 <= fig.z <= z1:
            continue
        lead = track.points["head"][:, 0]
        inside = (lead >= x0) & (lead <= x1) & (track.lowest < surface + 0.02)
        entered = np.nonzero(inside[1:] & ~inside[:-1])[0]
        for k in entered[:2]:
            f = int(k + 1)
            dt = max(times[f] - times[f - 1], 1e-6)
            speed = float(np.hypot(*(track.root[f, :2] - track.root[f - 1, :2])) / dt)
            x = float(np.clip(lead[f], x0, x1))
            t = float(times[f])
            size = 0.5 * rig.height
            perf.particles.append(splash(t, x, surface, fig.z, max(speed, 1.5), size, times, hash_seed(scene, f)))
            perf.particles.append(ripple_rings(t, x, surface, fig.z, max(speed, 1.5), times))
            rng = np.random.default_rng([scene.seed & 0xFFFFFFFF, f, 31])
            perf.sounds.append(Sound((t - start) / pace, splash_sound(max(speed, 1.5), size, rng, 48_000), x))


def hash_seed(scene: SceneSpec, salt: int) -> int:
    return (scene.seed * 1_000_003 + salt) & 0xFFFFFFFF


def _footsteps(fig: FigureSpec, track: FigureTrack, times: np.ndarray, start: float, pace: float,
               perf: Performance) -> None:  # fmt: skip
    """A soft step sound where a foot comes down to the ground (people and animals walking, running, landing)."""
    rng = np.random.default_rng([abs(hash(fig.id)) & 0xFFFF, 37])
    soft = 0.0 if fig.kind in {"adult", "child"} else 0.8
    for key in ("foot", "foot_l"):
        y = track.points[key][:, 1] - track.lowest
        down = (y[1:] < 0.03) & (y[:-1] >= 0.03)
        for k in np.nonzero(down)[0][:24]:
            t = float(times[k + 1])
            perf.sounds.append(Sound((t - start) / pace, footstep_sound(soft, rng, 48_000) * 0.5,
                                     float(track.points[key][k + 1, 0])))  # fmt: skip


def _physics_splashes(scene: SceneSpec, traj: Trajectory, times: np.ndarray, start: float, perf: Performance) -> None:
    """Droplets and rings where a simulated body hit the water (its sound is the physics' own impact)."""
    for k, e in enumerate(traj.events):
        if e.other == "water":
            t = start + e.time
            perf.particles.append(splash(t, e.x, e.y, e.z, e.speed, e.size, times, hash_seed(scene, 100 + k)))
            perf.particles.append(ripple_rings(t, e.x, e.y, e.z, e.speed, times))


def breaks(event: ImpactEvent) -> bool:
    """Whether this impact shatters the body: the test `sound.impact_sound` plays breaking glass by, so the
    picture breaks on the very impact that is heard breaking."""
    if event.other_material == "water" or event.material == "water":
        return False  # into water is a splash, however hard
    return material(event.material).breaks and event.speed >= BREAK_SPEED


def _breakage(scene: SceneSpec, traj: Trajectory, times: np.ndarray, start: float, perf: Performance,
              earlier: list[ImpactEvent]) -> None:  # fmt: skip
    """Glass that lands hard enough to be heard breaking breaks in the picture on that frame: the body goes and
    shards burst out of the impact, fall, and lie scattered there to the end of the clip.

    The body leaves the picture by standing just under the floor below the impact (where the floor hides it,
    casts no shadow and costs the renderer only a few rays), and leaves the sound too: its later bounces, rolls
    and slides are dropped from `traj`, so a bottle that is gone is not heard knocking about afterwards."""
    broken: dict[str, ImpactEvent] = {e.body: e for e in earlier if e.body in traj.names}
    for e in traj.events:
        if e.body not in broken and e.body in traj.names and breaks(e):
            broken[e.body] = e
    perf.breaks = list(broken.values())
    if not broken:
        return
    bodies = {o.id: o for o in scene.objects}
    poses = perf.poses.copy()  # it may be the physics' own array, which must stay as simulated
    for name, e in broken.items():
        i = traj.names.index(name)
        t = start + e.time
        first = int(np.searchsorted(times, t - 1e-9))  # the first frame at or after the impact (0 if earlier)
        if first < len(times):
            reach = float(np.linalg.norm(bodies[name].size)) if name in bodies else e.size
            poses[first:, i] = (e.x, -reach - 0.01, poses[first, i, 2])
            perf.broken[name] = (first, e.x, e.y)
            traj.roll[first:, i] = 0.0
            traj.slide[first:, i] = 0.0
        color = bodies[name].color if name in bodies else GLINT
        tint = tuple(0.3 * c + 0.7 for c in color)  # glass catches the light: its shards show paler than it
        seed = hash_seed(scene, 400 + i)
        perf.particles.append(shards(t, e.x, e.y, e.z, e.speed, e.size, times, seed, (tint[0], tint[1], tint[2])))
        perf.particles.append(shards(t, e.x, e.y, e.z, e.speed, e.size, times, seed + 1, GLINT, count=16))
    perf.poses = poses
    traj.events[:] = [e for e in traj.events if not any(
        n in broken and e.time > broken[n].time for n in (e.body, e.other))]  # fmt: skip


def _spills(scene: SceneSpec, traj: Trajectory, times: np.ndarray, start: float, perf: Performance) -> None:
    """A vessel with a liquid in it pours it out when it tips past its rim: a stream, a splash, their sound."""
    for o in scene.objects:
        if not o.contents or o.id not in traj.names:
            continue
        i = traj.names.index(o.id)
        angle = traj.poses[:, i, 2]
        tipped = np.nonzero(np.abs(np.sin(angle)) > 0.8)[0]
        if tipped.size == 0:
            continue
        f = int(tipped[0])
        x, y, a = traj.poses[f, i]
        mouth = (x - math.sin(a) * o.size[1], y + math.cos(a) * o.size[1], o.z)
        dt = traj.frame_dt
        g = min(f + 1, len(times) - 1)
        vx = (traj.poses[g, i, 0] - traj.poses[max(f - 1, 0), i, 0]) / (2 * dt)
        t0 = float(times[f])
        out = (-math.sin(a) * 0.6 + vx * 0.8, 0.3)
        perf.particles.append(pour(t0, t0 + 0.5, mouth, out, 0.0, times, hash_seed(scene, 200 + i)))
        perf.particles.append(splash(t0 + 0.45, x + out[0] * 0.4, 0.0, o.z, 2.0, 0.08, times, hash_seed(scene, 300)))
        rng = np.random.default_rng([scene.seed & 0xFFFFFFFF, 41])
        perf.sounds.append(Sound((t0 - start) / scene.pace, pour_sound(0.6, rng, 48_000, fill=-1.0), float(x)))


def _weather(scene: SceneSpec, times: np.ndarray, perf: Performance) -> None:
    env = scene.environment
    target = scene.camera.target or (0.0, 0.8, 0.0)
    span = max(4.0, (scene.camera.distance or 5.0) * 1.2)
    area = (target[0] - span, target[0] + span, -4.0, min(3.0, (scene.camera.distance or 5.0) - 1.0))
    if env.snow > 0:
        perf.particles.append(snow(times, env.snow, env.wind, area, scene.seed))
    if env.rain > 0 and env.setting == "outdoor":
        perf.particles.append(drips(times, env.rain, area, scene.seed))
    for x0, x1, z0, z1, surface in _waters(scene):
        if x1 - x0 > 6.0:  # a sea, not a pool: waves with foam on their crests
            perf.particles.append(crest_foam(times, 0.6, (x0, min(x1, x0 + 10.0)), (max(z0, -4.0), min(z1, 1.5)),
                                             surface))  # fmt: skip

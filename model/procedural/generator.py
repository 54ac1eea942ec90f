"""The procedural backend: prompt -> scene -> simulation -> frames and sound, on any machine."""

from __future__ import annotations

import math
import random
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch

from model.generator import (
    CancelToken,
    Clip,
    GenerationError,
    GenerationRequest,
    ProgressCallback,
    SourceClip,
)
from model.procedural.camera import Shot, camera_pose, frame_scene
from model.procedural.edit import apply_edit
from model.procedural.figures.performance import hold_drive, perform
from model.procedural.figures.reading import read_prompt
from model.procedural.figures.remix import apply_figure_edit, read_remix, without_words
from model.procedural.figures.staging import stage
from model.procedural.layout import build_scene, place_groups
from model.procedural.physics import ImpactEvent, PhysicsSettings, Trajectory, simulate
from model.procedural.prompt import ObjectGroup, parse_prompt
from model.procedural.render import Renderer, RenderSettings, rain_overlay
from model.procedural.scene import SCENE_VERSION, SceneSpec, SceneVersionError
from model.procedural.shot_words import apply_shot_words, read_shot_words
from model.procedural.sound import (
    SAMPLE_RATE,
    SoundSettings,
    ambience,
    contact_noise,
    envelope_per_frame,
    limit,
    mix_impacts,
    place_mono,
)
from model.procedural.speech import SKIPPED, espeak_available, speak, voice_pitch
from model.stitching import stitch_clips

MAX_LONG_SIDE = 1280
MAX_SHORT_SIDE = 720
MIN_SIDE = 32
MAX_SECONDS = 20.0
TAIL_SECONDS = 2.0  # impacts this close to the end still ring into an extension


@dataclass(frozen=True)
class ProceduralSettings:
    physics: PhysicsSettings = field(default_factory=PhysicsSettings)
    render: RenderSettings = field(default_factory=RenderSettings)
    sound: SoundSettings = field(default_factory=SoundSettings)
    crossfade_seconds: float = 0.25
    # torch's CPU threads for rendering. The renderer runs many small tensor operations, and with 2 threads on this
    # project's 2-core machines they spin against each other and against the rest of the service: a 5 s 640x360
    # clip took 17.7 s on one thread and 131 s on two (2026-12-06, bench notes in BENCHMARKS.md).
    cpu_threads: int = 1


def fit_size(width: int, height: int) -> tuple[int, int, list[str]]:
    """Clamp to 1280x720's pixel count with no side over 1280 (so a 960x960 square fits, as the command grammar and
    the price allow), at least 32 px, even numbers; say what changed."""
    notes: list[str] = []
    w, h = max(MIN_SIDE, int(width)), max(MIN_SIDE, int(height))
    scale = min(1.0, MAX_LONG_SIDE / max(w, h), math.sqrt(MAX_LONG_SIDE * MAX_SHORT_SIDE / (w * h)))
    # Nearest even size (H.264 with 4:2:0 chroma needs even sides), never above the caps.
    w = max(MIN_SIDE, min(MAX_LONG_SIDE, 2 * round(w * scale / 2)))
    h = max(MIN_SIDE, min(MAX_LONG_SIDE, 2 * round(h * scale / 2)))
    while w * h > MAX_LONG_SIDE * MAX_SHORT_SIDE:  # rounding up may have crossed the pixel budget
        w, h = (w - 2, h) if w >= h else (w, h - 2)
    if (w, h) != (width, height):
        notes.append(f"size {width}x{height} rounded to {w}x{h}")
    return w, h, notes


def _event_dict(event: ImpactEvent, shift: float) -> dict[str, Any]:
    data = asdict(event)
    data["time"] = event.time - shift
    return data


class ProceduralGenerator:
    """A small physical world per prompt: deterministic for a given prompt, seed and size."""

    name = "procedural"

    def __init__(self, device: str | None = None, settings: ProceduralSettings | None = None) -> None:
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.settings = settings or ProceduralSettings()
        if self.device.type == "cpu":
            torch.set_num_threads(self.settings.cpu_threads)  # process-wide: the procedural backend owns the process

    # -- the protocol ---------------------------------------------------------------------------------------
    def generate(self, request: GenerationRequest, progress: ProgressCallback, cancel: CancelToken) -> Clip:
        started = time.perf_counter()
        cancel.raise_if_cancelled()
        if not 1.0 <= request.fps <= 60.0:
            raise GenerationError(f"`fps` must be between 1 and 60, got {request.fps}")
        if request.kind == "generate":
            clip = self._generate(request, progress, cancel)
        elif request.kind == "remix":
            clip = self._remix(request, progress, cancel)
        elif request.kind == "extend":
            clip = self._extend(request, progress, cancel)
        elif request.kind == "stitch":
            clip = self._stitch(request)
        else:
            raise GenerationError(f"unknown request kind {request.kind!r}")
        clip.metadata["backend"] = self.name
        clip.metadata["model"] = f"procedural scene v{SCENE_VERSION}"
        clip.metadata["device"] = self.device.type
        clip.metadata["generation_seconds"] = round(time.perf_counter() - started, 3)
        return clip

    # -- kinds ----------------------------------------------------------------------------------------------
    def _generate(self, request: GenerationRequest, progress: ProgressCallback, cancel: CancelToken) -> Clip:
        parsed = parse_prompt(request.prompt)
        reading = read_prompt(request.prompt, parsed)  # people, animals, water, weather, stand-in shapes
        scene, notes = build_scene(parsed, request.seed)
        stage(scene, reading, parsed, notes)
        self._add_cameo_figures(scene, request)
        words = read_shot_words(request.prompt)  # tracking, from above, the place (director.py, sets.py)
        apply_shot_words(scene, words)
        unused = [w for w in parsed.unused_words if w.lower() not in words.words]
        meta: dict[str, Any] = {"unused_words": unused, "notes": parsed.notes + notes}
        return self._make(scene, request, progress, cancel, meta, reframe=True)

    def _remix(self, request: GenerationRequest, progress: ProgressCallback, cancel: CancelToken) -> Clip:
        source = self._source(request)
        scene = self._scene_of(source)
        if scene is None:
            # Not one of ours: re-imagine it from its prompt plus the remix, and say so.
            parsed = parse_prompt(f"{source.prompt}. {request.prompt}")
            reading = read_prompt(f"{source.prompt}. {request.prompt}", parsed)
            scene, notes = build_scene(parsed, request.seed)
            stage(scene, reading, parsed, notes)
            meta: dict[str, Any] = {"unused_words": parsed.unused_words,
                    "notes": [f"source came from {source.backend!r}; rebuilt from its prompt", *notes]}  # fmt: skip
            return self._make(scene, request, progress, cancel, meta, reframe=True)
        figure_edit = read_remix(request.prompt)  # "make it a dog", "now he catches it", "make it snow"
        edit = apply_edit(scene, without_words(request.prompt, figure_edit.used), request.seed)
        if figure_changes := apply_figure_edit(edit.scene, figure_edit):
            edit.changes += figure_changes
            edit.notes = [n for n in edit.notes if not n.startswith("nothing in the remix prompt")]
            edit.reframe = True
        edit.unused_words = [w for w in edit.unused_words if w not in figure_edit.used]
        self._add_cameo_figures(edit.scene, request)
        edit.reframe |= apply_shot_words(edit.scene, read_shot_words(request.prompt))
        meta = {"unused_words": edit.unused_words, "notes": edit.notes, "changes": edit.changes,
                "remix_of": source.clip_id}  # fmt: skip
        return self._make(edit.scene, request, progress, cancel, meta, reframe=edit.reframe)

    def _extend(self, request: GenerationRequest, progress: ProgressCallback, cancel: CancelToken) -> Clip:
        source = self._source(request)
        scene = self._scene_of(source)
        final = source.state.get("final")
        if scene is None or not isinstance(final, dict):
            raise GenerationError("this clip cannot be extended by the procedural backend (no simulation state)")
        src = source.clip
        fps = float(source.state.get("fps", src.fps))
        width, height = src.width, src.height
        frames = max(1, round(min(request.seconds, MAX_SECONDS) * fps))
        first = int(source.state.get("frames", src.frames.shape[0]))  # type: ignore[arg-type]
        total = int(source.state.get("camera_frames", first))
        speech_meta = "none"
        tails = [ImpactEvent(**e) for e in source.state.get("tail_events", [])]
        earlier_breaks = [ImpactEvent(**e) for e in source.state.get("broken", [])]
        cont = self._simulate_render_sound(
            scene, width, height, fps, frames, request, progress, cancel,
            start_state=final, first_frame=first, camera_frames=total, prior_events=tails, speech=False,
            earlier_breaks=earlier_breaks,
        )  # fmt: skip
        new_frames, new_audio, traj, _, breaks = cont
        # The source's picture and sound, then the continuation: same size, rate and clock, so no seam.
        src_frames = src.frames if src.frames.shape[0] == first else src.frames[:first]
        src_samples = round(src_frames.shape[0] / fps * SAMPLE_RATE)
        src_audio = np.zeros((2, src_samples), np.float32)
        audio = src.audio if src.sample_rate == SAMPLE_RATE else _resample(src.audio, src.sample_rate)
        audio = np.repeat(audio, 2, axis=0) if audio.shape[0] == 1 else audio[:2]
        n = min(src_samples, audio.shape[1])
        src_audio[:, :n] = audio[:, :n]
        joined_frames = np.concatenate([src_frames, new_frames])
        joined_audio = np.concatenate([src_audio, new_audio], axis=1)
        state = self._state(scene, traj, first + frames, fps, total, breaks)
        meta = {"unused_words": [], "notes": [], "extended_from": source.clip_id, "continuation_start_frame": first,
                "speech": speech_meta, "size": [width, height]}  # fmt: skip
        return Clip(joined_frames, joined_audio, fps, SAMPLE_RATE, state, meta)

    def _stitch(self, request: GenerationRequest) -> Clip:
        if not request.sources:
            raise GenerationError("stitch needs at least one source clip")
        clip = stitch_clips([s.clip for s in request.sources], self.settings.crossfade_seconds)
        last = request.sources[-1]
        # Keep the last source's simulation state, so the stitched clip can still be extended from its end.
        state: dict[str, Any] = {"stitched_from": [s.clip_id for s in request.sources]}
        if last.backend == self.name and "scene" in last.state:
            state.update({k: v for k, v in last.state.items() if k != "stitched_from"})
            state["frames"] = clip.frames.shape[0]
        clip.state = state
        clip.metadata.update({"unused_words": [], "size": [clip.width, clip.height]})
        return clip

    # -- shared steps ---------------------------------------------------------------------------------------
    def _source(self, request: GenerationRequest) -> SourceClip:
        if not request.sources:
            raise GenerationError(f"{request.kind} needs a source clip")
        return request.sources[0]

    def _scene_of(self, source: SourceClip) -> SceneSpec | None:
        data = source.state.get("scene") if isinstance(source.state, dict) else None
        if source.backend != self.name or not isinstance(data, dict):
            return None
        try:
            return SceneSpec.from_dict(data)
        except SceneVersionError as exc:
            raise GenerationError(f"that clip was made by another version of this backend ({exc})") from exc
        except (KeyError, TypeError, ValueError) as exc:
            raise GenerationError("that clip's stored scene is damaged and cannot be reused") from exc

    def _add_cameo_figures(self, scene: SceneSpec, request: GenerationRequest) -> None:
        """Every cameo handed in stands in the scene: on a figure that names it, else on a new figure."""
        figures = [o for o in scene.objects if o.shape == "figure"]
        for cameo in request.cameos:
            handle = cameo.handle.lstrip("@").lower()
            if any(f.label.lower() == handle for f in figures):
                continue
            free = next((f for f in figures if not f.label), None)
            if free is not None:
                free.label = handle
                continue
            place_groups(scene, [ObjectGroup(kind="figure", label=handle)], _rng_for(scene.seed),
                         start_index=len(scene.objects))  # fmt: skip
            figures = [o for o in scene.objects if o.shape == "figure"]

    def _make(
        self,
        scene: SceneSpec,
        request: GenerationRequest,
        progress: ProgressCallback,
        cancel: CancelToken,
        meta: dict[str, Any],
        reframe: bool,
    ) -> Clip:
        width, height, size_notes = fit_size(request.width, request.height)
        seconds = min(max(request.seconds, 1.0 / request.fps), MAX_SECONDS)
        if seconds != request.seconds:
            size_notes.append(f"length {request.seconds:g} s clamped to {seconds:.2f} s")
        fps = float(request.fps)
        frames = max(1, round(seconds * fps))
        if reframe:
            scene.camera.target = None
        frames_out, audio, traj, speech_status, breaks = self._simulate_render_sound(
            scene, width, height, fps, frames, request, progress, cancel
        )
        meta = dict(meta)
        meta["notes"] = list(meta.get("notes", [])) + size_notes
        meta.update({
            "size": [width, height], "seconds": frames / fps, "impacts": len(traj.events),
            "speech": speech_status, "objects": [o.id for o in scene.objects],
        })  # fmt: skip
        state = self._state(scene, traj, frames, fps, frames, breaks)
        return Clip(frames_out, audio, fps, SAMPLE_RATE, state, meta)

    def _state(self, scene: SceneSpec, traj: Trajectory, frames: int, fps: float, camera_frames: int,
               breaks: list[ImpactEvent]) -> dict[str, Any]:  # fmt: skip
        end = traj.final["time"]
        tails = [_event_dict(e, end) for e in traj.events if e.time > end - TAIL_SECONDS * scene.pace]
        return {
            "scene": scene.to_dict(), "final": {**traj.final, "time": 0.0}, "tail_events": tails,
            "frames": frames, "fps": fps, "camera_frames": camera_frames,
            # Glass that broke stays broken in an extension (figures/performance.py `_breakage`).
            "broken": [_event_dict(e, end) for e in breaks],
        }  # fmt: skip

    def _simulate_render_sound(
        self,
        scene: SceneSpec,
        width: int,
        height: int,
        fps: float,
        frames: int,
        request: GenerationRequest,
        progress: ProgressCallback,
        cancel: CancelToken,
        start_state: dict[str, Any] | None = None,
        first_frame: int = 0,
        camera_frames: int | None = None,
        prior_events: list[ImpactEvent] | None = None,
        speech: bool = True,
        earlier_breaks: list[ImpactEvent] | None = None,
    ) -> tuple[np.ndarray, np.ndarray, Trajectory, str, list[ImpactEvent]]:
        """Frames, sound, the simulation, what happened to speech, and the impacts that broke glass so far."""
        chunk = self.settings.render.chunk
        chunks = math.ceil(frames / chunk)
        total_steps = chunks + 2
        progress(0, total_steps, "simulating")
        traj = simulate(scene, frames, fps, self.settings.physics, start_state,
                        hold_drive(scene, first_frame * scene.pace / fps))  # fmt: skip
        # The figures' limbs join the bodies the camera frames and the renderer draws (figures/performance.py).
        cast = perform(scene, traj, first_frame, earlier_breaks)
        if scene.camera.target is None:
            frame_scene(*cast.camera_view(), width / height)
        cancel.raise_if_cancelled()
        progress(1, total_steps, "rendering")
        camera_frames = camera_frames or frames
        # Sound first (cheap): speech drives the figures' mouths in the frames.
        n_samples = round(frames / fps * SAMPLE_RATE)
        mouths: list[dict[str, float]] = [{} for _ in range(frames)]
        voice, status = None, "none"
        if speech:
            mouths, voice, status = self._speech(scene, request, frames, fps, n_samples)
        faces = self._faces(scene, request)
        speakers = frozenset(k for m in mouths for k in m)
        renderer = Renderer(cast.scene, width, height, self.device, self.settings.render, faces, speakers, frames)
        out = np.empty((frames, height, width, 3), np.uint8)
        with torch.inference_mode():
            for c in range(chunks):
                cancel.raise_if_cancelled()
                lo, hi = c * chunk, min(frames, (c + 1) * chunk)
                block = renderer.render_chunk(cast.names, cast.poses[lo:hi], mouths[lo:hi], first_frame + lo,
                                              camera_frames)  # fmt: skip
                for k in range(hi - lo):
                    rain_overlay(block[k], scene.environment, scene.seed, first_frame + lo + k)
                out[lo:hi] = block.cpu().numpy()
                moving = scene.camera.move != "static"
                for k in range(lo, hi) if cast.particles else ():
                    at = (first_frame + k) / max(camera_frames - 1, 1) if moving else 0.0
                    shot = Shot(camera_pose(scene, at), width, height, torch.device("cpu"))
                    cast.draw(out[k], k, shot.project_many, shot.focal)
                progress(2 + c, total_steps, "rendering")
        cancel.raise_if_cancelled()
        audio = self._audio(scene, traj, n_samples, fps, first_frame, camera_frames, prior_events, voice)
        if cast.sounds:
            extra = cast.audio(n_samples, SAMPLE_RATE, lambda x: self._pan_x(scene, x, 0.5, 0.0))
            audio = limit(audio + extra, self.settings.sound.headroom)
        progress(total_steps, total_steps, "done")
        return out, audio, traj, status, cast.breaks

    def _speech(
        self, scene: SceneSpec, request: GenerationRequest, frames: int, fps: float, n: int
    ) -> tuple[list[dict[str, float]], np.ndarray | None, str]:
        """Speak the scene's lines (and play cameo voice clips): per-frame mouth openness per figure, the
        sound, and what happened to speech ("espeak-ng", "skipped: ...", "cameo voice clip" or "none")."""
        mouths: list[dict[str, float]] = [{} for _ in range(frames)]
        status = "none"
        figures = {o.id: o for o in scene.objects if o.shape == "figure"}
        cameo_by_label = {c.handle.lstrip("@").lower(): c for c in request.cameos}
        out = np.zeros((2, n), np.float32)
        spoke = False
        if scene.speech:
            status = "espeak-ng" if espeak_available() else SKIPPED
        for line in scene.speech:
            fig = figures.get(line.speaker)
            cameo = cameo_by_label.get(fig.label.lower()) if fig is not None and fig.label else None
            pitch = 50
            if cameo is not None and cameo.voice is not None:
                pitch = voice_pitch(cameo.voice, cameo.voice_sample_rate) or 50
            elif fig is not None and fig.kind == "robot":
                pitch = 25
            said = speak(line.text, pitch=pitch) if status == "espeak-ng" else None
            if said is None:
                continue
            spoke = True
            pan = self._pan_x(scene, fig.position[0] if fig else 0.0, 1.5, fig.z if fig else 0.0)
            place_mono(out, said.samples * 0.8, said.sample_rate, line.start, pan, SAMPLE_RATE)
            if fig is not None:
                env = envelope_per_frame(said.samples, said.sample_rate, line.start, frames, fps)
                for f in range(frames):
                    if env[f] > 0:
                        mouths[f][fig.id] = max(mouths[f].get(fig.id, 0.0), float(env[f]))
        # A cameo's own voice clip, when there is no line to speak: the figure says what the person recorded.
        if not scene.speech:
            for fig in figures.values():
                cameo = cameo_by_label.get(fig.label.lower()) if fig.label else None
                if cameo is None or cameo.voice is None or cameo.voice.size == 0:
                    continue
                voice_clip = np.asarray(cameo.voice, np.float32)
                pan = self._pan_x(scene, fig.position[0], 1.5, fig.z)
                place_mono(out, voice_clip * 0.8, cameo.voice_sample_rate, 0.4, pan, SAMPLE_RATE)
                env = envelope_per_frame(voice_clip, cameo.voice_sample_rate, 0.4, frames, fps)
                for f in range(frames):
                    if env[f] > 0:
                        mouths[f][fig.id] = float(env[f])
                spoke = True
                status = "cameo voice clip"
        return mouths, (out if spoke else None), status

    def _faces(self, scene: SceneSpec, request: GenerationRequest) -> dict[str, torch.Tensor]:
        faces: dict[str, torch.Tensor] = {}
        by_label = {c.handle.lstrip("@").lower(): c for c in request.cameos}
        for o in scene.objects:
            cameo = by_label.get(o.label.lower()) if o.shape == "figure" and o.label else None
            if cameo is not None and cameo.face is not None and cameo.face.ndim == 3 and cameo.face.shape[2] == 3:
                img = torch.from_numpy(np.ascontiguousarray(cameo.face)).to(self.device).float() / 255.0
                faces[o.id] = img.permute(2, 0, 1).contiguous()
        return faces

    def _pan_x(self, scene: SceneSpec, x: float, y: float, z: float, progress: float = 0.0) -> float:
        shot = Shot(camera_pose(scene, progress), 640, 360, torch.device("cpu"))
        u, _, _ = shot.project(np.array((x, y, z)))
        return 0.0 if math.isnan(u) else max(-1.0, min(1.0, u / 320.0 - 1.0))

    def _audio(
        self,
        scene: SceneSpec,
        traj: Trajectory,
        n: int,
        fps: float,
        first_frame: int,
        camera_frames: int,
        prior_events: list[ImpactEvent] | None,
        voice: np.ndarray | None,
    ) -> np.ndarray:
        settings = self.settings.sound
        # One generator per clip part, seeded by where the part starts, so extensions do not repeat the noise.
        rng = np.random.default_rng([scene.seed & 0xFFFFFFFF, first_frame, 1])
        depth = {o.id: o.z for o in scene.objects}
        denom = max(camera_frames - 1, 1)

        def pan_of(event: ImpactEvent) -> float:
            progress = (first_frame + event.time / traj.frame_dt) / denom if scene.camera.move != "static" else 0.0
            return self._pan_x(scene, event.x, event.y, depth.get(event.body, 0.0), progress)

        events = list(prior_events or []) + traj.events
        audio = mix_impacts(events, n, SAMPLE_RATE, scene.pace, 0.0, pan_of, rng, settings)
        materials = [next(o.material for o in scene.objects if o.id == name) for name in traj.names]
        frames = traj.poses.shape[0]
        pans = np.zeros((frames, len(traj.names)))
        in_contact = float(traj.roll.max(initial=0)) > 0.01 or float(traj.slide.max(initial=0)) > 0.01
        if frames and traj.names and in_contact:
            sample_frames = range(0, frames, max(1, frames // 12))
            for i, name in enumerate(traj.names):
                track = traj.poses[:, i, :2].astype(float)
                xs = [(f, self._pan_x(scene, track[f, 0], track[f, 1], depth.get(name, 0.0))) for f in sample_frames]
                pans[:, i] = np.interp(np.arange(frames), [a for a, _ in xs], [b for _, b in xs])
        audio += contact_noise(traj, materials, n, SAMPLE_RATE, fps, pans, rng, settings)
        audio += ambience(scene.environment, n, rng, SAMPLE_RATE) * settings.ambience_gain
        if voice is not None:
            audio += voice
        return limit(audio, settings.headroom)


def _rng_for(seed: int) -> random.Random:
    return random.Random(seed + 7919)


def _resample(audio: np.ndarray, rate: int) -> np.ndarray:
    if audio.shape[1] == 0:
        return audio
    n_out = round(audio.shape[1] * SAMPLE_RATE / rate)
    t = np.arange(n_out) * (rate / SAMPLE_RATE)
    return np.stack([np.interp(t, np.arange(audio.shape[1]), ch) for ch in audio]).astype(np.float32)

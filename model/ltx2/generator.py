"""The `ltx2` backend: LTX-2 audio+video diffusion through diffusers, loaded once from a local folder and kept warm.

Text to video runs `LTX2Pipeline`; remix, extend and cameos run `LTX2ConditionPipeline` built over the very same
modules, as `from_pipe` would (no second copy of the weights). Nothing is fetched at run time: `local_files_only`.
"""

from __future__ import annotations

import copy
import gc
import inspect
import logging
import math
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from model.generator import (
    CameoRef,
    CancelToken,
    Clip,
    GenerationCancelled,
    GenerationError,
    GenerationRequest,
    ProgressCallback,
    SourceClip,
)
from model.ltx2 import audio as audio_ops
from model.ltx2.clip_plan import ClipPlan, plan_clip, round_frames
from model.ltx2.folder import ModelFolder, ModelFolderError, check_model_folder
from model.ltx2.fp8 import gpu_has_fp8, quantize_linears
from model.ltx2.memory import GB, ClipShape, MemoryEstimate, choose_plan, estimate
from model.ltx2.options import LTX2Options
from model.ltx2.placement import place_for_plan
from model.ltx2.prompt_enhancer import enhance_prompt
from model.ltx2.sizes import SMALL_PARTS, ModelSizes, sizes_from_configs, sizes_from_folder
from model.ltx2.variant import ModelVariant, detect_variant
from model.stitching import resize_frames, stitch_clips

log = logging.getLogger(__name__)

# What the model cannot do, said in every clip's metadata so nobody is surprised.
NOT_SUPPORTED = (
    "voice cloning: a cameo's recorded voice is not used; voices are generated from the prompt",
    "likeness beyond the first frame: a cameo's face image conditions the opening frame only",
)


class _Interrupted(Exception):
    """Raised inside the step callback to leave the pipeline; carries why, so memory is freed before re-raising."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.cause = cause


@dataclass
class _Pipelines:
    text: Any  # diffusers.LTX2Pipeline
    condition: Any  # diffusers.LTX2ConditionPipeline sharing text's modules
    device: torch.device
    dtype: torch.dtype
    speedups: tuple[str, ...] = ()
    lock: threading.Lock = field(default_factory=threading.Lock)


class LTX2Generator:
    """LTX-2 through diffusers: text to video with sound, remix, extend, stitch and cameo conditioning."""

    name = "ltx2"

    def __init__(self, model_dir: Path, options: LTX2Options | None = None) -> None:
        self.model_dir = Path(model_dir)
        self.options = options or LTX2Options()
        # The folder checks are cheap file tests: run them now so a wrong path fails at start-up, not at the first job.
        self.folder: ModelFolder | None = check_model_folder(self.model_dir)
        # So are the variant (steps and guidance follow it) and the memory plan: a card too small for the model is
        # refused here, at start, never by an out-of-memory error in the middle of a member's job.
        self.variant: ModelVariant | None = detect_variant(self.model_dir, self.options.distilled)
        self.options = replace(self.options, distilled=self.variant.distilled)
        self.sizes: ModelSizes = sizes_from_folder(self.model_dir)
        self.memory: MemoryEstimate | None = self._choose_memory(self._resolve_device())
        self._load_lock = threading.Lock()
        self._pipes: _Pipelines | None = None

    # ----------------------------------------------------------------------------------------------------- loading

    @property
    def loaded(self) -> bool:
        return self._pipes is not None

    @property
    def pipeline(self) -> Any:
        """The loaded text-to-video `LTX2Pipeline` (loading it if needed), e.g. to share with `from_pipeline`."""
        return self._ensure_loaded().text

    def load(self) -> None:
        """Load the weights now (the first `generate` does it otherwise); later calls return at once."""
        self._ensure_loaded()

    def _ensure_loaded(self) -> _Pipelines:
        with self._load_lock:
            if self._pipes is None:
                self._pipes = self._load()
            return self._pipes

    def _resolve_device(self) -> torch.device:
        if self.options.device != "auto":
            return torch.device(self.options.device)
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")

    def _resolve_dtype(self, device: torch.device) -> torch.dtype:
        if self.options.dtype != "auto":
            return getattr(torch, self.options.dtype)
        return torch.bfloat16 if device.type == "cuda" else torch.float32

    def largest_clip(self) -> ClipShape:
        """The largest clip this backend accepts, which a memory plan must hold: MAX_PIXELS at about 16:9."""
        options = self.options
        width = max(64, round(math.sqrt(options.max_pixels * 16 / 9) / 32) * 32)
        height = max(64, options.max_pixels // width // 32 * 32)
        guided = options.video_guidance > 1.0 or options.audio_guidance_scale > 1.0
        frames = round_frames(options.max_seconds * 24.0)
        return ClipShape(width, height, frames, 24.0, guided, options.max_prompt_tokens)

    def _choose_memory(self, device: torch.device, budget_bytes: float | None = None) -> MemoryEstimate | None:
        """The memory plan for `device`, chosen from its free memory (or SORABOX_LTX2_MEMORY_GB); None for diffusers'
        model offload. On the CPU (no budget unless one is set) the plan asked for is applied as it is."""
        options = self.options
        if options.cpu_offload == "on":
            return None
        weight_bytes = 4 if self._resolve_dtype(device) == torch.float32 else 2
        tiling = True if options.vae_tiling else None
        if device.type != "cuda" and options.memory_gb is None:
            if options.memory_plan == "auto":
                return None
            return estimate(options.memory_plan, self.sizes, self.largest_clip(), bool(tiling), weight_bytes)
        given = options.memory_gb * GB if options.memory_gb is not None else budget_bytes
        budget = given if given is not None else float(torch.cuda.mem_get_info(device)[0])
        card = torch.cuda.get_device_name(device) if device.type == "cuda" else f"the {device.type}"
        return choose_plan(self.sizes, self.largest_clip(), budget, card, options.memory_plan, tiling, weight_bytes)

    def _load(self) -> _Pipelines:
        try:
            from diffusers import LTX2Pipeline
        except ImportError as exc:  # the [ltx2] extra is not installed
            raise GenerationError(
                f"the ltx2 backend needs the [ltx2] extra (pip install 'sorabox[ltx2]'): {exc}"
            ) from exc
        device = self._resolve_device()
        dtype = self._resolve_dtype(device)
        if self.folder is not None and self.folder.is_tiny:
            log.warning(
                "ltx2: %s is the tiny random model of `sorabox model tiny-ltx2`: its clips are noise", self.model_dir
            )
        try:
            text = LTX2Pipeline.from_pretrained(str(self.model_dir), dtype=dtype, local_files_only=True)
        except (OSError, ValueError, RuntimeError, KeyError, TypeError) as exc:
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelFolderError(f"the LTX-2 model in {self.model_dir} could not be loaded: {first_line}") from exc
        try:
            return self._prepare(text, device, dtype)
        except torch.OutOfMemoryError:
            pass
        # Outside the except block, so the half-moved weights are unreferenced when the cache is emptied.
        del text
        gc.collect()
        if device.type == "cuda":
            torch.cuda.empty_cache()
        raise GenerationError(
            f"the LTX-2 model does not fit in the memory of {device} with its memory plan; set "
            "SORABOX_LTX2_MEMORY_PLAN=group-offload (or SORABOX_LTX2_MEMORY_GB lower)"
        )

    @classmethod
    def from_pipeline(cls, pipeline: Any, options: LTX2Options | None = None, name: str = "in-memory") -> LTX2Generator:
        """Wrap an LTX2Pipeline built in memory (the benchmark's full-size random model); the options are applied
        to its modules in place, as a loaded folder's would be."""
        self = cls.__new__(cls)
        self.model_dir = Path(name)
        options = options or LTX2Options()
        self.options = replace(options, distilled=bool(options.distilled))
        self.folder = None
        self.variant = None
        self._load_lock = threading.Lock()
        device = torch.device(pipeline._execution_device)
        small = sum(p.numel() for part in SMALL_PARTS for p in getattr(pipeline, part).parameters())
        self.sizes = sizes_from_configs(
            dict(pipeline.transformer.config), pipeline.text_encoder.config.to_dict(), small
        )
        if self.options.memory_plan == "auto" and self.options.memory_gb is None:
            self.memory = None  # the caller placed the modules: they stay where they are
        else:  # the pipeline already occupies the card, so the budget is its whole memory, not what is free
            total = torch.cuda.get_device_properties(device).total_memory if device.type == "cuda" else None
            self.memory = self._choose_memory(device, total)
        self._pipes = self._prepare(pipeline, device, pipeline.transformer.dtype)
        return self

    def _prepare(self, text: Any, device: torch.device, dtype: torch.dtype) -> _Pipelines:
        """Apply the memory and speed options to a text-to-video pipeline and derive the condition pipeline."""
        from diffusers import LTX2ConditionPipeline

        text.set_progress_bar_config(disable=True)
        speedups: list[str] = []
        transformer = text.transformer
        if self.options.cache == "taylorseer":
            from diffusers import TaylorSeerCacheConfig

            transformer.enable_cache(
                TaylorSeerCacheConfig(
                    cache_interval=self.options.cache_interval,
                    disable_cache_before_step=3,
                    taylor_factors_dtype=dtype,
                )
            )
            speedups.append(f"TaylorSeer cache every {self.options.cache_interval} steps")
        if self.options.vae_tiling or (self.memory is not None and self.memory.vae_tiling):
            text.vae.enable_tiling()
            speedups.append("VAE tiling")
        # The same modules under a second pipeline class, as `from_pipe` makes it, but without the `.to(dtype)` that
        # `from_pipe` applies to every shared module (float32 unless told: it would widen the bf16 weights in place).
        accepted = inspect.signature(LTX2ConditionPipeline.__init__).parameters
        condition = LTX2ConditionPipeline(**{k: v for k, v in text.components.items() if k in accepted})
        condition.set_progress_bar_config(disable=True)  # type: ignore[attr-defined]
        plan = self.memory.plan if self.memory is not None else "gpu"
        quantized = False
        if self.options.cpu_offload == "on":
            # Each pipeline installs hooks on the same modules; they run the same sequence, so either works.
            text.enable_model_cpu_offload(device=device)
            condition.enable_model_cpu_offload(device=device)  # type: ignore[attr-defined]
            speedups.append("model CPU offload")
        else:
            quantized = place_for_plan(text, plan, device, dtype, self.options, speedups)
        # After every dtype/device move: a later `.to(dtype)` would turn the fp8 weights back into wide floats.
        # Group offloading streams the blocks' own weights, so the fp8 matmul modules are left out there.
        wants_fp8 = self.options.fp8 == "on" or (self.options.fp8 == "auto" and gpu_has_fp8(device))
        if wants_fp8 and not quantized and plan != "group-offload":
            count = quantize_linears(transformer.transformer_blocks)
            speedups.append(f"fp8 matmuls in {count} linear layers")
        if self.options.compile:
            transformer.compile_repeated_blocks(fullgraph=True)
            speedups.append("compiled transformer blocks")
        log.info("ltx2: loaded %s on %s (%s) %s", self.model_dir, device, dtype, ", ".join(speedups))
        return _Pipelines(text=text, condition=condition, device=device, dtype=dtype, speedups=tuple(speedups))

    # -------------------------------------------------------------------------------------------------- generation

    def generate(self, request: GenerationRequest, progress: ProgressCallback, cancel: CancelToken) -> Clip:
        cancel.raise_if_cancelled()
        if request.kind == "stitch":
            return self._stitch(request)
        if request.kind in ("remix", "extend") and not request.sources:
            raise GenerationError(f"a {request.kind} needs a source clip")
        if request.kind == "remix" and request.sources[0].clip.frames.shape[0] < 9:
            raise GenerationError("the source clip is too short to remix: the model needs at least 9 frames")
        if not self.loaded:
            progress(0, 1, "loading")
        pipes = self._ensure_loaded()
        interrupted: BaseException | None = None
        with pipes.lock:  # the pipelines keep per-call state: one clip at a time
            try:
                return self._generate(pipes, request, progress, cancel)
            except _Interrupted as exc:
                interrupted = exc.cause
            except torch.OutOfMemoryError as exc:
                interrupted = exc
        # Out of the except blocks, the traceback that held the latents is gone: now the memory can really go back.
        # (Only here: a full gc.collect holds the GIL for a noticeable time, which the event loop would feel.)
        _free_memory(pipes)
        if isinstance(interrupted, torch.OutOfMemoryError):
            interrupted = GenerationError(
                f"the GPU ran out of memory making a {request.width}x{request.height} {request.seconds:g} s clip; "
                "try a shorter or smaller clip, or set SORABOX_LTX2_CPU_OFFLOAD=on or SORABOX_LTX2_VAE_TILING=1"
            )
        assert interrupted is not None
        raise interrupted.with_traceback(None)

    def _generate(
        self, pipes: _Pipelines, request: GenerationRequest, progress: ProgressCallback, cancel: CancelToken
    ) -> Clip:
        options = self.options
        source = request.sources[0] if request.sources else None
        if request.kind == "remix" and source is not None:
            plan = plan_clip(source.clip.width, source.clip.height, source.clip.seconds, source.clip.fps, options)
            # A remix keeps the source's length: round down so every generated frame has a source frame.
            frames = min(plan.num_frames, 8 * ((source.clip.frames.shape[0] - 1) // 8) + 1)
            plan = ClipPlan(plan.width, plan.height, max(9, frames), source.clip.fps, plan.notes)
        elif request.kind == "extend" and source is not None:
            overlap = min(options.extend_overlap_frames, 8 * ((source.clip.frames.shape[0] - 1) // 8) + 1)
            plan = plan_clip(source.clip.width, source.clip.height, request.seconds, source.clip.fps, options)
            plan = ClipPlan(
                plan.width, plan.height, round_frames(overlap + request.seconds * source.clip.fps), plan.fps, plan.notes
            )
        else:
            plan = plan_clip(request.width, request.height, request.seconds, request.fps, options)
        notes = list(plan.notes)
        if request.kind == "extend":  # the continuation's own length is not what the user asked about
            notes = [note for note in notes if not note.startswith("length")]
        generator = torch.Generator(device="cpu").manual_seed(request.seed)
        enhanced = enhance_prompt(request.prompt) if options.enhance_prompt else None
        prompt = enhanced.text if enhanced is not None else request.prompt
        details = enhanced.text if enhanced is not None and enhanced.changed else ""
        kwargs = self._call_kwargs(pipes, prompt, plan, generator, progress, cancel)

        conditions: list[Any] = []
        cameo = request.cameos[0] if request.cameos else None
        if cameo is not None and cameo.face is not None and request.kind != "extend":
            conditions.append(self._cameo_condition(cameo))
            notes.append(f"cameo {cameo.handle}: the first frame starts from their face image")
        elif cameo is not None and request.kind == "extend":
            notes.append("cameos are not applied to an extension: it continues the source's last frames")
        elif cameo is not None:
            notes.append(f"cameo {cameo.handle} has no face image; only the prompt describes them")
        if len(request.cameos) > 1:
            notes.append("only the first cameo's face conditions the clip")

        with torch.inference_mode():
            if request.kind == "remix" and source is not None:
                video, sound, info = self._remix(pipes, source, plan, conditions, kwargs)
                notes.extend(info)
            elif request.kind == "extend" and source is not None:
                return self._extend(pipes, request, source, plan, kwargs, notes, details)
            elif conditions:
                video, sound = pipes.condition(conditions=conditions, **kwargs)
            else:
                video, sound = pipes.text(**kwargs)
        return self._clip(pipes, request, plan, video, sound, notes, details)

    def _call_kwargs(
        self,
        pipes: _Pipelines,
        prompt: str,
        plan: ClipPlan,
        generator: torch.Generator,
        progress: ProgressCallback,
        cancel: CancelToken,
    ) -> dict[str, Any]:
        options = self.options
        full = options.full_guidance and not options.distilled

        def on_step_end(pipe: Any, step: int, timestep: Any, tensors: dict[str, Any]) -> dict[str, Any]:
            # Raising here is the only way out of a diffusers denoising loop between two steps.
            try:
                progress(step + 1, int(pipe.num_timesteps), "generating")
            except BaseException as exc:
                raise _Interrupted(exc) from exc
            if cancel.cancelled:
                raise _Interrupted(GenerationCancelled(cancel.reason))
            return {}

        tokenizer_limit = int(getattr(pipes.text.tokenizer, "model_max_length", options.max_prompt_tokens) or 0)
        kwargs: dict[str, Any] = dict(
            prompt=prompt,
            height=plan.height,
            width=plan.width,
            num_frames=plan.num_frames,
            frame_rate=plan.fps,
            num_inference_steps=options.num_steps,
            guidance_scale=options.video_guidance,
            audio_guidance_scale=options.audio_guidance_scale,
            stg_scale=1.0 if full else 0.0,
            audio_stg_scale=1.0 if full else 0.0,
            modality_scale=3.0 if full else 1.0,
            audio_modality_scale=3.0 if full else 1.0,
            spatio_temporal_guidance_blocks=list(options.stg_blocks) if full else None,
            generator=generator,
            output_type="np",
            return_dict=False,
            callback_on_step_end=on_step_end,
            callback_on_step_end_tensor_inputs=["latents"],
            max_sequence_length=max(1, min(options.max_prompt_tokens, tokenizer_limit or options.max_prompt_tokens)),
        )
        if options.video_guidance > 1.0 or options.audio_guidance_scale > 1.0:
            kwargs["negative_prompt"] = options.negative_prompt
        if options.distilled and options.num_steps == 8:
            from diffusers.pipelines.ltx2.utils import DISTILLED_SIGMA_VALUES

            kwargs["sigmas"] = list(DISTILLED_SIGMA_VALUES)
        return kwargs

    def _cameo_condition(self, cameo: CameoRef) -> Any:
        from diffusers.pipelines.ltx2 import LTX2VideoCondition
        from PIL import Image

        assert cameo.face is not None
        face = np.ascontiguousarray(cameo.face[..., :3], dtype=np.uint8)
        return LTX2VideoCondition(frames=Image.fromarray(face), index=0, strength=self.options.cameo_strength)

    # --------------------------------------------------------------------------------------------------- remix

    def _remix(
        self, pipes: _Pipelines, source: SourceClip, plan: ClipPlan, conditions: list[Any], kwargs: dict[str, Any]
    ) -> tuple[Any, Any, list[str]]:
        """SDEdit on both streams: re-noise the source's video and audio latents to `remix_strength`, then denoise
        with the new prompt, so motion and sound survive where the prompt does not change them."""
        pipe = pipes.condition
        device = pipe._execution_device
        video_latents = self._encode_video(pipe, source.clip.frames[: plan.num_frames], plan, device)
        audio_latents = self._encode_audio(pipe, source.clip, plan, device)
        full_sigmas = kwargs.pop("sigmas", None)
        steps = int(kwargs["num_inference_steps"])
        schedule = full_sigmas if full_sigmas is not None else np.linspace(1.0, 1.0 / steps, steps).tolist()
        seq_len = video_latents.shape[2] * video_latents.shape[3] * video_latents.shape[4]
        # The scheduler shifts the schedule by sequence length; start at the first step whose *shifted* noise level is
        # at most the strength. Its shifted tail is the full schedule's tail, so the re-noised source sits exactly
        # where that step expects it.
        shifted = _shifted_sigmas(pipe.scheduler, schedule, seq_len, device)
        start = next((i for i, s in enumerate(shifted) if s <= self.options.remix_strength + 1e-6), len(schedule) - 1)
        sigmas = schedule[start:]
        noise_scale = shifted[start]
        kwargs.update(num_inference_steps=len(sigmas), sigmas=sigmas, noise_scale=noise_scale)
        video, sound = pipe(conditions=conditions or None, latents=video_latents, audio_latents=audio_latents, **kwargs)
        info = [f"remix re-noised the source to {noise_scale:.2f} and denoised it in {len(sigmas)} steps"]
        return video, sound, info

    def _encode_video(self, pipe: Any, frames: np.ndarray, plan: ClipPlan, device: torch.device) -> torch.Tensor:
        """(T, H, W, 3) uint8 -> raw video VAE latents (1, C, F, h, w) at the plan's size."""
        pixels = torch.from_numpy(np.ascontiguousarray(frames)).to(device).permute(0, 3, 1, 2).float()  # (T, 3, H, W)
        pixels = F.interpolate(pixels, size=(plan.height, plan.width), mode="bilinear", align_corners=False)
        pixels = (pixels / 127.5 - 1.0).permute(1, 0, 2, 3).unsqueeze(0)  # (1, 3, T, H, W)
        posterior = pipe.vae.encode(pixels.to(pipe.vae.dtype)).latent_dist
        return posterior.mode().float()

    def _encode_audio(self, pipe: Any, clip: Clip, plan: ClipPlan, device: torch.device) -> torch.Tensor:
        """The clip's sound -> raw audio VAE latents (1, C, L, M) covering the plan's length."""
        config = pipe.audio_vae.config
        rate = int(config.sample_rate)
        wave = audio_ops.resample(audio_ops.to_stereo(clip.audio), clip.sample_rate, rate)
        wave = audio_ops.fit_length(wave, round(plan.seconds * rate))
        mel = audio_ops.log_mel(
            torch.from_numpy(wave).to(device),
            sample_rate=rate,
            hop=int(config.mel_hop_length),
            n_mels=int(config.mel_bins),
        ).unsqueeze(0)  # (1, 2, frames, mel_bins)
        latents = pipe.audio_vae.encode(mel.to(pipe.audio_vae.dtype)).latent_dist.mode().float()  # (1, C, L, M)
        per_second = rate / int(config.mel_hop_length) / pipe.audio_vae_temporal_compression_ratio
        want = round(plan.seconds * per_second)
        if latents.shape[2] >= want:
            return latents[:, :, :want]
        pad = latents[:, :, -1:].expand(-1, -1, want - latents.shape[2], -1)
        return torch.cat([latents, pad], dim=2)

    # -------------------------------------------------------------------------------------------------- extend

    def _extend(
        self,
        pipes: _Pipelines,
        request: GenerationRequest,
        source: SourceClip,
        plan: ClipPlan,
        kwargs: dict[str, Any],
        notes: list[str],
        details: str = "",
    ) -> Clip:
        """Generate a continuation that starts from the source's last frames, then join it on after them."""
        from diffusers.pipelines.ltx2 import LTX2VideoCondition

        src = source.clip
        overlap = min(self.options.extend_overlap_frames, 8 * ((src.frames.shape[0] - 1) // 8) + 1)
        tail = np.ascontiguousarray(src.frames[-overlap:])
        condition = LTX2VideoCondition(frames=tail, index=0, strength=1.0)
        video, sound = pipes.condition(conditions=[condition], **kwargs)
        continuation = self._clip(pipes, request, plan, video, sound, [], details)
        frames = continuation.frames[overlap:]
        if frames.shape[1:3] != src.frames.shape[1:3]:
            frames = resize_frames(frames, src.height, src.width)
        rate = continuation.sample_rate
        src_audio = audio_ops.fit_length(
            audio_ops.resample(audio_ops.to_stereo(src.audio), src.sample_rate, rate), round(src.seconds * rate)
        )
        joined_audio = audio_ops.crossfade_join(src_audio, continuation.audio, round(overlap / plan.fps * rate))
        total_frames = src.frames.shape[0] + frames.shape[0]
        joined_audio = audio_ops.fit_length(joined_audio, round(total_frames / src.fps * rate))
        notes.append(
            f"extended by {frames.shape[0]} frames ({frames.shape[0] / src.fps:.2f} s), continuing from the source's "
            f"last {overlap} frames; the sound crossfades over those {overlap / src.fps:.2f} s"
        )
        metadata = {**continuation.metadata, "adjusted": notes, "joined": True, "source_frames": src.frames.shape[0]}
        metadata.update(frames=total_frames, seconds=total_frames / src.fps, width=src.width, height=src.height)
        state = {**continuation.state, "extended_from": source.clip_id, "overlap_frames": overlap}
        return Clip(
            frames=np.concatenate([src.frames, frames]),
            audio=joined_audio,
            fps=src.fps,
            sample_rate=rate,
            state=state,
            metadata=metadata,
        )

    # -------------------------------------------------------------------------------------------------- stitch

    def _stitch(self, request: GenerationRequest) -> Clip:
        if len(request.sources) < 2:
            raise GenerationError("a stitch needs at least two clips")
        clip = stitch_clips([s.clip for s in request.sources], self.options.stitch_crossfade)
        clip.state = {
            "backend": self.name,
            "kind": "stitch",
            "sources": [s.clip_id for s in request.sources],
            "crossfade_seconds": self.options.stitch_crossfade,
        }
        clip.metadata = {**clip.metadata, "backend": self.name, "stitched": len(request.sources)}
        return clip

    # ---------------------------------------------------------------------------------------------------- output

    def _clip(
        self,
        pipes: _Pipelines,
        request: GenerationRequest,
        plan: ClipPlan,
        video: Any,
        sound: Any,
        notes: list[str],
        details: str = "",
    ) -> Clip:
        frames = np.asarray(video)[0]  # (T, H, W, 3) float in [0, 1]
        frames = (np.clip(frames, 0.0, 1.0) * 255.0).round().astype(np.uint8)
        rate = int(pipes.text.vocoder.config.output_sampling_rate)
        wave = sound[0].float().cpu().numpy() if isinstance(sound, torch.Tensor) else np.asarray(sound[0], np.float32)
        # The audio latents are a whole number at 25 a second; the frames are 8k+1 at the clip's rate. Trim or pad
        # the last few milliseconds so both streams end together.
        samples = round(frames.shape[0] / plan.fps * rate)
        wave = audio_ops.fit_length(np.clip(wave, -1.0, 1.0).astype(np.float32), samples)
        options = self.options
        metadata: dict[str, Any] = {
            "backend": self.name,
            "model": self.model_dir.name,
            "width": frames.shape[2],
            "height": frames.shape[1],
            "frames": frames.shape[0],
            "fps": plan.fps,
            "seconds": frames.shape[0] / plan.fps,
            "steps": options.num_steps,
            "guidance": options.video_guidance,
            "distilled": options.distilled,
            "seed": request.seed,
            "adjusted": notes,
            "not_supported": list(NOT_SUPPORTED),
            "speedups": list(pipes.speedups),
            "model_variant": self.variant.name if self.variant is not None else "",
            "memory_plan": self.memory.plan if self.memory is not None else "",
        }
        if details:
            metadata["details"] = details  # the expanded prompt the model was given (the caption shows it)
        state = {
            "backend": self.name,
            "kind": request.kind,
            "prompt": request.prompt,
            "seed": request.seed,
            "width": frames.shape[2],
            "height": frames.shape[1],
            "num_frames": frames.shape[0],
            "fps": plan.fps,
            "sources": [s.clip_id for s in request.sources],
            "cameos": [c.handle for c in request.cameos],
        }
        return Clip(frames=frames, audio=wave, fps=plan.fps, sample_rate=rate, state=state, metadata=metadata)


def _shifted_sigmas(scheduler: Any, sigmas: list[float], seq_len: int, device: torch.device) -> list[float]:
    """The noise levels the pipeline's scheduler really uses for `sigmas` (it shifts them by sequence length)."""
    from diffusers.pipelines.ltx2.pipeline_ltx2_condition import calculate_shift

    probe = copy.deepcopy(scheduler)
    config = probe.config
    mu = calculate_shift(
        seq_len,
        config.get("base_image_seq_len", 1024),
        config.get("max_image_seq_len", 4096),
        config.get("base_shift", 0.95),
        config.get("max_shift", 2.05),
    )
    probe.set_timesteps(sigmas=sigmas, device=device, mu=mu)
    return [float(s) for s in probe.sigmas[: len(sigmas)]]


def _free_memory(pipes: _Pipelines) -> None:
    hooks_free = getattr(pipes.text, "maybe_free_model_hooks", None)
    if hooks_free is not None:
        try:
            hooks_free()
        except (RuntimeError, AttributeError):  # no offload hooks installed
            pass
    gc.collect()
    if pipes.device.type == "cuda":
        torch.cuda.empty_cache()

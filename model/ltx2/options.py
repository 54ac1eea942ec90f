"""Settings of the LTX-2 backend, read from `SORABOX_LTX2_*` environment variables."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from model.generator import GenerationError

PREFIX = "SORABOX_LTX2_"

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class OptionsError(GenerationError, ValueError):
    """A `SORABOX_LTX2_*` variable has a value the backend cannot use; the message names it."""


@dataclass(frozen=True)
class LTX2Options:
    """How the LTX-2 backend runs. Every field has a `SORABOX_LTX2_<FIELD>` variable (see docs/notes/ltx2.md)."""

    # Distilled checkpoints are trained for 8 steps without guidance; the full model for 30 with it. None: read from the
    # folder (model/ltx2/variant.py: its name, its configs' names, its model card's tags).
    distilled: bool | None = None
    steps: int | None = None  # None: 8 when distilled, else 30
    guidance: float | None = None  # video CFG scale; None: 1.0 (off) when distilled, else 3.0
    audio_guidance: float | None = None  # audio CFG scale; None: 1.0 when distilled, else 7.0
    # diffusers' default step adds a spatio-temporal-guidance pass and a modality-isolation pass on top of CFG:
    # four transformer passes a step instead of two (MODELS.md: ~59 s vs ~29 s for a 5 s clip on an H200).
    # Off by default so the default quality fits the speed target; on for the reference look.
    full_guidance: bool = False
    stg_blocks: tuple[int, ...] = (28,)  # transformer blocks perturbed by STG when full_guidance is on
    compile: bool = False  # torch.compile the repeated transformer blocks (about 1.4x, ~20 s once per process)
    fp8: str = "auto"  # "auto" (on where the GPU has fp8 tensor cores), "on", "off": fp8 matmuls in the transformer
    cache: str = "off"  # "taylorseer" predicts some steps' block outputs instead of computing them
    cache_interval: int = 3  # TaylorSeer: full computations are this many steps apart
    vae_tiling: bool = False  # decode the video in tiles: less memory for large clips, a little slower
    cpu_offload: str = "auto"  # "on": diffusers' whole-model CPU offload instead of a memory plan; else the plan
    # How the weights are placed on the card (model/ltx2/memory.py): "auto" picks the fastest plan that fits the card's
    # free memory for the largest clip accepted; "gpu", "text-offload", "fp8", "group-offload" ask for one.
    memory_plan: str = "auto"
    memory_gb: float | None = None  # the memory the plan may use; None: the card's free memory at start
    # How the fp8 plan stores the transformer: "scaled-mm" (fp8 matmuls, GPUs with fp8 tensor cores), "layerwise"
    # (diffusers' layerwise casting: fp8 storage, bf16 compute, any device), "auto" (scaled-mm where it runs)
    fp8_weights: str = "auto"
    enhance_prompt: bool = True  # expand short prompts with the deterministic template (model/ltx2/prompt_enhancer.py)
    device: str = "auto"  # "auto" (cuda when present), "cuda", "cuda:1", "cpu"
    dtype: str = "auto"  # "auto" (bfloat16 on a GPU, float32 on a CPU), "bfloat16", "float16", "float32"
    max_seconds: float = 20.0  # longest clip the backend makes (the model is trained up to 20 s)
    max_pixels: int = 1280 * 736  # largest width x height, after rounding
    max_prompt_tokens: int = 1024  # prompt tokens given to the text encoder (the tokenizer may allow fewer)
    remix_strength: float = 0.6  # how far a remix re-noises the source: 0 keeps it, 1 ignores it
    extend_overlap_frames: int = 17  # source frames an extension starts from (8k+1, the VAE's grid)
    cameo_strength: float = 1.0  # how strictly the first frame follows a cameo's face image
    stitch_crossfade: float = 0.25  # seconds of crossfade between stitched clips
    negative_prompt: str = "worst quality, inconsistent motion, blurry, jittery, distorted"

    def __post_init__(self) -> None:
        _check_choice("fp8", self.fp8, ("auto", "on", "off"))
        _check_choice("cache", self.cache, ("off", "taylorseer"))
        _check_choice("cpu_offload", self.cpu_offload, ("auto", "on", "off"))
        _check_choice("memory_plan", self.memory_plan, ("auto", "gpu", "text-offload", "fp8", "group-offload"))
        _check_choice("fp8_weights", self.fp8_weights, ("auto", "scaled-mm", "layerwise"))
        if self.memory_gb is not None and self.memory_gb <= 0:
            raise OptionsError(f"{PREFIX}MEMORY_GB must be positive, got {self.memory_gb}")
        _check_choice("dtype", self.dtype, ("auto", "bfloat16", "float16", "float32"))
        if self.steps is not None and self.steps < 1:
            raise OptionsError(f"{PREFIX}STEPS must be at least 1, got {self.steps}")
        if not 0.0 < self.remix_strength <= 1.0:
            raise OptionsError(f"{PREFIX}REMIX_STRENGTH must be in (0, 1], got {self.remix_strength}")
        if self.extend_overlap_frames < 1 or (self.extend_overlap_frames - 1) % 8:
            raise OptionsError(
                f"{PREFIX}EXTEND_OVERLAP_FRAMES must be 8k+1 (9, 17, 25...), got {self.extend_overlap_frames}"
            )
        if self.cache_interval < 1:
            raise OptionsError(f"{PREFIX}CACHE_INTERVAL must be at least 1, got {self.cache_interval}")

    @property
    def num_steps(self) -> int:
        return self.steps if self.steps is not None else (8 if self.distilled else 30)

    @property
    def video_guidance(self) -> float:
        return self.guidance if self.guidance is not None else (1.0 if self.distilled else 3.0)

    @property
    def audio_guidance_scale(self) -> float:
        if self.audio_guidance is not None:
            return self.audio_guidance
        return 1.0 if self.distilled else 7.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> LTX2Options:
        """Options from `SORABOX_LTX2_*` variables in `environ`; unset variables keep their defaults."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = environ.get(PREFIX + f.name.upper())
            if raw is None:
                continue
            values[f.name] = _parse(f.name, str(f.type), raw.strip())
        return cls(**values)


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise OptionsError(f"{PREFIX}{name.upper()} must be one of {', '.join(choices)}, got {value!r}")


def _parse(name: str, type_name: str, raw: str) -> Any:
    var = PREFIX + name.upper()
    try:
        if type_name.startswith("bool"):
            if "None" in type_name and raw.lower() == "auto":
                return None
            if raw.lower() in _TRUE:
                return True
            if raw.lower() in _FALSE:
                return False
            raise ValueError(raw)
        if type_name.startswith("int"):
            return None if raw.lower() in ("", "auto", "default") and "None" in type_name else int(raw)
        if type_name.startswith("float"):
            return None if raw.lower() in ("", "auto", "default") and "None" in type_name else float(raw)
        if type_name.startswith("tuple"):
            return tuple(int(x) for x in raw.replace(",", " ").split())
        if type_name == "str" and name in ("fp8", "cpu_offload"):
            # Booleans read naturally for the on/off/auto switches.
            lowered = raw.lower()
            return "on" if lowered in _TRUE else "off" if lowered in _FALSE and lowered else lowered
        if name == "cache" and raw.lower() in _FALSE:
            return "off"
        return raw.lower() if name in ("cache", "dtype", "device", "memory_plan", "fp8_weights") else raw
    except ValueError:
        raise OptionsError(f"{var} has a value I cannot read: {raw!r}") from None

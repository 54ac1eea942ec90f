"""Memory plans: how the LTX-2 weights are placed on a card, each plan's peak memory estimated before loading.

Plans, fastest first (each one trades some speed for memory):

  gpu            every part on the GPU (an 80 GB card and up for LTX-2)
  text-offload   the text encoder lives in CPU memory and is streamed onto the GPU leaf by leaf to encode a prompt
                 (diffusers group offloading with CUDA streams); everything else stays on the GPU
  fp8            text-offload, and the transformer's block weights stored in fp8 (half the bytes)
  group-offload  text-offload, and the transformer's blocks streamed from CPU memory one at a time with CUDA streams,
                 the next block copied while this one computes (24-32 GB cards)

VAE tiling (decode the video in overlapping tiles) is switched on by itself when the whole-frame decode is what does
not fit. The estimate is for the largest clip the backend accepts (SORABOX_LTX2_MAX_PIXELS x MAX_SECONDS), so a plan
that is accepted at start never runs out of memory in the middle of a member's job; a plan that cannot fit is refused
at start with one line naming the card, its free memory, the need and the variable to change.

The activation terms are estimates calibrated on the H200 figures in MODELS.md (a 121x512x768 decode peaks at 7.7 GB,
weights included); the weights are counted exactly from the configs (model/ltx2/sizes.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from model.generator import GenerationError
from model.ltx2.sizes import ModelSizes

PLANS = ("gpu", "text-offload", "fp8", "group-offload")
PLAN_VARIABLE = "SORABOX_LTX2_MEMORY_PLAN"
BUDGET_VARIABLE = "SORABOX_LTX2_MEMORY_GB"
GB = 1e9
HEADROOM = 0.92  # a plan must fit in this share of the free memory: the allocator fragments, kernels want workspace

# A transformer block at inference keeps about this many token x width tensors alive at its peak (residual, norm,
# q/k/v, attention output, the 4x-wide feed-forward input and its GELU): activations per token, in units of the width.
ACTIVATION_WIDTHS = 16
VAE_DECODE_BYTES_PER_PIXEL = 128  # per output pixel and frame: (7.7 GB peak - 2.4 GB weights) / 121x512x768, rounded up
DECODED_BYTES_PER_PIXEL = 18  # the decoded clip itself: 3 channels in bf16 on the GPU and in float32 for postprocess
VAE_TILE = (24, 512, 512)  # frames, height, width a tile decode works on (diffusers' tile size with its overlap)
STREAM_BUFFERS = 2  # group offloading with streams holds the group computing and the one being copied in


@dataclass(frozen=True)
class ClipShape:
    """The clip a plan must hold: sizes after rounding, and whether guidance doubles the batch."""

    width: int
    height: int
    frames: int
    fps: float = 24.0
    guidance: bool = True
    prompt_tokens: int = 1024

    @property
    def video_tokens(self) -> int:
        return ((self.frames - 1) // 8 + 1) * (self.height // 32) * (self.width // 32)

    @property
    def audio_tokens(self) -> int:
        return round(self.frames / self.fps * 25)  # 25 audio latents a second

    @property
    def batch(self) -> int:
        return 2 if self.guidance else 1


@dataclass(frozen=True)
class MemoryEstimate:
    """One plan's estimated peak, and the terms it is made of (bytes), for doctor and the refusal."""

    plan: str
    vae_tiling: bool
    resident: int  # weights on the GPU throughout
    text_encoding: int  # extra while a prompt is encoded
    denoising: int  # extra while the transformer runs
    decoding: int  # extra while the VAE decodes

    @property
    def peak(self) -> int:
        return self.resident + max(self.text_encoding, self.denoising, self.decoding)

    @property
    def peak_gb(self) -> float:
        return self.peak / GB

    def describe(self) -> str:
        tiling = " with VAE tiling" if self.vae_tiling else ""
        return f"plan {self.plan}{tiling}: about {self.peak_gb:.1f} GB at its peak"


class PlanRefused(GenerationError):
    """No memory plan fits the card (or the one asked for does not); the message is the one line an operator needs."""


def estimate(
    plan: str, sizes: ModelSizes, clip: ClipShape, vae_tiling: bool = False, weight_bytes: int = 2
) -> MemoryEstimate:
    """Estimate `plan`'s peak memory for `clip` with weights of `weight_bytes` (2 for bf16)."""
    if plan not in PLANS:
        raise ValueError(f"`plan` must be one of {', '.join(PLANS)}, got {plan!r}")
    block_params = sizes.blocks * sizes.block
    outside_blocks = sizes.transformer - block_params
    if plan in ("gpu", "text-offload"):
        transformer = sizes.transformer * weight_bytes
    elif plan == "fp8":
        transformer = block_params * 1 + outside_blocks * weight_bytes
    else:  # group-offload
        transformer = (outside_blocks + STREAM_BUFFERS * sizes.block) * weight_bytes
    if plan == "gpu":
        text_encoder = sizes.text_encoder * weight_bytes
    else:  # streamed leaf by leaf: the largest leaf (the embedding) and the one being copied in
        text_encoder = STREAM_BUFFERS * sizes.text_largest_leaf * weight_bytes
    resident = transformer + text_encoder + sizes.small_parts * weight_bytes
    return MemoryEstimate(
        plan=plan,
        vae_tiling=vae_tiling,
        resident=resident,
        text_encoding=_text_encoding_bytes(sizes, clip, weight_bytes),
        denoising=_denoising_bytes(sizes, clip, weight_bytes),
        decoding=_decoding_bytes(clip, vae_tiling),
    )


def _text_encoding_bytes(sizes: ModelSizes, clip: ClipShape, weight_bytes: int) -> int:
    # Every layer's hidden states are kept for the connectors, and the LM head's float32 logits are computed too.
    batch = clip.batch
    vocab = sizes.text_largest_leaf // max(1, sizes.text_hidden)
    hidden_states = batch * clip.prompt_tokens * sizes.text_hidden * (sizes.text_layers + 1) * weight_bytes
    logits = batch * clip.prompt_tokens * vocab * 4
    return hidden_states + logits


def _denoising_bytes(sizes: ModelSizes, clip: ClipShape, weight_bytes: int) -> int:
    per_pass = clip.video_tokens * sizes.video_dim + clip.audio_tokens * sizes.audio_dim
    text = clip.prompt_tokens * (sizes.video_dim + sizes.audio_dim) * 2  # the connectors' outputs, video and audio
    return clip.batch * (per_pass * ACTIVATION_WIDTHS + text) * weight_bytes


def _decoding_bytes(clip: ClipShape, vae_tiling: bool) -> int:
    pixels = clip.frames * clip.height * clip.width
    if not vae_tiling:
        return VAE_DECODE_BYTES_PER_PIXEL * pixels
    tile_frames, tile_h, tile_w = VAE_TILE
    tile = min(clip.frames, tile_frames) * min(clip.height, tile_h) * min(clip.width, tile_w)
    return VAE_DECODE_BYTES_PER_PIXEL * tile + DECODED_BYTES_PER_PIXEL * pixels


def fits(estimate_: MemoryEstimate, budget_bytes: float) -> bool:
    return estimate_.peak <= budget_bytes * HEADROOM


def choose_plan(
    sizes: ModelSizes,
    clip: ClipShape,
    budget_bytes: float,
    card: str,
    requested: str = "auto",
    vae_tiling: bool | None = None,
    weight_bytes: int = 2,
) -> MemoryEstimate:
    """The fastest plan whose estimate fits `budget_bytes` (or the `requested` one, if it fits); else PlanRefused.

    `vae_tiling` None lets each plan switch tiling on when the whole-frame decode is what does not fit.
    """
    names = PLANS if requested == "auto" else (requested,)
    if requested != "auto" and requested not in PLANS:
        raise PlanRefused(f"{PLAN_VARIABLE} must be one of auto, {', '.join(PLANS)}, got {requested!r}")
    tilings = (False, True) if vae_tiling is None else (vae_tiling,)
    tried: list[MemoryEstimate] = []
    for name in names:
        for tiling in tilings:
            candidate = estimate(name, sizes, clip, tiling, weight_bytes)
            if fits(candidate, budget_bytes):
                return candidate
            tried.append(candidate)
    smallest = min(tried, key=lambda e: e.peak)
    raise PlanRefused(refusal(card, budget_bytes, smallest, clip, requested))


def refusal(card: str, budget_bytes: float, smallest: MemoryEstimate, clip: ClipShape, requested: str) -> str:
    """The one line that says why the model cannot start on this card, and what to change."""
    need = smallest.peak / HEADROOM / GB
    clip_text = f"{clip.width}x{clip.height} {round(clip.frames / clip.fps, 1):g} s clips"
    if requested != "auto":
        fix = f"set {PLAN_VARIABLE}=auto (or group-offload)"
    else:
        fix = "lower SORABOX_LTX2_MAX_SECONDS or SORABOX_LTX2_MAX_PIXELS, or use a card with more memory"
    return (
        f"the LTX-2 model does not fit on {card} ({budget_bytes / GB:.1f} GB free): {smallest.describe()} for "
        f"{clip_text} needs {need:.1f} GB; {fix} ({BUDGET_VARIABLE} sets the budget)"
    )

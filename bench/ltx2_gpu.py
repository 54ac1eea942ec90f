"""The ltx2 backend against plain diffusers, end to end, on the full-size LTX-2 model with random weights: every speed
lever on and off, and every memory plan, in ONE run on one card.

Speed does not depend on weight values, so every component is built from diffusers' default configs (48-layer
transformer, Gemma-3-12B-sized text encoder, video/audio VAEs, vocoder) straight onto the GPU in bf16; nothing is
downloaded. Runs, in this order (fp8, caching and compilation change the shared modules in place, so the eager bf16
runs come first; each memory plan gets a freshly built model because its offloading hooks cannot be taken back):

  baseline            plain `LTX2Pipeline.__call__` defaults: 30 steps x (CFG batch 2 + STG + modality isolation), eager
  backend_bf16        lever off: this backend, default quality (30 steps, CFG only), bf16 matmuls, eager
  backend_distilled   lever on: the distilled path, 8 steps, no guidance (bf16, eager)
  taylorseer          lever on: the 30-step path with diffusers' TaylorSeer cache (then switched off again)
  backend_fp8         lever on: fp8 (e4m3, row-wise scaled) matmuls in the transformer blocks (where the GPU has them)
  distilled_fp8       the fast path with fp8
  backend_compiled    lever on: `compile_repeated_blocks(fullgraph=True)`, default quality (compile time separate)
  distilled_compiled  the fastest path: distilled + fp8 + compiled
  plan:<name>[@GB]    each memory plan on a fresh model, distilled path, peak memory against its budget; `@24`
                      simulates a 24 GB card with `torch.cuda.set_per_process_memory_fraction`; fp8 appears twice,
                      with scaled-mm and with layerwise casting (which is faster where both work)

Each run is timed end to end: prompt encoding, denoising, video VAE decode, audio VAE decode + vocoder, and H.264/AAC
encoding of the MP4. It reports the median step time, achieved transformer TFLOP/s (FLOPs counted once with
torch.utils.flop_counter), peak GPU memory, and the asyncio event loop's lag while the clip is made in a worker thread
(the service's arrangement). Runs go in priority order under a wall-clock budget (`--budget-s`): what does not fit is
recorded as skipped, never silently dropped. JSON lines go to stdout and all records to $OUT/ltx2_gpu.json.

    python bench/ltx2_gpu.py                          # CUDA, 5 s 768x512 @ 24 fps with audio, everything
    python bench/ltx2_gpu.py --device cpu --tiny      # the tiny random checkpoint on the CPU: checks this script
    python bench/ltx2_gpu.py --variants baseline,backend_distilled --plans none
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from model.generator import CancelToken, Clip, GenerationRequest
from model.ltx2 import LTX2Generator, LTX2Options
from model.ltx2.fp8 import gpu_has_fp8
from model.ltx2.memory import ClipShape, estimate
from model.media import encode_mp4, probe


def _arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", choices=("auto", "cuda", "cpu"), default="auto")
    parser.add_argument("--tiny", action="store_true", help="the tiny random model (a check of this script)")
    parser.add_argument("--variants", help="comma-separated runs (default: all that apply)")
    parser.add_argument("--plans", help="comma-separated memory plans, name[@GB] (default: all; 'none' for none)")
    parser.add_argument("--budget-s", type=float, default=540.0, help="stop starting runs after this many seconds")
    return parser.parse_args(argv)


ARGS = _arguments([] if __name__ != "__main__" else None)
OUT = Path(os.environ.get("OUT", "/tmp"))
TINY = ARGS.tiny or os.environ.get("TINY") == "1"
_WANTED_DEVICE = "cpu" if TINY and ARGS.device == "auto" else ARGS.device
DEVICE = torch.device("cuda" if _WANTED_DEVICE in ("auto", "cuda") and torch.cuda.is_available() else "cpu")
PROMPT = "a drummer plays a fast fill on a red drum kit, cymbals crash, the crowd cheers"
WIDTH, HEIGHT, FRAMES, FPS = (96, 64, 25, 24.0) if TINY else (768, 512, 121, 24.0)
STEPS, DISTILLED_STEPS = (4, 8) if TINY else (30, 8)
PEAK_BF16_TFLOPS = 989.0  # dense bf16 spec of an H100/H200 SXM, for the utilisation figure
ALL_VARIANTS = (
    "baseline",
    "backend_bf16",
    "backend_distilled",
    "taylorseer",
    "backend_fp8",
    "distilled_fp8",
    "backend_compiled",
    "distilled_compiled",
)
# Inductor compiles C++ for the CPU for minutes; the tiny check skips compilation unless --variants names it.
TINY_VARIANTS = tuple(v for v in ALL_VARIANTS if "compiled" not in v)
# Each plan on the distilled path; "@24" simulates a 24 GB card. fp8 twice: fp8 matmuls, then layerwise casting.
ALL_PLANS = (
    "gpu", "text-offload", "fp8:scaled-mm", "fp8:layerwise", "group-offload", "group-offload@24", "fp8@32",
)  # fmt: skip
records: list[dict[str, Any]] = []


def emit(**record: Any) -> None:
    records.append(record)
    print(json.dumps(record), flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "ltx2_gpu.json").write_text(json.dumps(records, indent=1))


def sync() -> None:
    if DEVICE.type == "cuda":
        torch.cuda.synchronize()


def gib(n: float) -> float:
    return round(n / 2**30, 2)


# ------------------------------------------------------------------------------------------------- the model


def gemma3_12b_config(vocab_size: int) -> Any:
    """Gemma-3-12B's shapes (LTX-2's text encoder): 48 layers of width 3840, and its SigLIP vision tower."""
    from transformers import Gemma3Config

    return Gemma3Config(
        text_config={
            "vocab_size": vocab_size,
            "hidden_size": 3840,
            "intermediate_size": 15360,
            "num_hidden_layers": 48,
            "num_attention_heads": 16,
            "num_key_value_heads": 8,
            "head_dim": 256,
            "sliding_window": 1024,
            "query_pre_attn_scalar": 256,
        },
        vision_config={
            "hidden_size": 1152,
            "intermediate_size": 4304,
            "num_hidden_layers": 27,
            "num_attention_heads": 16,
            "image_size": 896,
            "patch_size": 14,
        },
    )


def build_full_pipeline() -> Any:
    """Every LTX-2 component at full size with random weights, built directly on the GPU in bf16."""
    from diffusers import (
        AutoencoderKLLTX2Audio,
        AutoencoderKLLTX2Video,
        LTX2Pipeline,
        LTX2VideoTransformer3DModel,
    )
    from diffusers.pipelines.ltx2 import LTX2TextConnectors
    from diffusers.pipelines.ltx2.vocoder import LTX2Vocoder
    from transformers import Gemma3ForConditionalGeneration

    from model.ltx2.tiny import ltx2_scheduler, tiny_tokenizer

    torch.manual_seed(0)
    tokenizer = tiny_tokenizer(max_length=1024)  # ids are all that matter; 1024 padded tokens, as the real prompt
    torch.set_default_dtype(torch.bfloat16)
    try:
        with DEVICE:
            text_encoder = Gemma3ForConditionalGeneration(gemma3_12b_config(262_208)).eval()
            pipe = LTX2Pipeline(
                scheduler=ltx2_scheduler(),
                # The constructor's default ratio formula counts four halvings; the blocks do three (32x, 8x).
                vae=AutoencoderKLLTX2Video(spatial_compression_ratio=32, temporal_compression_ratio=8).eval(),
                audio_vae=AutoencoderKLLTX2Audio().eval(),
                text_encoder=text_encoder,
                tokenizer=tokenizer,
                connectors=LTX2TextConnectors().eval(),
                transformer=LTX2VideoTransformer3DModel().eval(),
                vocoder=LTX2Vocoder().eval(),
            )
    finally:
        torch.set_default_dtype(torch.float32)
    for module in (pipe.text_encoder, pipe.transformer, pipe.vae, pipe.audio_vae, pipe.connectors, pipe.vocoder):
        module.requires_grad_(False)
    return pipe


def build_pipeline() -> Any:
    if TINY:
        from model.ltx2.tiny import build_tiny_ltx2_pipeline

        return build_tiny_ltx2_pipeline(seed=0)
    return build_full_pipeline()


def transformer_forward_flops(pipe: Any, batch: int) -> int:
    """FLOPs of one transformer forward for this clip at `batch`, counted by torch's FlopCounterMode."""
    from torch.utils.flop_counter import FlopCounterMode

    t = pipe.transformer
    cfg = t.config
    frames = (FRAMES - 1) // pipe.vae_temporal_compression_ratio + 1
    height, width = HEIGHT // pipe.vae_spatial_compression_ratio, WIDTH // pipe.vae_spatial_compression_ratio
    per_second = pipe.audio_sampling_rate / pipe.audio_hop_length / pipe.audio_vae_temporal_compression_ratio
    audio = round(FRAMES / FPS * per_second)
    tokens = min(1024, int(pipe.tokenizer.model_max_length))
    dtype = t.dtype
    text_width = pipe.connectors.config.caption_channels

    def r(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, device=DEVICE, dtype=dtype)

    inputs = dict(
        hidden_states=r(batch, frames * height * width, cfg.in_channels),
        audio_hidden_states=r(batch, audio, cfg.audio_in_channels),
        encoder_hidden_states=r(batch, tokens, text_width),
        audio_encoder_hidden_states=r(batch, tokens, text_width),
        timestep=torch.full((batch,), 500.0, device=DEVICE),
        sigma=torch.full((batch,), 500.0, device=DEVICE),
        encoder_attention_mask=torch.ones(batch, tokens, device=DEVICE, dtype=torch.long),
        audio_encoder_attention_mask=torch.ones(batch, tokens, device=DEVICE, dtype=torch.long),
        num_frames=frames,
        height=height,
        width=width,
        fps=FPS,
        audio_num_frames=audio,
        use_cross_timestep=True,
        return_dict=False,
    )
    counter = FlopCounterMode(display=False)
    with torch.inference_mode(), counter:
        t(**inputs)
    return int(counter.get_total_flops())


# --------------------------------------------------------------------------------------------------- timing


class StepClock:
    """Timestamps at the end of every denoising step (after a device sync, so they are real)."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.marks: list[float] = []

    def __call__(self, step: int, total: int, stage: str = "generating") -> None:
        if stage == "generating":
            sync()
            self.marks.append(time.perf_counter())

    def step_seconds(self) -> list[float]:
        return [b - a for a, b in zip(self.marks, self.marks[1:], strict=False)]


async def run_with_lag_probe(work: Callable[[], Any]) -> tuple[Any, list[float]]:
    """Run `work` in a worker thread (as the service does) while measuring how late the event loop wakes up."""
    lags: list[float] = []
    done = asyncio.Event()

    async def probe_loop() -> None:
        interval = 0.005
        while not done.is_set():
            t = time.perf_counter()
            await asyncio.sleep(interval)
            lags.append(time.perf_counter() - t - interval)

    prober = asyncio.create_task(probe_loop())
    try:
        result = await asyncio.to_thread(work)
    finally:
        done.set()
        await prober
    return result, lags


def lag_summary(lags: list[float]) -> dict[str, float]:
    if not lags:
        return {}
    ordered = sorted(lags)
    return {
        "loop_lag_p50_ms": round(1000 * ordered[len(ordered) // 2], 2),
        "loop_lag_p99_ms": round(1000 * ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))], 2),
        "loop_lag_max_ms": round(1000 * ordered[-1], 2),
    }


def clip_from_pipeline_output(video: Any, audio: Any, sample_rate: int) -> Clip:
    frames = (np.clip(np.asarray(video)[0], 0, 1) * 255).round().astype(np.uint8)
    return Clip(frames=frames, audio=audio[0].float().cpu().numpy(), fps=FPS, sample_rate=sample_rate)


def plain_diffusers(pipe: Any, steps: int, clock: StepClock) -> bytes:
    """What a diffusers user writes: the pipeline's defaults, then an MP4."""
    generator = torch.Generator(device="cpu").manual_seed(0)

    def on_step_end(p: Any, i: int, t: Any, tensors: dict[str, Any]) -> dict[str, Any]:
        clock(i + 1, steps)
        return {}

    video, audio = pipe(
        prompt=PROMPT,
        negative_prompt="worst quality, inconsistent motion, blurry, jittery, distorted",
        width=WIDTH,
        height=HEIGHT,
        num_frames=FRAMES,
        frame_rate=FPS,
        num_inference_steps=steps,
        # diffusers' defaults (CFG 3 / audio 7, STG on block 28, modality isolation 3); a tiny model has one block.
        spatio_temporal_guidance_blocks=[0] if TINY else [28],
        max_sequence_length=min(1024, int(pipe.tokenizer.model_max_length)),
        generator=generator,
        output_type="np",
        return_dict=False,
        callback_on_step_end=on_step_end,
    )
    clip = clip_from_pipeline_output(video, audio, int(pipe.vocoder.config.output_sampling_rate))
    return encode_mp4(clip)


def backend(generator: LTX2Generator, clock: StepClock) -> bytes:
    """This backend as the service runs it: generate, then the MP4 the core stores."""
    request = GenerationRequest(
        kind="generate", prompt=PROMPT, width=WIDTH, height=HEIGHT, seconds=FRAMES / FPS, fps=FPS, seed=0
    )
    clip = generator.generate(request, clock, CancelToken())
    return encode_mp4(clip)


def measure(
    name: str,
    run: Callable[[StepClock], bytes],
    passes_per_step: float,
    flops_b1: int,
    warmup: Callable[[], Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Warm up, then one timed end-to-end run; emits and returns its record."""
    warm_s = 0.0
    if warmup is not None:
        t = time.perf_counter()
        warmup()
        sync()
        warm_s = time.perf_counter() - t
    if DEVICE.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    clock = StepClock()

    def work() -> tuple[bytes, float]:
        clock.start = time.perf_counter()
        data = run(clock)
        sync()
        return data, time.perf_counter() - clock.start

    (data, total_s), lags = asyncio.run(run_with_lag_probe(work))
    info = probe(data)
    steps = clock.step_seconds()
    step_s = statistics.median(steps) if steps else float("nan")
    step_flops = passes_per_step * flops_b1
    record = dict(
        step=name,
        device=torch.cuda.get_device_name(0) if DEVICE.type == "cuda" else "cpu",
        clip=f"{info.width}x{info.height} {info.frame_count} frames @ {info.fps:g} fps "
        f"with {info.audio_seconds:.2f} s of audio",
        steps=len(clock.marks),
        step_s=round(step_s, 4),
        denoise_s=round(clock.marks[-1] - clock.start, 3) if clock.marks else None,
        after_denoise_s=round(clock.start + total_s - clock.marks[-1], 3) if clock.marks else None,  # decode + MP4
        end_to_end_s=round(total_s, 3),
        clip_seconds=round(info.seconds, 3),
        faster_than_playback=total_s < info.seconds,
        transformer_tflops=round(step_flops / step_s / 1e12, 1) if steps else None,
        utilisation_vs_989=round(step_flops / step_s / 1e12 / PEAK_BF16_TFLOPS, 3) if steps else None,
        peak_mem_gib=gib(torch.cuda.max_memory_allocated()) if DEVICE.type == "cuda" else None,
        warmup_s=round(warm_s, 1),
        mp4_bytes=len(data),
        **lag_summary(lags),
        **extra,
    )
    emit(**record)
    return record


class Budget:
    """Wall-clock budget for the whole run: a run starts only if its rough cost still fits."""

    def __init__(self, seconds: float) -> None:
        self.deadline = time.perf_counter() + seconds

    def allows(self, name: str, cost_s: float) -> bool:
        left = self.deadline - time.perf_counter()
        if left >= cost_s:
            return True
        emit(step=name, skipped=f"time: {left:.0f} s left of the budget, about {cost_s:.0f} s needed")
        return False


def _options(**changes: Any) -> LTX2Options:
    steps = {} if changes.get("distilled") else {"steps": STEPS}
    return LTX2Options(**{"fp8": "off", **steps, **changes})


def run_levers(pipe: Any, wanted: list[str], flops_b1: int, budget: Budget) -> dict[str, dict[str, Any]]:
    """Plain diffusers, then each speed lever off and on, on one model (in place: eager bf16 first, compiled last)."""
    results: dict[str, dict[str, Any]] = {}
    # Rough costs on an H100/H200 (MODELS.md), so the budget can skip what would not finish.
    if "baseline" in wanted and budget.allows("baseline", 150 if not TINY else 5):
        # CFG is one batch-2 pass; STG and modality isolation are one batch-1 pass each: 4 batch-1 equivalents.
        results["baseline"] = measure(
            "baseline",
            lambda c: plain_diffusers(pipe, STEPS, c),
            4,
            flops_b1,
            warmup=lambda: plain_diffusers(pipe, 2, StepClock()),
        )

    def variant(
        name: str, options: LTX2Options, passes: float, cost_s: float, after: Callable[[], None] | None = None
    ) -> None:
        if name not in wanted or not budget.allows(name, cost_s if not TINY else 5):
            return
        t = time.perf_counter()
        generator = LTX2Generator.from_pipeline(pipe, options, name="random-full-size" if not TINY else "tiny")
        prepare_s = time.perf_counter() - t
        warm_options = LTX2Options(
            **{
                **options.__dict__,
                "steps": 2 if not options.distilled else 8,
                "compile": False,
                "fp8": "off",
                "cache": "off",
            }
        )
        warm = LTX2Generator.from_pipeline(pipe, warm_options)  # same modules: warms cuDNN and the compiled graphs
        try:
            results[name] = measure(
                name,
                lambda c: backend(generator, c),
                passes,
                flops_b1,
                warmup=lambda: backend(warm, StepClock()),
                speedups=list(generator._pipes.speedups) if generator._pipes else [],
                prepare_s=round(prepare_s, 1),
            )
        finally:
            if after is not None:
                after()

    fp8 = "on" if gpu_has_fp8(DEVICE) or TINY else "off"  # the tiny check runs the fp8 path on the CPU too
    variant("backend_bf16", _options(), 2, 80)
    variant("backend_distilled", _options(distilled=True), 1, 20)
    variant("taylorseer", _options(cache="taylorseer"), 2, 60, after=lambda: pipe.transformer.disable_cache())
    if fp8 == "on":  # fp8 matmul modules replace the bf16 linears in place: from here on the blocks run fp8
        variant("backend_fp8", _options(fp8="on"), 2, 60)
        variant("distilled_fp8", _options(distilled=True, fp8="on"), 1, 15)
    else:
        for name in ("backend_fp8", "distilled_fp8"):
            if name in wanted:
                emit(step=name, skipped="this GPU has no fp8 tensor cores (compute capability < 8.9)")
    # compile_repeated_blocks works in place: compile once, the later variant runs the compiled blocks.
    variant("backend_compiled", _options(compile=True), 2, 90)
    variant("distilled_compiled", _options(distilled=True, compile="backend_compiled" not in results), 1, 40)
    return results


def run_plans(plans: list[str], flops_b1: int, budget: Budget) -> dict[str, dict[str, Any]]:
    """Each memory plan on a freshly built model (offloading hooks cannot be taken back), on the distilled path."""
    results: dict[str, dict[str, Any]] = {}
    total_gb = torch.cuda.get_device_properties(DEVICE).total_memory / 1e9 if DEVICE.type == "cuda" else None
    for spec in plans:
        name = f"plan:{spec}"
        plan, _, simulated = spec.partition("@")
        plan, _, method = plan.partition(":")
        if not budget.allows(name, 90 if not TINY else 5):
            continue
        budget_gb = float(simulated) if simulated else total_gb
        # The plan is chosen for the largest clip the options accept: make that this run's clip, so the estimate and
        # the measured peak are of the same thing.
        options = LTX2Options(
            distilled=True,
            memory_plan=plan,
            memory_gb=budget_gb,
            fp8="auto",
            fp8_weights=method or "auto",
            max_seconds=FRAMES / FPS,
            max_pixels=WIDTH * HEIGHT,
        )
        pipe: Any = build_pipeline()
        pipe.set_progress_bar_config(disable=True)
        generator: LTX2Generator | None = None
        try:
            try:
                generator = LTX2Generator.from_pipeline(pipe, options, name=name)
            except Exception as exc:  # PlanRefused: the estimate says it does not fit; that is a result too
                emit(step=name, refused=str(exc))
                continue
            pipe = None  # the generator holds the modules now; the name must not keep a second reference
            gc.collect()
            if DEVICE.type == "cuda":
                torch.cuda.empty_cache()
                if simulated and total_gb:
                    torch.cuda.set_per_process_memory_fraction(min(1.0, float(simulated) / total_gb))
            tiling = generator.memory.vae_tiling if generator.memory is not None else False
            # The estimator's figure for exactly this clip (the plan's own figure is for its largest clip).
            clip_estimate = estimate(
                plan,
                generator.sizes,
                ClipShape(WIDTH, HEIGHT, FRAMES, FPS, guidance=False),
                tiling,
                2 if DEVICE.type == "cuda" else 4,
            )
            estimate_gb = round(clip_estimate.peak_gb, 2)
            try:
                record = measure(
                    name,
                    lambda c, g=generator: backend(g, c),
                    1,
                    flops_b1,
                    warmup=lambda g=generator: backend(g, StepClock()),
                    speedups=list(generator._pipes.speedups) if generator._pipes else [],
                    budget_gb=budget_gb,
                    estimate_gb=estimate_gb,
                    vae_tiling=tiling,
                )
            except torch.OutOfMemoryError as exc:
                emit(step=name, out_of_memory=str(exc).splitlines()[0], budget_gb=budget_gb, estimate_gb=estimate_gb)
                continue
            if record.get("peak_mem_gib") is not None and budget_gb is not None:
                record["within_budget"] = record["peak_mem_gib"] * 2**30 <= budget_gb * 1e9
                emit(
                    step=f"{name}:budget",
                    within_budget=record["within_budget"],
                    peak_gb=record["peak_mem_gib"] * 2**30 / 1e9,
                    budget_gb=budget_gb,
                    estimate_gb=estimate_gb,
                )
            results[name] = record
        finally:
            if DEVICE.type == "cuda":
                torch.cuda.set_per_process_memory_fraction(1.0)
            generator = None
            pipe = None
            gc.collect()
            if DEVICE.type == "cuda":
                torch.cuda.empty_cache()
    return results


def main() -> None:
    default_variants = ",".join(TINY_VARIANTS if TINY else ALL_VARIANTS)
    wanted = [
        v.strip() for v in (ARGS.variants or os.environ.get("VARIANTS", default_variants)).split(",") if v.strip()
    ]
    plans_arg = ARGS.plans if ARGS.plans is not None else ",".join(ALL_PLANS)
    plans = [] if plans_arg.strip() == "none" else [p.strip() for p in plans_arg.split(",") if p.strip()]
    budget = Budget(ARGS.budget_s)
    import diffusers

    emit(
        step="env",
        torch=torch.__version__,
        cuda=torch.version.cuda,
        diffusers=diffusers.__version__,
        python=sys.version.split()[0],
        device=str(DEVICE),
        tiny=TINY,
        gpu=torch.cuda.get_device_name(0) if DEVICE.type == "cuda" else "cpu",
    )
    t = time.perf_counter()
    pipe = build_pipeline()
    emit(
        step="built",
        seconds=round(time.perf_counter() - t, 1),
        transformer_params_b=round(sum(p.numel() for p in pipe.transformer.parameters()) / 1e9, 3),
        text_encoder_params_b=round(sum(p.numel() for p in pipe.text_encoder.parameters()) / 1e9, 3),
        mem_gib=gib(torch.cuda.memory_allocated()) if DEVICE.type == "cuda" else None,
    )
    pipe.set_progress_bar_config(disable=True)
    flops_b1 = transformer_forward_flops(pipe, 1)
    emit(step="flops", transformer_forward_b1_tflop=round(flops_b1 / 1e12, 3))

    results = run_levers(pipe, wanted, flops_b1, budget)
    del pipe
    gc.collect()
    if DEVICE.type == "cuda":
        torch.cuda.empty_cache()
    results.update(run_plans(plans, flops_b1, budget))

    summary: dict[str, Any] = {"step": "summary"}
    base = results.get("baseline")
    for name, record in results.items():
        summary[f"{name}_end_to_end_s"] = record["end_to_end_s"]
        if base and name != "baseline":
            summary[f"{name}_vs_baseline"] = round(record["end_to_end_s"] / base["end_to_end_s"], 3)
    for lever, off, on in (
        ("fp8", "backend_bf16", "backend_fp8"),
        ("distilled", "backend_bf16", "backend_distilled"),
        ("taylorseer", "backend_bf16", "taylorseer"),
        ("compile", "backend_fp8", "backend_compiled"),
        ("fp8_layerwise_vs_scaled_mm", "plan:fp8:scaled-mm", "plan:fp8:layerwise"),
    ):
        if off in results and on in results:
            summary[f"lever_{lever}_speedup"] = round(results[off]["end_to_end_s"] / results[on]["end_to_end_s"], 3)
    if not TINY:
        best_default = min(
            (results[n]["end_to_end_s"] for n in ("backend_bf16", "backend_fp8", "backend_compiled") if n in results),
            default=None,
        )
        best_distilled = min(
            (
                results[n]["end_to_end_s"]
                for n in ("backend_distilled", "distilled_fp8", "distilled_compiled")
                if n in results
            ),
            default=None,
        )
        if base and best_default is not None:
            summary["target_default_half_of_baseline_met"] = best_default <= 0.5 * base["end_to_end_s"]
        if best_distilled is not None:
            card = torch.cuda.get_device_name(0) if DEVICE.type == "cuda" else ""
            target = 2.5 if "H200" in card else 3.0
            summary[f"target_distilled_{target}_s_met"] = best_distilled <= target
    emit(**summary)


if __name__ == "__main__":
    main()

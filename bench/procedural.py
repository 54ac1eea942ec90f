"""Benchmark the procedural backend: generate + MP4 encode, wall-clock, for the sizes the issue names.

Usage: .venv/bin/python bench/procedural.py [--device cpu|cuda] [--repeats 3] [--seconds 5]
Prints one line per size: best and median wall time, and how many times faster than real time.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import torch

from model.generator import CancelToken, GenerationRequest, no_progress
from model.media import encode_mp4
from model.procedural import ProceduralGenerator

PROMPT = "a red rubber ball falls from two meters and bounces on a concrete floor"
SIZES = ((640, 360, 2.0), (1280, 720, 6.0))  # width, height, target seconds for a 5 s clip
# The actions with their fixtures (issue #19): with --actions each runs once per repeat at every size; the summary
# per size gives the median and the worst over all of them.
ACTION_PROMPTS = (
    "an orange basketball bounces off the backboard",
    "a blue box slides down a wooden ramp",
    "a yellow ball bounces down a flight of stairs",
    "three green tennis balls roll down a ramp",
    "a yellow cube topples down the stairs at night",
    "a glass bottle falls off a table",
    "a red ball and a blue ball collide",
    "a tower of blocks collapses",
    "a wooden cube and a stone ball fall into a pool",
    "a red ball splashes into a pool",
)
# Camera moves (issue #19): with --camera each runs once per repeat at every size; the summary per size gives the
# median and the worst over all of them.
CAMERA_PROMPTS = (
    "a basketball is thrown at the hoop, orbit",
    "a red ball is thrown at the hoop, tracking shot",
    "a red ball bounces, close-up",
    "a red ball rolls down a ramp, wide shot",
    "a yellow ball bounces down the stairs, seen from above",
    "a yellow cube topples down the stairs at night, pan",
)

# People, animals, water and weather (issue #20): with --figures, the same summary over these.
FIGURE_PROMPTS = (
    "a man throws a ball at a wall",
    "a cat jumps onto a sofa",
    "a gymnast does a backflip on a mat",
    "a dog runs along a beach and splashes into the sea",
    "a glass of water is knocked off a kitchen table",
    "it rains on a street at night",
    "a woman walks across the street",
    "a boy kicks a football",
    "a girl waves at the camera",
    "a man falls over",
    "a woman dances in the rain",
    "a horse gallops across a field",
    "a bird flies over the lake",
    "a dog swims in a lake",
    "a child jumps onto a box",
    "a man sits on a sofa",
    "a puppy runs in the snow",
    "a ball splashes into a pool",
    "a bear walks through the snow",
    "a man catches a ball",
)


def run_once(generator: ProceduralGenerator, width: int, height: int, seconds: float, prompt: str) -> float:
    start = time.perf_counter()
    request = GenerationRequest("generate", prompt, width=width, height=height, seconds=seconds)
    clip = generator.generate(request, no_progress, CancelToken())
    encode_mp4(clip)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--prompt", default=PROMPT)
    parser.add_argument("--actions", action="store_true", help="run the action prompts instead of --prompt")
    parser.add_argument("--camera", action="store_true", help="run the camera-move prompts instead of --prompt")
    parser.add_argument("--figures", action="store_true", help="run the people/animal/water prompts instead")
    parser.add_argument("--sizes", default="640x360,1280x720", help="comma-separated WxH (default: both targets)")
    args = parser.parse_args()
    generator = ProceduralGenerator(device=args.device)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"machine: {platform.machine()} {os.cpu_count()} CPUs, torch {torch.__version__} "
          f"threads={torch.get_num_threads()}, device={generator.device}, load(1 min)={load:.2f}")  # fmt: skip
    print(f"prompt: {args.prompt!r}, {args.seconds:g} s clips, best of {args.repeats}")
    run_once(generator, 160, 90, 0.5, args.prompt)  # warm-up: imports, allocator, first encoder setup
    wanted = {tuple(int(v) for v in size.split("x")) for size in args.sizes.split(",")}
    if args.camera or args.figures:
        prompts = FIGURE_PROMPTS if args.figures else CAMERA_PROMPTS
        camera_moves(generator, [s for s in SIZES if (s[0], s[1]) in wanted], args.repeats, args.seconds, prompts)
        return
    if args.actions:
        action_shots(generator, tuple(s for s in SIZES if (s[0], s[1]) in wanted), args.repeats, args.seconds)
        return
    for width, height, target in SIZES:
        times = [run_once(generator, width, height, args.seconds, args.prompt) for _ in range(args.repeats)]
        best, median = min(times), statistics.median(times)
        verdict = "ok" if best <= target * args.seconds / 5.0 else "SLOW"
        print(
            f"{width}x{height}: best {best:.2f} s, median {median:.2f} s "
            f"({args.seconds / best:.1f}x real time; target <= {target * args.seconds / 5.0:.1f} s: {verdict})"
        )


def camera_moves(generator: ProceduralGenerator, sizes: list[tuple[int, int, float]], repeats: int,
                 seconds: float, prompts: tuple[str, ...] = CAMERA_PROMPTS) -> None:  # fmt: skip
    """Each prompt at each size (best of `repeats`), then the median and the worst per size."""
    for width, height, target in sizes:
        limit = target * seconds / 5.0
        best = {}
        for prompt in prompts:
            best[prompt] = min(run_once(generator, width, height, seconds, prompt) for _ in range(repeats))
            print(f"  {width}x{height} {best[prompt]:6.2f} s  {prompt}", flush=True)
        times = list(best.values())
        worst = max(times)
        print(
            f"{width}x{height}: median {statistics.median(times):.2f} s, worst {worst:.2f} s over "
            f"{len(times)} prompts (target <= {limit:.1f} s: {'ok' if worst <= limit else 'SLOW'})"
        )


def action_shots(generator: ProceduralGenerator, sizes: tuple[tuple[int, int, float], ...], repeats: int,
                 seconds: float) -> None:  # fmt: skip
    """Each action prompt at each size (best of `repeats`), then the median and the worst per size."""
    for width, height, target in sizes:
        limit = target * seconds / 5.0
        best = {p: min(run_once(generator, width, height, seconds, p) for _ in range(repeats)) for p in ACTION_PROMPTS}
        for prompt, took in best.items():
            print(f"  {width}x{height} {took:6.2f} s  {prompt}", flush=True)
        worst = max(best.values())
        print(
            f"{width}x{height}: median {statistics.median(best.values()):.2f} s, worst {worst:.2f} s over "
            f"{len(best)} action prompts (target <= {limit:.1f} s: {'ok' if worst <= limit else 'SLOW'})"
        )


if __name__ == "__main__":
    main()

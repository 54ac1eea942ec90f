"""`sorabox doctor`: what this machine has for serving, and the fix for anything that stops it.

It reads, and changes nothing: the GPU (name, driver, CUDA, free memory), the LTX-2 weights folder (complete? which
model?), the memory plan the ltx2 backend would choose with its estimated peak and seconds per default clip, espeak-ng,
PyAV's codecs and the optional extras. The exit status is 1 when something blocks `sorabox serve`, each with its fix.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.settings import Settings

# The default clip a member gets (core.commands.Limits: 5 s, 640x360 rounded to the model's grid).
DEFAULT_CLIP = (640, 352, 121)
EXTRAS = {
    "ltx2": ("diffusers", "transformers", "accelerate", "safetensors"),
    "ray": ("ray",),
    "c2pa": ("c2pa", "cryptography"),
}


@dataclass(frozen=True)
class Finding:
    """One line of the report; `fix` is set when it blocks serving (or, with `blocking` False, is worth doing)."""

    topic: str
    text: str
    fix: str = ""
    blocking: bool = False


@dataclass(frozen=True)
class Gpu:
    name: str
    free_bytes: float
    total_bytes: float


def check_gpu() -> tuple[Finding, Gpu | None]:
    import torch

    if not torch.cuda.is_available():
        return Finding("gpu", f"none: no CUDA GPU is visible to torch {torch.__version__}"), None
    device = torch.device("cuda", torch.cuda.current_device())
    free, total = torch.cuda.mem_get_info(device)
    name = torch.cuda.get_device_name(device)
    driver = _driver_version() or "unknown"
    text = f"{name}, driver {driver}, CUDA {torch.version.cuda}, {free / 1e9:.1f} GB free of {total / 1e9:.1f} GB"
    return Finding("gpu", text), Gpu(name, float(free), float(total))


def _driver_version() -> str | None:
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return None
    try:
        out = subprocess.run(
            [smi, "--query-gpu=driver_version", "--format=csv,noheader"], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip().splitlines()[0] if out.returncode == 0 and out.stdout.strip() else None


def check_model(settings: Settings, model_dir: Path | None, gpu: Gpu | None, wanted: bool) -> list[Finding]:
    """The weights folder and the memory plan; blocking only when the ltx2 backend is what serve would run."""
    try:
        from model.ltx2.folder import ModelFolderError, check_model_folder
        from model.ltx2.memory import GB, ClipShape, PlanRefused, choose_plan
        from model.ltx2.options import LTX2Options, OptionsError
        from model.ltx2.sizes import reference_sizes, sizes_from_folder
        from model.ltx2.speed_estimate import seconds_per_clip
        from model.ltx2.variant import detect_variant
    except ImportError as exc:  # torch missing: the base install is broken
        return [Finding("weights", f"cannot check: {exc}", "pip install sorabox (torch is missing)", True)]
    findings: list[Finding] = []
    if model_dir is None:
        fix = "download the weights and run `sorabox model use DIR` (or set SORABOX_MODEL_DIR)"
        findings.append(Finding("weights", "no model folder configured (model_dir / SORABOX_MODEL_DIR)", fix, wanted))
        sizes, variant_name, distilled, tiny = reference_sizes("2.3"), "LTX-2.3", False, False
    else:
        try:
            folder = check_model_folder(model_dir)
        except ModelFolderError as exc:
            findings.append(Finding("weights", str(exc), _folder_fix(model_dir), wanted))
            return findings
        try:
            options = LTX2Options.from_env(settings.environ)
        except OptionsError as exc:
            return [*findings, Finding("settings", str(exc), "correct that variable", wanted)]
        variant = detect_variant(model_dir, options.distilled)
        sizes = sizes_from_folder(model_dir)
        variant_name, distilled, tiny = variant.name, variant.distilled, folder.is_tiny
        held = (
            f"transformer {_count(sizes.transformer)}, text encoder {_count(sizes.text_encoder)}, "
            f"other parts {_count(sizes.small_parts)} parameters"
        )
        why = "; ".join(variant.evidence)
        note = " (the tiny random model of `sorabox model tiny-ltx2`: its clips are noise)" if tiny else ""
        findings.append(Finding("weights", f"{model_dir}: complete, {variant.name}{note}; {held} ({why})"))
    try:
        options = LTX2Options.from_env(settings.environ)
    except OptionsError as exc:
        return [*findings, Finding("settings", str(exc), "correct that variable", wanted)]
    guided = not distilled and (options.video_guidance > 1.0 or options.audio_guidance_scale > 1.0)
    width = max(64, round((options.max_pixels * 16 / 9) ** 0.5 / 32) * 32)
    largest = ClipShape(
        width, max(64, options.max_pixels // width // 32 * 32), _frames(options.max_seconds), 24.0, guided
    )
    default = ClipShape(*DEFAULT_CLIP, 24.0, guided)
    steps = options.steps or (8 if distilled else 30)
    if gpu is None:
        if options.memory_gb is None:
            # A tiny folder's own sizes say nothing about a real card: show the real model's need.
            real = reference_sizes("2.0" if variant_name.startswith("LTX-2.0") else "2.3") if tiny else sizes
            findings.append(_no_gpu(real, largest, variant_name, tiny, options.device == "cpu", wanted))
            return findings
        gpu = Gpu(f"a card with {options.memory_gb:g} GB (SORABOX_LTX2_MEMORY_GB)", options.memory_gb * GB, 0.0)
    budget = options.memory_gb * GB if options.memory_gb is not None else gpu.free_bytes
    try:
        plan = choose_plan(sizes, largest, budget, gpu.name, options.memory_plan, True if options.vae_tiling else None)
    except PlanRefused as exc:
        findings.append(Finding("plan", str(exc), "see the line above: the variable to change is named", wanted))
        return findings
    seconds = seconds_per_clip(sizes, default, steps, plan.plan, gpu.name)
    speed = f"about {seconds:.0f} s" if seconds is not None else "no time estimate for this card"
    findings.append(
        Finding(
            "plan",
            f"{plan.describe()} for the largest clip accepted ({largest.width}x{largest.height}, "
            f"{options.max_seconds:g} s); {speed} per default clip ({DEFAULT_CLIP[0]}x{DEFAULT_CLIP[1]}, 5 s, "
            f"{steps} steps)",
        )
    )
    return findings


def _count(n: int) -> str:
    return f"{n / 1e9:.2f} B" if n >= 1e8 else f"{n / 1e6:.2f} M"


def _frames(seconds: float) -> int:
    return 8 * max(1, round((seconds * 24.0 - 1) / 8)) + 1


def _no_gpu(sizes: Any, largest: Any, variant_name: str, tiny: bool, cpu_chosen: bool, wanted: bool) -> Finding:
    from model.ltx2.memory import GB, HEADROOM, PLANS, estimate

    smallest = min((estimate(p, sizes, largest, True) for p in PLANS), key=lambda e: e.peak)
    need = (
        f"{variant_name} needs a GPU with at least {smallest.peak / HEADROOM / GB:.1f} GB free ({smallest.describe()})"
    )
    if tiny or cpu_chosen:
        return Finding(
            "plan",
            f"no GPU: runs on the CPU ({'the tiny model' if tiny else 'SORABOX_LTX2_DEVICE=cpu'}); a real {need}",
        )
    return Finding("plan", f"no GPU: the {need}", "run on a machine with such a GPU", wanted)


def _folder_fix(model_dir: Path) -> str:
    return (
        f"finish the download into {model_dir} (huggingface-cli download <repo> --local-dir {model_dir} resumes it), "
        "or point `sorabox model use DIR` at a complete folder"
    )


def check_espeak() -> Finding:
    path = shutil.which("espeak-ng")
    if path:
        return Finding("espeak-ng", f"present ({path})")
    fix = "install it (apt-get install espeak-ng) for spoken lines in procedural clips"
    return Finding("espeak-ng", "missing: spoken lines in procedural clips are left silent", fix)


def check_codecs() -> Finding:
    try:
        import av
    except ImportError as exc:
        return Finding("codecs", f"PyAV is missing ({exc})", "pip install av", True)
    missing = []
    for name in ("libx264", "aac"):
        try:
            av.codec.Codec(name, "w")
        except Exception:  # PyAV raises its own error classes for an unknown codec
            missing.append(name)
    if missing:
        fix = "install a PyAV wheel built with them (pip install --force-reinstall av)"
        return Finding("codecs", f"PyAV {av.__version__} cannot encode {', '.join(missing)}", fix, True)
    return Finding("codecs", f"libx264 and aac encoders present (PyAV {av.__version__})")


def check_extras(backend: str) -> list[Finding]:
    findings = []
    for extra, packages in EXTRAS.items():
        versions = {p: _version(p) for p in packages}
        absent = [p for p, v in versions.items() if v is None]
        present = ", ".join(f"{p} {v}" for p, v in versions.items() if v is not None)
        if not absent:
            findings.append(Finding(f"[{extra}]", f"installed ({present})"))
            continue
        blocking = extra == "ltx2" and backend == "ltx2"
        fix = f"pip install 'sorabox[{extra}]'" if blocking else ""
        findings.append(Finding(f"[{extra}]", f"not installed (missing {', '.join(absent)})", fix, blocking))
    return findings


def _version(package: str) -> str | None:
    if importlib.util.find_spec(package) is None:
        return None
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "present"


def cmd_doctor(args: argparse.Namespace, settings: Settings) -> int:
    model_dir = Path(args.model_dir).expanduser() if args.model_dir else settings.model_dir
    wanted = settings.backend == "ltx2"
    gpu_finding, gpu = check_gpu()
    findings = [gpu_finding, *check_model(settings, model_dir, gpu, wanted), check_espeak(), check_codecs()]
    findings += check_extras(settings.backend)
    out = sys.stdout
    out.write(f"sorabox doctor (backend {settings.backend})\n")
    for finding in findings:
        mark = "✗" if finding.blocking else ("!" if finding.fix else "✓")
        out.write(f"{mark} {finding.topic:<10} {finding.text}\n")
    blocking = [f for f in findings if f.blocking]
    for finding in blocking:
        out.write(f"fix ({finding.topic}): {finding.fix}\n")
    if blocking:
        out.write(f"{len(blocking)} problem{'s block' if len(blocking) > 1 else ' blocks'} serving\n")
        return 1
    out.write("nothing blocks serving\n")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    doctor = sub.add_parser("doctor", help="check the GPU, the weights, the memory plan, codecs and extras")
    doctor.add_argument("--backend", help="the backend to check for (default: the configured one)")
    doctor.add_argument("--model-dir", help="the LTX-2 folder to check (default: model_dir / SORABOX_MODEL_DIR)")
    doctor.set_defaults(func=cmd_doctor)

"""A rough seconds-per-clip figure for `sorabox doctor`, scaled from the H200 measurements in MODELS.md.

Not a benchmark (bench/ltx2_gpu.py is): the transformer's FLOPs for the clip, at the share of the card's bf16 peak
that the eager model reached on an H200 (40 %), plus the weights an offloading plan copies over PCIe each step.
"""

from __future__ import annotations

from model.ltx2.memory import ClipShape
from model.ltx2.sizes import ModelSizes

# Dense bf16 tensor TFLOP/s by card name (vendor specs), the most specific name first.
CARD_BF16_TFLOPS = (
    ("H200", 989.0), ("H100 PCIe", 756.0), ("H100", 989.0), ("B200", 2250.0), ("A100", 312.0), ("L40S", 362.0),
    ("L40", 181.0), ("RTX 6000 Ada", 364.0), ("RTX 5090", 209.0), ("RTX 4090", 165.0), ("RTX 3090", 71.0),
    ("A6000", 155.0), ("A10", 125.0), ("L4", 121.0),
)  # fmt: skip
UTILISATION = 0.40  # eager LTX-2 on an H200: 400 of 989 TFLOP/s (MODELS.md)
REFERENCE_FLOP = 199e12  # one batch-1 forward for a 5 s 768x512 clip (6,144 video tokens), 18.88 B transformer
REFERENCE_TOKENS, REFERENCE_PARAMS = 6144, 18.88e9
DECODE_SECONDS = 0.25  # video + audio decode of that clip on an H200, scaled by the card's rate like the rest
PCIE_BYTES_PER_SECOND = 25e9  # what a PCIe 4/5 x16 link sustains for pinned copies


def card_tflops(card: str) -> float | None:
    return next((tflops for name, tflops in CARD_BF16_TFLOPS if name.lower() in card.lower()), None)


def seconds_per_clip(
    sizes: ModelSizes, clip: ClipShape, steps: int, plan: str, card: str, weight_bytes: int = 2
) -> float | None:
    """Estimated seconds to make `clip` with `plan` on `card`; None for a card this table does not know."""
    tflops = card_tflops(card)
    if tflops is None:
        return None
    rate = tflops * 1e12 * UTILISATION
    flop = REFERENCE_FLOP * (clip.video_tokens / REFERENCE_TOKENS) * (sizes.transformer / REFERENCE_PARAMS)
    compute = flop * clip.batch / rate
    if plan == "group-offload":  # each step copies every block in; streams overlap the copy with the compute
        compute = max(compute, sizes.blocks * sizes.block * weight_bytes / PCIE_BYTES_PER_SECOND)
    seconds = steps * compute + DECODE_SECONDS * 989.0 / tflops
    if plan != "gpu":  # the text encoder is copied in once per clip
        seconds += sizes.text_encoder * weight_bytes / PCIE_BYTES_PER_SECOND
    return seconds

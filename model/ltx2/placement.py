"""Where the pipeline's modules live under a memory plan (model/ltx2/memory.py chooses the plan): all on the card,
the text encoder streamed from CPU memory, transformer blocks streamed too, or the transformer in fp8."""

from __future__ import annotations

from typing import Any

import torch

from model.ltx2.fp8 import gpu_has_fp8, quantize_linears
from model.ltx2.options import LTX2Options


def place_for_plan(
    pipe: Any, plan: str, device: torch.device, dtype: torch.dtype, options: LTX2Options, speedups: list[str]
) -> bool:
    """Put the pipeline's modules where memory plan `plan` says (model/ltx2/memory.py); True when the transformer's
    linear layers were made fp8 matmuls here."""
    if plan == "gpu":
        if device.type != "cpu":
            pipe.to(device)
        speedups.append("memory plan gpu")
        return False
    from diffusers.hooks import apply_group_offloading

    streams = device.type == "cuda"  # copies overlap compute only with CUDA streams
    for name, module in pipe.components.items():
        if isinstance(module, torch.nn.Module) and name not in ("text_encoder", "transformer"):
            module.to(device)
    # The text encoder lives in CPU memory; each leaf is copied in as the prompt reaches it.
    apply_group_offloading(
        pipe.text_encoder,
        onload_device=device,
        offload_device=torch.device("cpu"),
        offload_type="leaf_level",
        use_stream=streams,
    )
    speedups.append(f"memory plan {plan}: text encoder streamed from CPU memory")
    transformer = pipe.transformer
    if plan == "text-offload":
        transformer.to(device)
        return False
    if plan == "group-offload":
        transformer.enable_group_offload(
            onload_device=device,
            offload_device=torch.device("cpu"),
            offload_type="block_level",
            num_blocks_per_group=1,
            use_stream=streams,
        )
        speedups.append("transformer blocks streamed from CPU memory")
        return False
    # fp8: the bf16 transformer never sits on the card whole (it would not fit where this plan is chosen).
    scaled_mm = options.fp8_weights == "scaled-mm" or (
        options.fp8_weights == "auto" and options.fp8 != "off" and gpu_has_fp8(device)
    )
    if scaled_mm:
        count = 0
        for block in transformer.transformer_blocks:  # one bf16 block on the card at a time
            block.to(device)
            count += quantize_linears(block)
        transformer.to(device)
        speedups.append(f"fp8 weights and matmuls in {count} linear layers")
    else:
        # fp8 storage, computed in `dtype`: the memory saving on any device, without fp8 tensor cores. Cast where the
        # weights are, then moved at half the size.
        transformer.enable_layerwise_casting(storage_dtype=torch.float8_e4m3fn, compute_dtype=dtype)
        transformer.to(device)
        speedups.append("fp8 weights (layerwise casting)")
    return True

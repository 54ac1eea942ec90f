"""fp8 matmuls for the transformer's linear layers: e4m3 weights and activations with row-wise scales.

On the model's GEMM shapes an H200 runs `torch._scaled_mm` at 1.6-1.9x the bf16 rate (MODELS.md). Weights are
quantised once at load (halving their memory); activations are quantised per row on the fly.
"""

from __future__ import annotations

import torch
from torch import nn

E4M3_MAX = 448.0  # largest finite float8_e4m3fn value


def gpu_has_fp8(device: torch.device) -> bool:
    """True on GPUs with fp8 tensor cores (compute capability 8.9: Ada, 9.0+: Hopper and later)."""
    if device.type != "cuda" or not torch.cuda.is_available():
        return False
    return torch.cuda.get_device_capability(device) >= (8, 9)


class Fp8Linear(nn.Module):
    """A drop-in for nn.Linear whose matmul runs in fp8 with row-wise scales and accumulates in the input dtype."""

    weight_fp8: torch.Tensor
    weight_scale_bits: torch.Tensor

    def __init__(self, linear: nn.Linear) -> None:
        super().__init__()
        self.in_features = linear.in_features
        self.out_features = linear.out_features
        weight = linear.weight.detach()  # (out, in)
        scale = weight.abs().amax(dim=1, keepdim=True).float().clamp(min=1e-12) / E4M3_MAX  # (out, 1)
        # Stored as raw integers: `Module.to(dtype)` (which `from_pipe` and `pipe.to` call) casts every floating
        # buffer, and would silently widen the fp8 weights to bf16 and round their float32 scales; integer buffers
        # are left alone.
        quantized = (weight.float() / scale).clamp(-E4M3_MAX, E4M3_MAX).to(torch.float8_e4m3fn)
        self.register_buffer("weight_fp8", quantized.view(torch.uint8))  # (out, in)
        self.register_buffer("weight_scale_bits", scale.t().contiguous().view(torch.int32))  # (1, out) float32 bits
        self.bias = None if linear.bias is None else nn.Parameter(linear.bias.detach(), requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape
        rows = x.reshape(-1, shape[-1])  # (N, in)
        scale = rows.abs().amax(dim=1, keepdim=True).float().clamp(min=1e-12) / E4M3_MAX  # (N, 1)
        # Clamped: a value that rounds past 448 would become NaN in e4m3fn, which has no infinity.
        q = (rows.float() / scale).clamp(-E4M3_MAX, E4M3_MAX).to(torch.float8_e4m3fn)
        out_dtype = x.dtype if x.dtype in (torch.bfloat16, torch.float16) else torch.bfloat16
        bias = None if self.bias is None else self.bias.to(out_dtype)
        # mat2 must be column-major: the transpose of a row-major (out, in) weight is.
        weight = self.weight_fp8.view(torch.float8_e4m3fn)
        weight_scale = self.weight_scale_bits.view(torch.float32)
        out = torch._scaled_mm(q, weight.t(), scale_a=scale, scale_b=weight_scale, bias=bias, out_dtype=out_dtype)
        return out.to(x.dtype).reshape(*shape[:-1], self.out_features)


def quantize_linears(module: nn.Module, min_features: int = 16) -> int:
    """Replace every nn.Linear inside `module` whose sizes fp8 GEMMs accept (multiples of 16); return how many."""
    replaced = 0
    for name, child in list(module.named_children()):
        if isinstance(child, nn.Linear):
            if child.in_features % 16 == 0 and child.out_features % 16 == 0 and child.in_features >= min_features:
                setattr(module, name, Fp8Linear(child))
                replaced += 1
        else:
            replaced += quantize_linears(child, min_features)
    return replaced

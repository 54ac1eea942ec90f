"""fp8 row-wise scaled matmuls (torch._scaled_mm runs on the CPU too, so the numerics are checked here)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from model.ltx2.fp8 import Fp8Linear, quantize_linears

pytestmark = pytest.mark.ltx2


def test_an_fp8_linear_stays_within_fp8_rounding_of_the_bf16_one():
    torch.manual_seed(0)
    linear = nn.Linear(256, 128).to(torch.bfloat16)
    x = torch.randn(4, 32, 256, dtype=torch.bfloat16)

    reference = linear(x).float()
    quantized = Fp8Linear(linear)(x).float()

    assert quantized.shape == reference.shape
    relative = (quantized - reference).norm() / reference.norm()
    assert relative < 0.06  # e4m3 keeps 3 mantissa bits: a few percent, not more
    assert relative > 0  # it really ran in fp8


def test_only_layers_with_fp8_friendly_sizes_are_replaced():
    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Sequential(nn.Linear(32, 10), nn.Linear(10, 16)))

    replaced = quantize_linears(model)

    assert replaced == 1
    assert isinstance(model[0], Fp8Linear)
    assert isinstance(model[2][0], nn.Linear) and isinstance(model[2][1], nn.Linear)
    assert model[0].weight_fp8.view(torch.float8_e4m3fn).shape == (32, 64)


def test_fp8_weights_survive_a_pipeline_wide_dtype_cast():
    torch.manual_seed(0)
    linear = nn.Linear(64, 32).to(torch.bfloat16)
    layer = Fp8Linear(linear)
    x = torch.randn(8, 64, dtype=torch.bfloat16)
    before = layer(x)

    layer.to(torch.bfloat16)  # what `from_pipe(dtype=...)` and `pipe.to(dtype)` do to every module

    torch.testing.assert_close(layer(x), before)
    assert layer.weight_fp8.element_size() == 1  # still one byte a weight

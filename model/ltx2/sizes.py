"""How big each part of an LTX-2 checkpoint is, counted from its config files before anything is loaded.

The transformer and the text encoder (about 90 % of the weights) are counted from their configs' dimensions, layer by
layer as diffusers and transformers build them (a test checks the count against the built modules). The smaller parts
(text connectors, video and audio VAEs, vocoder) are counted from their safetensors headers: exact, and read without
loading a tensor. Pure Python: no torch, so `sorabox doctor` answers in a moment.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from model.ltx2.variant import read_config

SMALL_PARTS = ("connectors", "vae", "audio_vae", "vocoder")
_TIMESTEP_FREQ = 256  # diffusers' sinusoidal timestep projection width


@dataclass(frozen=True)
class ModelSizes:
    """Parameter counts of each part, and the dimensions the activation estimate needs."""

    transformer: int
    text_encoder: int
    small_parts: int  # connectors + video VAE + audio VAE + vocoder
    blocks: int  # transformer blocks (what group offloading streams one at a time)
    block: int  # parameters in one transformer block
    video_dim: int  # the transformer's video width (heads x head dim)
    audio_dim: int
    text_hidden: int  # the text encoder's width
    text_layers: int
    text_largest_leaf: int  # the biggest single weight of the text encoder (its embedding), for leaf offloading

    @property
    def total(self) -> int:
        return self.transformer + self.text_encoder + self.small_parts


def _attention(q: int, kv: int, inner: int, out: int, heads: int, gated: bool) -> int:
    """An LTX2Attention: q/k/v/out projections with biases, RMS norms on q and k, optional per-head gate logits."""
    count = (q * inner + inner) + 2 * (kv * inner + inner) + (inner * out + out) + 2 * inner
    return count + (heads * q + heads if gated else 0)


def _feed_forward(dim: int, bias: bool = True) -> int:
    return 8 * dim * dim + (5 * dim if bias else 0)  # dim -> 4 dim -> dim


def _timestep_embedding(dim: int, out: int) -> int:
    """A timestep embedder (256 -> dim -> dim) followed by a linear to `out` modulation values."""
    return (_TIMESTEP_FREQ * dim + dim) + (dim * dim + dim) + (dim * out + out)


def transformer_block_params(config: dict[str, Any]) -> int:
    """Parameters in one LTX2VideoTransformerBlock, from a transformer config (diffusers' defaults fill the gaps)."""
    c = {**_TRANSFORMER_DEFAULTS, **config}
    heads, audio_heads = c["num_attention_heads"], c["audio_num_attention_heads"]
    d, a = heads * c["attention_head_dim"], audio_heads * c["audio_attention_head_dim"]
    gv, ga = bool(c["gated_attn"]), bool(c["audio_gated_attn"])
    mv, ma = bool(c["cross_attn_mod"]), bool(c["audio_cross_attn_mod"])
    count = _attention(d, d, d, d, heads, gv) + _attention(a, a, a, a, audio_heads, ga)  # self-attention
    count += _attention(d, c["cross_attention_dim"], d, d, heads, gv)  # text cross-attention
    count += _attention(a, c["audio_cross_attention_dim"], a, a, audio_heads, ga)
    count += _attention(d, a, a, d, audio_heads, gv) + _attention(a, d, a, a, audio_heads, ga)  # audio<->video
    count += _feed_forward(d, bool(c["ff_bias"])) + _feed_forward(a, bool(c["audio_ff_bias"]))
    count += (9 if mv else 6) * d + (9 if ma else 6) * a  # adaLN tables
    count += (2 * d if mv else 0) + (2 * a if ma else 0) + 5 * d + 5 * a  # prompt and a2v tables
    return count


def transformer_params(config: dict[str, Any]) -> int:
    """Parameters of an LTX2VideoTransformer3DModel built from `config`."""
    c = {**_TRANSFORMER_DEFAULTS, **config}
    d = c["num_attention_heads"] * c["attention_head_dim"]
    a = c["audio_num_attention_heads"] * c["audio_attention_head_dim"]
    mv, ma = bool(c["cross_attn_mod"]), bool(c["audio_cross_attn_mod"])
    out_v = c["out_channels"] or c["in_channels"]
    out_a = c["audio_out_channels"] or c["audio_in_channels"]
    count = c["num_layers"] * transformer_block_params(c)
    count += 2 * d + 2 * a  # output scale-shift tables
    count += (c["in_channels"] * d + d) + (c["audio_in_channels"] * a + a)
    count += (d * out_v + out_v) + (a * out_a + out_a)
    if c["use_prompt_embeddings"]:  # LTX-2.0's caption projections (LTX-2.3 projects in the connectors)
        cc = c["caption_channels"]
        count += (cc * d + d) + (d * d + d) + (cc * a + a) + (a * a + a)
    count += _timestep_embedding(d, (9 if mv else 6) * d) + _timestep_embedding(a, (9 if ma else 6) * a)
    count += _timestep_embedding(d, 4 * d) + _timestep_embedding(a, 4 * a)  # audio-video cross-attention modulation
    count += _timestep_embedding(d, d) + _timestep_embedding(a, a)  # audio-video gates
    if mv and c["use_prompt_adaln_single"]:
        count += _timestep_embedding(d, 2 * d)
    if ma and c["use_prompt_adaln_single"]:
        count += _timestep_embedding(a, 2 * a)
    if c["use_keyframes_abs_pos_embedding"]:
        count += d
    return count


def gemma3_params(config: dict[str, Any]) -> tuple[int, int, int, int]:
    """(parameters, text width, text layers, embedding size) of a Gemma-3 text encoder with its vision tower."""
    text = {**_GEMMA3_TEXT_DEFAULTS, **config.get("text_config", config)}
    h, inter, layers = text["hidden_size"], text["intermediate_size"], text["num_hidden_layers"]
    nh, nkv, hd = text["num_attention_heads"], text["num_key_value_heads"], text["head_dim"]
    embedding = text["vocab_size"] * h  # tied with the LM head
    per_layer = h * nh * hd + 2 * h * nkv * hd + nh * hd * h + 3 * h * inter + 4 * h + 2 * hd
    count = embedding + layers * per_layer + h
    if "vision_config" in config:
        v = {**_SIGLIP_DEFAULTS, **config["vision_config"]}
        hv, iv, patch = v["hidden_size"], v["intermediate_size"], v["patch_size"]
        per_vision_layer = 4 * (hv * hv + hv) + (hv * iv + iv) + (iv * hv + hv) + 4 * hv
        count += v["num_hidden_layers"] * per_vision_layer
        count += v["num_channels"] * patch * patch * hv + hv + (v["image_size"] // patch) ** 2 * hv + 2 * hv
        count += hv * h + hv  # multi-modal projector and its norm
        if v["vision_use_head"]:  # SigLIP's attention-pooling head: probe, attention, norm, MLP
            count += hv + (3 * hv * hv + 3 * hv) + (hv * hv + hv) + 2 * hv + (hv * iv + iv) + (iv * hv + hv)
    return count, h, layers, embedding


def safetensors_params(folder: Path) -> int:
    """Parameters stored in a folder's safetensors files, read from their headers (no tensor is loaded)."""
    total = 0
    for file in sorted(folder.glob("*.safetensors")):
        try:
            with file.open("rb") as handle:
                (length,) = struct.unpack("<Q", handle.read(8))
                header = json.loads(handle.read(length))
        except (OSError, struct.error, json.JSONDecodeError, UnicodeDecodeError):
            continue  # the folder checks name a broken file; the estimate just counts what it can read
        for name, entry in header.items():
            if name != "__metadata__" and isinstance(entry, dict):
                count = 1
                for n in entry.get("shape", []):
                    count *= int(n)
                total += count
    return total


def sizes_from_configs(transformer: dict[str, Any], text_encoder: dict[str, Any], small_parts: int) -> ModelSizes:
    c = {**_TRANSFORMER_DEFAULTS, **transformer}
    text_count, text_hidden, text_layers, embedding = gemma3_params(text_encoder)
    return ModelSizes(
        transformer=transformer_params(c),
        text_encoder=text_count,
        small_parts=small_parts,
        blocks=c["num_layers"],
        block=transformer_block_params(c),
        video_dim=c["num_attention_heads"] * c["attention_head_dim"],
        audio_dim=c["audio_num_attention_heads"] * c["audio_attention_head_dim"],
        text_hidden=text_hidden,
        text_layers=text_layers,
        text_largest_leaf=embedding,
    )


def sizes_from_folder(folder: Path) -> ModelSizes:
    """Count a checkpoint folder's parts from its configs and headers."""
    folder = Path(folder)
    small = sum(safetensors_params(folder / part) for part in SMALL_PARTS)
    return sizes_from_configs(
        read_config(folder / "transformer" / "config.json"), read_config(folder / "text_encoder" / "config.json"), small
    )


# diffusers 0.42's LTX2VideoTransformer3DModel defaults (the LTX-2.0 shape) and transformers' Gemma-3 / SigLIP ones.
_TRANSFORMER_DEFAULTS: dict[str, Any] = {
    "in_channels": 128, "out_channels": 128, "num_attention_heads": 32, "attention_head_dim": 128,
    "cross_attention_dim": 4096, "gated_attn": False, "cross_attn_mod": False, "audio_in_channels": 128,
    "audio_out_channels": 128, "audio_num_attention_heads": 32, "audio_attention_head_dim": 64,
    "audio_cross_attention_dim": 2048, "audio_gated_attn": False, "audio_cross_attn_mod": False, "num_layers": 48,
    "caption_channels": 3840, "use_prompt_embeddings": True, "perturbed_attn": False, "ff_bias": True,
    "audio_ff_bias": True, "use_prompt_adaln_single": True, "use_keyframes_abs_pos_embedding": False,
}  # fmt: skip
_GEMMA3_TEXT_DEFAULTS: dict[str, Any] = {
    "vocab_size": 262_208, "hidden_size": 2304, "intermediate_size": 9216, "num_hidden_layers": 26,
    "num_attention_heads": 8, "num_key_value_heads": 4, "head_dim": 256,
}  # fmt: skip
_SIGLIP_DEFAULTS: dict[str, Any] = {
    "hidden_size": 768, "intermediate_size": 3072, "num_hidden_layers": 12, "num_channels": 3, "image_size": 224,
    "patch_size": 16, "vision_use_head": True,
}  # fmt: skip

# The full-size checkpoints' shapes (diffusers' LTX-2 conversion script; Gemma-3-12B), for estimates without a folder.
LTX2_TRANSFORMER: dict[str, Any] = {}
LTX23_TRANSFORMER: dict[str, Any] = {
    "gated_attn": True, "cross_attn_mod": True, "audio_gated_attn": True, "audio_cross_attn_mod": True,
    "use_prompt_embeddings": False, "perturbed_attn": True,
}  # fmt: skip
GEMMA3_12B: dict[str, Any] = {
    "text_config": {
        "vocab_size": 262_208, "hidden_size": 3840, "intermediate_size": 15360, "num_hidden_layers": 48,
        "num_attention_heads": 16, "num_key_value_heads": 8, "head_dim": 256,
    },
    "vision_config": {
        "hidden_size": 1152, "intermediate_size": 4304, "num_hidden_layers": 27, "num_channels": 3,
        "image_size": 896, "patch_size": 14,
    },
}  # fmt: skip
# Connectors + video VAE + audio VAE + vocoder, counted from the built LTX-2.0 modules (docs/notes/ltx2.md);
# LTX-2.3's connectors are 8 gated layers a modality instead of 2: 3.17 B instead of 1.43 B (counted on meta).
_SMALL_PARTS = {"2.0": 2_760_000_000, "2.3": 4_500_000_000}


def reference_sizes(version: str) -> ModelSizes:
    """The full-size LTX-2.0 or LTX-2.3 checkpoint's sizes, for the plan chooser's tests and doctor without weights."""
    transformer = LTX23_TRANSFORMER if version in ("2.3", "2.5") else LTX2_TRANSFORMER
    return sizes_from_configs(transformer, GEMMA3_12B, _SMALL_PARTS["2.3" if version in ("2.3", "2.5") else "2.0"])

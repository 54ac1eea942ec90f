"""A tiny, randomly initialised LTX-2 folder built offline, so the real load-and-generate path runs on a CPU.

Every component is built from a config (nothing is fetched): a `tokenizers` WordLevel vocabulary wrapped in
`PreTrainedTokenizerFast`, a 2-layer Gemma-3 text encoder with a tiny vision tower, the text connectors, a 1-layer
audio+video transformer, small video/audio VAEs and a small vocoder. The compression ratios (8x32x32 video, 4x audio)
are the real model's, so the size rounding that the backend does is exercised as it is on the real weights.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from model.ltx2.folder import TINY_MARKER

# Words the tiny vocabulary knows; anything else maps to <unk>. Enough for test prompts to tokenize to something.
_WORDS = (
    "a",
    "an",
    "the",
    "of",
    "and",
    "in",
    "on",
    "with",
    "at",
    "to",
    "is",
    "red",
    "blue",
    "green",
    "white",
    "black",
    "ball",
    "drum",
    "drummer",
    "plays",
    "fast",
    "fill",
    "cat",
    "dog",
    "bounces",
    "off",
    "backboard",
    "sings",
    "walks",
    "runs",
    "slow",
    "camera",
    "pans",
    "night",
    "day",
    "rain",
    "sound",
    "music",
    "loud",
    "quiet",
    "person",
    "face",
)
_SPECIAL = ("<pad>", "<eos>", "<bos>", "<unk>")

# Text encoder: hidden 32, 2 layers -> 3 hidden states (embeddings + 2 layers) stacked for the connectors.
TEXT_HIDDEN = 32
TEXT_LAYERS = 2
MAX_PROMPT_TOKENS = 32  # a multiple of the connectors' learnable registers (8)
AUDIO_LATENT_CHANNELS = 2


def tiny_tokenizer(max_length: int = MAX_PROMPT_TOKENS) -> Any:  # a transformers PreTrainedTokenizerFast
    """A WordLevel tokenizer over a few dozen words, padding on the left as Gemma's does."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {tok: i for i, tok in enumerate((*_SPECIAL, *_WORDS))}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = processors.TemplateProcessing(
        single="<bos> $A <eos>",
        pair="<bos> $A <eos> $B:1 <eos>:1",
        special_tokens=[("<bos>", vocab["<bos>"]), ("<eos>", vocab["<eos>"])],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<bos>",
        eos_token="<eos>",
        unk_token="<unk>",
        pad_token="<pad>",
        padding_side="left",
        model_max_length=max_length,
    )


def _text_encoder(vocab_size: int) -> Any:  # a Gemma3ForConditionalGeneration
    from transformers import Gemma3Config, Gemma3ForConditionalGeneration

    config = Gemma3Config(
        text_config={
            "vocab_size": vocab_size,
            "hidden_size": TEXT_HIDDEN,
            "intermediate_size": 64,
            "num_hidden_layers": TEXT_LAYERS,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "head_dim": 8,
            "max_position_embeddings": 256,
            "sliding_window": 64,
            "pad_token_id": 0,
            "bos_token_id": 2,
            "eos_token_id": 1,
        },
        vision_config={
            "hidden_size": 16,
            "intermediate_size": 32,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "image_size": 28,
            "patch_size": 14,
        },
        mm_tokens_per_image=4,
        boi_token_index=vocab_size - 3,
        eoi_token_index=vocab_size - 2,
        image_token_index=vocab_size - 1,
    )
    return Gemma3ForConditionalGeneration(config).eval()


def ltx2_scheduler() -> Any:  # a diffusers FlowMatchEulerDiscreteScheduler
    """LTX-2's own noise schedule: flow matching with the shift that grows with the sequence length."""
    from diffusers import FlowMatchEulerDiscreteScheduler

    return FlowMatchEulerDiscreteScheduler(
        use_dynamic_shifting=True,
        base_shift=0.95,
        max_shift=2.05,
        base_image_seq_len=1024,
        max_image_seq_len=4096,
        shift_terminal=0.1,
    )


def build_tiny_ltx2_pipeline(seed: int = 0, version: str = "2.0") -> Any:  # a diffusers LTX2Pipeline
    """Build the tiny pipeline in memory (float32, CPU), every weight drawn from `seed`.

    `version` "2.3" gives the LTX-2.3 shape, as diffusers' conversion script configures the real one: gated attention,
    prompt-modulated cross-attention and perturbed attention in the transformer (no caption projection there), and
    per-modality text projections in the connectors.
    """
    if version not in ("2.0", "2.3"):
        raise ValueError(f"`version` must be 2.0 or 2.3, got {version!r}")
    v23 = version == "2.3"
    import torch
    from diffusers import (
        AutoencoderKLLTX2Audio,
        AutoencoderKLLTX2Video,
        LTX2Pipeline,
        LTX2VideoTransformer3DModel,
    )
    from diffusers.pipelines.ltx2 import LTX2TextConnectors
    from diffusers.pipelines.ltx2.vocoder import LTX2Vocoder

    torch.manual_seed(seed)
    tokenizer = tiny_tokenizer()
    # Leave room above the vocabulary for Gemma-3's image tokens.
    text_encoder = _text_encoder(vocab_size=len(tokenizer) + 3)
    # LTX-2.0's connectors work at the text width; LTX-2.3's project each modality to the transformer's own widths
    # (video 2 heads x 8, audio 2 heads x 4, as the transformer below).
    connectors = LTX2TextConnectors(
        caption_channels=TEXT_HIDDEN,
        text_proj_in_factor=TEXT_LAYERS + 1,
        video_connector_num_attention_heads=2,
        video_connector_attention_head_dim=8 if v23 else TEXT_HIDDEN // 2,
        video_connector_num_layers=1,
        video_connector_num_learnable_registers=8,
        video_gated_attn=v23,
        audio_connector_num_attention_heads=2,
        audio_connector_attention_head_dim=4 if v23 else TEXT_HIDDEN // 2,
        audio_connector_num_layers=1,
        audio_connector_num_learnable_registers=8,
        audio_gated_attn=v23,
        connector_rope_base_seq_len=MAX_PROMPT_TOKENS,
        per_modality_projections=v23,
        video_hidden_dim=16,
        audio_hidden_dim=8,
        proj_bias=v23,
    )
    # Video VAE with the real 8x32x32 compression: patch 4, three spatial and three temporal halvings.
    vae = AutoencoderKLLTX2Video(
        latent_channels=8,
        block_out_channels=(4, 8, 16, 32),
        decoder_block_out_channels=(16, 32, 64),
        layers_per_block=(1, 1, 1, 1, 1),
        decoder_layers_per_block=(1, 1, 1, 1),
        spatio_temporal_scaling=(True, True, True, True),
        decoder_spatio_temporal_scaling=(True, True, True),
        decoder_inject_noise=(False, False, False, False),
        upsample_residual=(True, True, True),
        upsample_factor=(2, 2, 2),
        timestep_conditioning=False,
        # The constructor's default formula counts four halvings; the encoder's blocks do three of each (as the
        # real checkpoint's config says explicitly).
        spatial_compression_ratio=32,
        temporal_compression_ratio=8,
    )
    # Audio VAE: 16 kHz, hop 160, 64 mel bins, 4x mel and time compression, as the real one.
    # `base_channels` doubles as the size of the packed latent statistics: latent_channels x (mel_bins / 4).
    audio_vae = AutoencoderKLLTX2Audio(
        base_channels=AUDIO_LATENT_CHANNELS * (64 // 4),
        output_channels=2,
        ch_mult=(1, 2, 4),
        num_res_blocks=1,
        attn_resolutions=None,
        in_channels=2,
        resolution=32,
        latent_channels=AUDIO_LATENT_CHANNELS,
        mel_bins=64,
        sample_rate=16000,
        mel_hop_length=160,
    )
    # Vocoder: stereo mel (2 x 64) in, 240 samples per mel frame out (16 kHz / hop 160 -> 24 kHz).
    vocoder = LTX2Vocoder(
        in_channels=128,
        hidden_channels=32,
        out_channels=2,
        upsample_kernel_sizes=[12, 10, 4, 4, 4],
        upsample_factors=[6, 5, 2, 2, 2],
        resnet_kernel_sizes=[3],
        resnet_dilations=[[1]],
        output_sampling_rate=24000,
    )
    transformer = LTX2VideoTransformer3DModel(
        in_channels=8,
        out_channels=8,
        num_attention_heads=2,
        attention_head_dim=8,
        cross_attention_dim=16,
        audio_in_channels=AUDIO_LATENT_CHANNELS * (64 // 4),
        audio_out_channels=AUDIO_LATENT_CHANNELS * (64 // 4),
        audio_num_attention_heads=2,
        audio_attention_head_dim=4,
        audio_cross_attention_dim=8,
        num_layers=1,
        caption_channels=TEXT_HIDDEN,
        gated_attn=v23,
        cross_attn_mod=v23,
        audio_gated_attn=v23,
        audio_cross_attn_mod=v23,
        use_prompt_embeddings=not v23,
        perturbed_attn=v23,
    )
    scheduler = ltx2_scheduler()
    return LTX2Pipeline(
        scheduler=scheduler,
        vae=vae.eval(),  # type: ignore[attr-defined]
        audio_vae=audio_vae.eval(),  # type: ignore[attr-defined]
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        connectors=connectors.eval(),
        transformer=transformer.eval(),  # type: ignore[attr-defined]
        vocoder=vocoder.eval(),
    )


def write_tiny_ltx2(directory: Path, seed: int = 0, version: str = "2.0", distilled: bool = False) -> None:
    """Write a tiny random LTX-2 folder to `directory` (created if needed); loads like a downloaded checkpoint.

    A distilled one says so where a downloaded distilled checkpoint does: in its model card's tags (README.md front
    matter, as the Hugging Face hub writes it) and its `_name_or_path`.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    pipe = build_tiny_ltx2_pipeline(seed, version)
    pipe.save_pretrained(str(directory), safe_serialization=True)
    name = f"sorabox/tiny-ltx-{version}{'-distilled' if distilled else ''}"
    index_path = directory / "model_index.json"
    index = json.loads(index_path.read_text())
    index["_name_or_path"] = name
    index_path.write_text(json.dumps(index, indent=2) + "\n")
    tags = ["ltx-2", "text-to-video", "text-to-audio"] + (["distilled"] if distilled else [])
    (directory / "README.md").write_text(
        "---\n" + "tags:\n" + "".join(f"- {tag}\n" for tag in tags) + "---\n\n"
        f"# {name}\n\nA tiny random LTX-{version} model for dry runs and tests.\n"
    )
    (directory / TINY_MARKER).write_text(
        f"A tiny, randomly initialised LTX-{version}{' distilled' if distilled else ''} model written by "
        f"`sorabox model tiny-ltx2` (seed {seed}).\n"
        "It runs the real load-and-generate path in seconds; its pictures and sounds are noise.\n"
    )

"""Which LTX-2 checkpoint a folder holds (LTX-2.0, 2.3 or 2.5; full or distilled), read from its files before loading.

The version is in the configs: diffusers' conversion script gives LTX-2.3 gated attention, prompt-modulated
cross-attention and perturbed attention in the transformer (`gated_attn`, `cross_attn_mod`, `perturbed_attn`, no
`use_prompt_embeddings`) and per-modality text projections in the connectors (`per_modality_projections`); LTX-2.5
adds a keyframe position embedding and drops the video feed-forward bias. A distilled checkpoint has the same configs
as the full one (only its weights differ), so it is known by its name: the folder's name, a `_name_or_path` in its
configs, or the `distilled` tag in its model card (README.md front matter, as the Hugging Face hub writes it).
`SORABOX_LTX2_DISTILLED` overrides the guess either way.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Steps and guidance each kind is trained for (diffusers' LTX-2 docs; MODELS.md).
FULL_STEPS, DISTILLED_STEPS = 30, 8
FULL_GUIDANCE, FULL_AUDIO_GUIDANCE = 3.0, 7.0


@dataclass(frozen=True)
class ModelVariant:
    """What a folder holds and how it should be sampled; `evidence` says how each part was decided."""

    version: str  # "2.0", "2.3" or "2.5"
    distilled: bool
    evidence: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return f"LTX-{self.version}{' distilled' if self.distilled else ''}"

    @property
    def steps(self) -> int:
        return DISTILLED_STEPS if self.distilled else FULL_STEPS

    @property
    def guidance(self) -> float:
        return 1.0 if self.distilled else FULL_GUIDANCE


def read_config(path: Path) -> dict[str, Any]:
    """A JSON config as a dict; an empty one when it is missing or unreadable (the folder checks report those)."""
    try:
        value = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return {}
    return value if isinstance(value, dict) else {}


def version_from_configs(transformer: dict[str, Any], connectors: dict[str, Any]) -> tuple[str, str]:
    """The LTX-2 version a transformer and connectors config describe, and the fields that said so."""
    if transformer.get("use_keyframes_abs_pos_embedding") or transformer.get("ff_bias") is False:
        return "2.5", "transformer/config.json has the keyframe position embedding or no video FF bias (LTX-2.5)"
    markers = [key for key in ("gated_attn", "cross_attn_mod", "perturbed_attn") if transformer.get(key)] + (
        ["no use_prompt_embeddings"] if transformer.get("use_prompt_embeddings") is False else []
    )
    if connectors.get("per_modality_projections"):
        markers.append("connectors: per_modality_projections")
    if markers:
        return "2.3", f"LTX-2.3 configs ({', '.join(markers)})"
    return "2.0", "LTX-2.0 configs (no gated or prompt-modulated attention)"


_DISTILLED = re.compile(r"(?<![a-z])distill(ed)?(?![a-z])", re.IGNORECASE)


def distilled_evidence(folder: Path, index: dict[str, Any]) -> str | None:
    """Where the folder says it is a distilled checkpoint, or None when nothing does."""
    if _DISTILLED.search(folder.name.replace("_", "-")):
        return f"the folder's name ({folder.name})"
    names = [("model_index.json", index)] + [
        (f"{part}/config.json", read_config(folder / part / "config.json")) for part in ("transformer", "connectors")
    ]
    for where, config in names:
        named = str(config.get("_name_or_path", ""))
        if _DISTILLED.search(named):
            return f"{where} names {named}"
    card = folder / "README.md"
    if card.is_file():
        try:
            text = card.read_text(errors="replace")
        except OSError:
            text = ""
        # Only the front matter: a full model's card may well mention its distilled sibling in the prose.
        front = text.split("---", 2)[1] if text.startswith("---") and text.count("---") >= 2 else ""
        if _DISTILLED.search(front):
            return "its model card (README.md) is tagged distilled"
    return None


def detect_variant(folder: Path, distilled: bool | None = None) -> ModelVariant:
    """Read which checkpoint `folder` holds; `distilled` (SORABOX_LTX2_DISTILLED) overrides the name-based guess."""
    folder = Path(folder)
    index = read_config(folder / "model_index.json")
    version, why = version_from_configs(
        read_config(folder / "transformer" / "config.json"), read_config(folder / "connectors" / "config.json")
    )
    evidence = [why]
    if distilled is not None:
        evidence.append(f"SORABOX_LTX2_DISTILLED={'1' if distilled else '0'}")
        return ModelVariant(version, distilled, tuple(evidence))
    found = distilled_evidence(folder, index)
    evidence.append(f"distilled: {found}" if found else "full: nothing names it distilled")
    return ModelVariant(version, found is not None, tuple(evidence))

"""Checks that a folder holds a complete LTX-2 checkpoint in diffusers' layout, before anything is loaded."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from model.generator import GenerationError

# Pipelines whose folders hold the LTX-2 components this backend needs.
LTX2_PIPELINES = ("LTX2Pipeline", "LTX2ImageToVideoPipeline", "LTX2ConditionPipeline")
REQUIRED_COMPONENTS = (
    "scheduler",
    "tokenizer",
    "text_encoder",
    "connectors",
    "transformer",
    "vae",
    "audio_vae",
    "vocoder",
)
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth")
_TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "spiece.model")
# Written by `sorabox model tiny-ltx2` beside the components: a random model whose clips are noise.
TINY_MARKER = "sorabox-tiny-model.txt"


class ModelFolderError(GenerationError):
    """The model folder is missing, incomplete or holds another model; the message names the missing part."""


@dataclass(frozen=True)
class ModelFolder:
    """A folder that passed the checks: its path and the pipeline class its model_index.json names."""

    path: Path
    pipeline_class: str

    @property
    def is_tiny(self) -> bool:
        """Whether this is the tiny random model of `sorabox model tiny-ltx2` (a dry run: its clips are noise)."""
        return (self.path / TINY_MARKER).is_file()


def check_model_folder(path: Path) -> ModelFolder:
    """Raise ModelFolderError naming the first missing part of an LTX-2 folder; return it when complete."""
    path = Path(path).expanduser()
    if not path.exists():
        raise ModelFolderError(
            f"the LTX-2 model folder {path} does not exist: download the weights there "
            "or point SORABOX_MODEL_DIR at them"
        )
    if not path.is_dir():
        raise ModelFolderError(f"the LTX-2 model path {path} is a file, not a folder")
    index_path = path / "model_index.json"
    if not index_path.is_file():
        raise ModelFolderError(
            f"the LTX-2 model folder {path} has no model_index.json: it is not a diffusers model folder, "
            "or its download is incomplete"
        )
    try:
        index = json.loads(index_path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelFolderError(f"{index_path} cannot be read ({exc}): the download may be incomplete") from exc
    pipeline_class = str(index.get("_class_name", ""))
    if pipeline_class not in LTX2_PIPELINES:
        raise ModelFolderError(
            f"the model folder {path} holds a {pipeline_class or 'unnamed'} model, not LTX-2 "
            f"(model_index.json names {pipeline_class or 'no pipeline'}; expected one of {', '.join(LTX2_PIPELINES)})"
        )
    partial = sorted(p for p in path.rglob("*.incomplete"))
    if partial:
        raise ModelFolderError(
            f"the download into {path} is incomplete: {partial[0].relative_to(path)} is still a partial file"
        )
    for component in REQUIRED_COMPONENTS:
        entry = index.get(component)
        if not isinstance(entry, list) or len(entry) != 2 or entry[0] is None:
            raise ModelFolderError(f"the LTX-2 model folder {path} has no `{component}` in model_index.json")
        _check_component(path, component)
    return ModelFolder(path=path, pipeline_class=pipeline_class)


def _check_component(root: Path, component: str) -> None:
    folder = root / component
    if not folder.is_dir():
        raise ModelFolderError(f"the LTX-2 model folder {root} is incomplete: the `{component}/` folder is missing")
    if component == "scheduler":
        _require(root, folder / "scheduler_config.json")
        return
    if component == "tokenizer":
        if not any((folder / name).is_file() for name in _TOKENIZER_FILES):
            raise ModelFolderError(
                f"the LTX-2 model folder {root} is incomplete: tokenizer/ has none of {', '.join(_TOKENIZER_FILES)}"
            )
        return
    _require(root, folder / "config.json")
    indexes = sorted(folder.glob("*.index.json"))
    for shard_index in indexes:
        try:
            weight_map = json.loads(shard_index.read_text()).get("weight_map", {})
        except (OSError, json.JSONDecodeError) as exc:
            raise ModelFolderError(f"{shard_index} cannot be read ({exc}): the download may be incomplete") from exc
        for shard in sorted(set(weight_map.values())):
            _require(root, folder / shard)
    if not indexes and not any(p.suffix in _WEIGHT_SUFFIXES and p.stat().st_size > 0 for p in folder.iterdir()):
        raise ModelFolderError(f"the LTX-2 model folder {root} is incomplete: {component}/ has no weights file")


def _require(root: Path, file: Path) -> None:
    if not file.is_file() or file.stat().st_size == 0:
        raise ModelFolderError(f"the LTX-2 model folder {root} is incomplete: {file.relative_to(root)} is missing")

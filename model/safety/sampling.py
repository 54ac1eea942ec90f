"""Which frames of a clip the detector looks at."""

from __future__ import annotations

import numpy as np


def sample_indices(total: int, budget: int) -> np.ndarray:
    """At most `budget` frame indices spread evenly over `total` frames, first and last included, ascending.

    Spread rather than the first few: what a video model makes can change within a clip, and a still opening
    says nothing of the end. Every frame is checked when the clip is no longer than the budget.
    """
    if total < 1:
        raise ValueError(f"`total` must be at least 1, got {total}")
    if budget < 1:
        raise ValueError(f"`budget` must be at least 1, got {budget}")
    if total <= budget:
        return np.arange(total)
    # (budget,) rounded positions on [0, total - 1]; distinct because total > budget.
    return np.unique(np.round(np.linspace(0, total - 1, budget)).astype(np.int64))

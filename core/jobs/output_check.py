"""The output check: before a clip is stored, a detector looks at its frames, and a clip over a threshold is refused.

Prompt moderation (core/jobs/moderation.py) reads what people ask for; a generative model can still make nudity from
an innocent prompt, so the frames it made are checked too. The policy here decides whether the check runs for a
backend (`SORABOX_OUTPUT_CHECK` = on | off | auto; auto runs it for the generative backends only, not for the
procedural renderer, which draws nothing but its own shapes), which thresholds refuse a clip
(`SORABOX_OUTPUT_CHECK_THRESHOLDS`, e.g. `nsfw=0.5`) and how many frames are looked at
(`SORABOX_OUTPUT_CHECK_FRAMES`). A refused clip is never stored or posted: the job ends with its credits refunded,
and a `refusal` audit row (where = "output") puts the reason on the admins' page.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from core.errors import SoraboxError
from core.jobs import store as jobstore
from core.records import JobRecord
from model.generator import Clip
from model.safety import DEFAULT_FRAME_BUDGET, DETECTOR_CLASSES, Verdict, check_frames, load_detector

if TYPE_CHECKING:
    from core.kernel import Kernel

log = logging.getLogger(__name__)

MODES = ("on", "off", "auto")
# Backends that run a generative model, whose output nobody drew: `auto` checks these.
GENERATIVE_BACKENDS = ("ltx2",)
DEFAULT_DETECTOR = "open_nsfw"
# open_nsfw's own decision point. Yahoo reads < 0.2 as safe and > 0.8 as NSFW with high probability; between the two
# we lean towards refusing, because a refused clip costs its requester nothing (it is refunded) and a posted one
# cannot be taken back from every chat it reached. The astronaut picture scores 0.03, far below.
DEFAULT_THRESHOLDS: Mapping[str, float] = {"nsfw": 0.5}
# How each class is named to people (the requester's answer and the admins' page).
LABELS: Mapping[str, str] = {"nsfw": "nudity or sexual content"}


class OutputRefused(SoraboxError):
    """The output check refused the clip; the job ends and its credits are refunded."""

    def __init__(self, refusal: OutputRefusal) -> None:
        super().__init__(f"this clip was not posted: the output check found {refusal.label}")
        self.refusal = refusal


@dataclass(frozen=True)
class OutputRefusal:
    """The class that crossed its threshold, by how much, and in which frame."""

    detector: str
    category: str
    score: float
    threshold: float
    frame: int

    @property
    def label(self) -> str:
        return LABELS.get(self.category, self.category)

    @property
    def reason(self) -> str:
        """For the admins: what, how sure, against which threshold, where."""
        return (
            f"output check ({self.detector}): {self.label}, {self.category} {self.score:.2f} "
            f">= {self.threshold:.2f} in frame {self.frame}"
        )


@dataclass(frozen=True)
class OutputCheckPolicy:
    mode: str = "auto"
    thresholds: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_THRESHOLDS))
    frames: int = DEFAULT_FRAME_BUDGET
    detector: str = DEFAULT_DETECTOR

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"`mode` must be one of {', '.join(MODES)}, got {self.mode!r}")
        if self.frames < 1:
            raise ValueError(f"`frames` must be at least 1, got {self.frames}")
        known = DETECTOR_CLASSES.get(self.detector)
        if known is None:
            raise ValueError(f"`detector` must be one of {', '.join(DETECTOR_CLASSES)}, got {self.detector!r}")
        for name, value in self.thresholds.items():
            if name not in known:
                raise ValueError(f"{self.detector} has no class {name!r}; its classes: {', '.join(known)}")
            if not 0.0 < value <= 1.0:
                raise ValueError(f"the threshold of {name!r} must be in (0, 1], got {value}")

    @classmethod
    def from_environ(cls, env: Mapping[str, str]) -> OutputCheckPolicy:
        """The policy from `SORABOX_OUTPUT_CHECK*` variables; SettingsError names the variable that is wrong."""
        from core.settings import SettingsError  # core.settings builds this policy: imported late, no cycle

        mode = env.get("SORABOX_OUTPUT_CHECK", "").strip().lower() or "auto"
        if mode not in MODES:
            raise SettingsError(f"SORABOX_OUTPUT_CHECK must be on, off or auto, got {mode!r}")
        raw_frames = env.get("SORABOX_OUTPUT_CHECK_FRAMES", "").strip()
        try:
            frames = int(raw_frames) if raw_frames else DEFAULT_FRAME_BUDGET
        except ValueError:
            raise SettingsError(f"SORABOX_OUTPUT_CHECK_FRAMES must be a whole number, got {raw_frames!r}") from None
        if frames < 1:
            raise SettingsError(f"SORABOX_OUTPUT_CHECK_FRAMES must be at least 1, got {raw_frames!r}")
        thresholds = dict(DEFAULT_THRESHOLDS)
        known = DETECTOR_CLASSES[DEFAULT_DETECTOR]
        raw = env.get("SORABOX_OUTPUT_CHECK_THRESHOLDS", "").strip()
        for item in filter(None, (part.strip() for part in raw.split(","))):
            name, sep, value = item.partition("=")
            name = name.strip()
            if not sep or name not in known:
                raise SettingsError(
                    f"SORABOX_OUTPUT_CHECK_THRESHOLDS takes class=threshold pairs for the classes "
                    f"{', '.join(known)}, got {item!r}"
                )
            try:
                number = float(value)
            except ValueError:
                number = -1.0
            if not 0.0 < number <= 1.0:
                raise SettingsError(f"SORABOX_OUTPUT_CHECK_THRESHOLDS: {name} must be in (0, 1], got {value.strip()!r}")
            thresholds[name] = number
        return cls(mode=mode, thresholds=thresholds, frames=frames)

    def applies_to(self, backend: str) -> bool:
        """Whether clips of this backend are checked."""
        if self.mode == "auto":
            return backend in GENERATIVE_BACKENDS
        return self.mode == "on"

    def judge(self, verdict: Verdict) -> OutputRefusal | None:
        """The class furthest over its threshold (a score at the threshold counts as over), or None."""
        worst: OutputRefusal | None = None
        for name, threshold in self.thresholds.items():
            score = verdict.scores.get(name)
            if score is None or score < threshold:
                continue
            if worst is None or score - threshold > worst.score - worst.threshold:
                worst = OutputRefusal(verdict.detector, name, score, threshold, _worst_frame(verdict, name))
        return worst


def _worst_frame(verdict: Verdict, category: str) -> int:
    """The checked frame with the highest score in one class."""
    scores = [verdict.frame_scores(i)[category] for i in verdict.frames_checked]
    return verdict.frames_checked[scores.index(max(scores))]


async def screen(kernel: Kernel, job: JobRecord, clip: Clip) -> None:
    """Check a finished clip before it is encoded and stored; raise OutputRefused (after auditing it) to refuse it.

    Fails closed: when the check is on and the detector cannot load, the error reaches the runner and the job fails
    (refunded) rather than posting an unchecked clip.
    """
    policy = kernel.settings.output_check
    backend = kernel.executor.backend
    if not policy.applies_to(backend):
        return
    detector = await asyncio.to_thread(load_detector, policy.detector)
    verdict = await asyncio.to_thread(check_frames, clip.frames, budget=policy.frames, detector=detector)
    refusal = policy.judge(verdict)
    scores = ", ".join(f"{name} {score:.3f}" for name, score in verdict.scores.items())
    log.info("output check of job %s (%s, %d frames): %s", job.id, backend, len(verdict.frames_checked), scores)
    if refusal is None:
        return
    now = kernel.now()
    await kernel.db.write(
        lambda db: jobstore.audit(
            db,
            "refusal",
            now,
            user_id=job.user_id,
            job_id=job.id,
            where="output",
            category=f"output: {refusal.label}",
            reason=refusal.reason,
            detector=refusal.detector,
            score=round(refusal.score, 4),
            threshold=refusal.threshold,
            frame=refusal.frame,
            backend=backend,
            platform=job.origin.platform,
            prompt=job.prompt[:200],
        )
    )
    raise OutputRefused(refusal)

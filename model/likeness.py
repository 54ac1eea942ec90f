"""Checks on a cameo's reference video: it decodes, it has sound, a face is visible, someone speaks.

These say that a face and a voice are present, nothing more: they are not an identity proof (the
owner's account is the identity). Faces: OpenCV's bundled frontal-face Haar cascade (Viola–Jones
2001) on frames sampled evenly through the video. Speech: the Silero VAD model shipped in the
`silero-vad` wheel, on the audio resampled to 16 kHz mono.
"""

from __future__ import annotations

import io
import threading
import wave
from dataclasses import dataclass, field
from typing import Any

import av
import cv2
import numpy as np

from model.media import MediaError, decode_audio, probe

VAD_RATE = 16_000


class LikenessError(Exception):
    """The reference video was refused; the message says why and what to do, safe to show a user."""


@dataclass(frozen=True)
class LikenessPolicy:
    """What a reference video must show. Defaults follow the issue: 3–15 s, a face in most frames, speech."""

    min_seconds: float = 3.0
    max_seconds: float = 15.0
    max_bytes: int = 50 * 1024 * 1024
    # Frames looked at; more costs time (about 15 ms each at 480 px) without changing the verdict.
    sample_frames: int = 12
    # "Most sampled frames": a person who turns away now and then still passes.
    min_face_fraction: float = 0.6
    min_speech_seconds: float = 0.8
    # Detection runs on frames scaled to this width: the cascade's cost grows with pixels.
    detect_width: int = 480
    face_size: int = 256
    max_voice_seconds: float = 10.0


@dataclass(frozen=True)
class Likeness:
    """What a reference video yields: a face crop (RGB uint8) and the voiced audio (mono float32)."""

    face: np.ndarray  # (S, S, 3) uint8 RGB
    voice: np.ndarray  # (samples,) float32 at `sample_rate`
    sample_rate: int = VAD_RATE
    checks: dict[str, Any] = field(default_factory=dict)


def _frames_at(data: bytes, times: list[float], width: int) -> list[np.ndarray]:
    """RGB frames nearest to `times` (seconds), scaled to `width`, decoding the file once."""
    container: Any = av.open(io.BytesIO(data))
    picked: list[np.ndarray] = []
    try:
        stream = container.streams.video[0]
        wanted = iter(sorted(times))
        target = next(wanted, None)
        for frame in container.decode(stream):
            if target is None:
                break
            if frame.time is None or frame.time + 1e-6 < target:
                continue
            height = max(2, round(frame.height * width / frame.width))
            picked.append(frame.to_ndarray(format="rgb24", width=width, height=height))
            target = next(wanted, None)
            while target is not None and frame.time + 1e-6 >= target:
                target = next(wanted, None)
    finally:
        container.close()
    return picked


class LikenessChecker:
    """Runs the checks; holds the cascade and the VAD model so they load once per service."""

    def __init__(self, policy: LikenessPolicy | None = None) -> None:
        self.policy = policy or LikenessPolicy()
        self._cascade = cv2.CascadeClassifier(
            cv2.data.haarcascades + "haarcascade_frontalface_default.xml"  # type: ignore[attr-defined]
        )
        if self._cascade.empty():
            raise RuntimeError("OpenCV's frontal-face cascade did not load (opencv-python-headless 4.x has it)")
        self._vad: Any = None
        # The VAD model keeps state between calls: one check at a time per checker.
        self._lock = threading.Lock()

    # -- faces --------------------------------------------------------------------------------------

    def faces(self, rgb: np.ndarray) -> list[tuple[int, int, int, int]]:
        """Face boxes (x, y, w, h) in an RGB frame, largest first."""
        gray = cv2.equalizeHist(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))
        smallest = max(24, min(gray.shape) // 8)
        found = self._cascade.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5, minSize=(smallest, smallest))
        boxes = [(int(x), int(y), int(w), int(h)) for x, y, w, h in found] if len(found) else []
        return sorted(boxes, key=lambda b: -b[2] * b[3])

    def crop(self, rgb: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
        """A square crop around the face with some margin (hair, chin), resized to `face_size`."""
        x, y, w, h = box
        side = int(max(w, h) * 1.4)
        cx, cy = x + w // 2, y + h // 2
        x0, y0 = max(0, cx - side // 2), max(0, cy - side // 2)
        x1, y1 = min(rgb.shape[1], x0 + side), min(rgb.shape[0], y0 + side)
        size = self.policy.face_size
        return cv2.resize(np.ascontiguousarray(rgb[y0:y1, x0:x1]), (size, size), interpolation=cv2.INTER_AREA)

    # -- speech -------------------------------------------------------------------------------------

    def speech(self, mono16k: np.ndarray) -> list[tuple[int, int]]:
        """(start, end) sample ranges where someone speaks, at 16 kHz."""
        import torch
        from silero_vad import get_speech_timestamps, load_silero_vad

        if self._vad is None:
            self._vad = load_silero_vad()
        stamps = get_speech_timestamps(
            torch.from_numpy(np.ascontiguousarray(mono16k)), self._vad, sampling_rate=VAD_RATE
        )
        return [(int(s["start"]), int(s["end"])) for s in stamps]

    # -- the whole check ----------------------------------------------------------------------------

    def check(self, data: bytes) -> Likeness:
        """Check a reference video; raises LikenessError with the first problem found. Thread-safe."""
        with self._lock:
            return self._check(data)

    def _check(self, data: bytes) -> Likeness:
        policy = self.policy
        if len(data) > policy.max_bytes:
            raise LikenessError(
                f"the video is {len(data) // 1_000_000} MB; the limit is {policy.max_bytes // 1_000_000} MB"
            )
        try:
            info = probe(data)
        except MediaError as exc:
            raise LikenessError(f"{exc}; send an MP4, MOV or WebM video of yourself") from exc
        seconds = info.seconds or info.audio_seconds
        if not policy.min_seconds <= seconds <= policy.max_seconds:
            raise LikenessError(
                f"the video is {seconds:.1f} s long; a reference video must be "
                f"{policy.min_seconds:g}–{policy.max_seconds:g} s"
            )
        if info.audio_codec is None:
            raise LikenessError("the video has no sound; record yourself saying a sentence or two")

        count = policy.sample_frames
        times = [(i + 0.5) * seconds / count for i in range(count)]
        try:
            frames = _frames_at(data, times, policy.detect_width)
            audio = decode_audio(data, VAD_RATE, mono=True)[0]
        except (av.error.FFmpegError, MediaError, ValueError) as exc:
            raise LikenessError("that video could not be decoded; send an MP4, MOV or WebM video") from exc

        detections = [(index, box) for index, frame in enumerate(frames) for box in self.faces(frame)]
        chosen = _steadiest(detections)
        with_face = 0 if chosen is None else chosen[0]
        if chosen is None or with_face / max(1, len(frames)) < policy.min_face_fraction:
            raise LikenessError(
                f"I could see a face in only {with_face} of {len(frames)} sampled frames; "
                "face the camera in good light for most of the video"
            )
        _, best_index, best_box = chosen

        if audio.size == 0 or float(np.max(np.abs(audio))) < 1e-4:
            raise LikenessError("the video is silent; record yourself saying a sentence or two")
        ranges = self.speech(audio)
        voiced = sum(end - start for start, end in ranges) / VAD_RATE
        if voiced < policy.min_speech_seconds:
            raise LikenessError(
                f"I could hear only {voiced:.1f} s of speech; say a sentence or two clearly in the video"
            )
        limit = int(policy.max_voice_seconds * VAD_RATE)
        voice = np.concatenate([audio[s:e] for s, e in ranges])[:limit].astype(np.float32)
        checks = {
            "seconds": round(seconds, 2),
            "frames_sampled": len(frames),
            "frames_with_face": with_face,
            "speech_seconds": round(voiced, 2),
            "face_box": list(best_box),
        }
        return Likeness(self.crop(frames[best_index], best_box), voice, VAD_RATE, checks)


Box = tuple[int, int, int, int]


def _same_face(a: Box, b: Box) -> bool:
    """Two boxes in different frames that show the same face: close centres, similar sizes."""
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    close = abs((ax + aw / 2) - (bx + bw / 2)) < 0.4 * aw and abs((ay + ah / 2) - (by + bh / 2)) < 0.4 * ah
    return close and 0.7 < bw / aw < 1.4


def _steadiest(detections: list[tuple[int, Box]]) -> tuple[int, int, Box] | None:
    """(frames it is in, frame index, box) of the face seen in the most frames.

    The cascade now and then fires on a patch of background for a frame or two; a person who
    filmed themselves is in most frames at about the same place, so support across frames picks them.
    """
    best: tuple[int, int, int, Box] | None = None
    for index, box in detections:
        support = len({other for other, candidate in detections if _same_face(box, candidate)})
        key = (support, box[2] * box[3], index, box)
        if best is None or key[:2] > best[:2]:
            best = key
    return None if best is None else (best[0], best[2], best[3])


# -- storing what a check found -------------------------------------------------------------------


def face_png(face: np.ndarray) -> bytes:
    ok, encoded = cv2.imencode(".png", cv2.cvtColor(face, cv2.COLOR_RGB2BGR))
    if not ok:
        raise ValueError("the face crop could not be encoded as PNG")
    return encoded.tobytes()


def face_from_png(data: bytes) -> np.ndarray:
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError("the stored face crop is not a PNG")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def voice_wav(voice: np.ndarray, sample_rate: int) -> bytes:
    """16-bit mono WAV: what any player opens, half the size of float32."""
    pcm = (np.clip(voice, -1.0, 1.0) * 32767).astype("<i2")
    out = io.BytesIO()
    with wave.open(out, "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(sample_rate)
        handle.writeframes(pcm.tobytes())
    return out.getvalue()


def voice_from_wav(data: bytes) -> tuple[np.ndarray, int]:
    with wave.open(io.BytesIO(data), "rb") as handle:
        rate = handle.getframerate()
        pcm = np.frombuffer(handle.readframes(handle.getnframes()), "<i2")
    return (pcm.astype(np.float32) / 32767).astype(np.float32), rate

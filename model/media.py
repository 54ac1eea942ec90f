"""MP4 encoding and decoding with PyAV: H.264 (yuv420p, faststart) video and AAC audio."""

from __future__ import annotations

import io
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from model.generator import Clip

AUDIO_RATE = 48_000


class MediaError(Exception):
    """A video could not be decoded or encoded; the message is safe to show a user."""


@dataclass(frozen=True)
class EncodeOptions:
    """How to encode. `crf` is used unless `video_bitrate` is set (bits/s), which `fit_to_bytes` does."""

    crf: int = 23
    preset: str = "veryfast"
    video_bitrate: int | None = None
    audio_bitrate: int = 128_000
    # Written into the MP4's metadata (job id, backend, prompt hash...); provenance fills it.
    metadata: tuple[tuple[str, str], ...] = ()


def _even(n: int) -> int:
    return max(2, n - n % 2)


def _resample_audio(audio: np.ndarray, rate: int, target: int) -> np.ndarray:
    """Linear resampling; good enough for moving generator output to the AAC rate."""
    if rate == target or audio.shape[1] == 0:
        return audio
    n_out = round(audio.shape[1] * target / rate)
    t_out = np.arange(n_out) * (rate / target)
    t_in = np.arange(audio.shape[1])
    return np.stack([np.interp(t_out, t_in, ch) for ch in audio]).astype(np.float32)


def encode_mp4(clip: Clip, options: EncodeOptions | None = None) -> bytes:
    """Encode a clip to MP4 bytes. The same clip and options always give the same bytes."""
    # faststart rewrites the file to move the index first, so the muxer needs a real file, not a BytesIO.
    with tempfile.TemporaryDirectory(prefix="sorabox-enc-") as tmp:
        path = Path(tmp) / "clip.mp4"
        encode_mp4_file(clip, path, options)
        return path.read_bytes()


def encode_mp4_file(clip: Clip, path: Path, options: EncodeOptions | None = None) -> None:
    """Encode a clip to an MP4 file at `path`."""
    options = options or EncodeOptions()
    frames = clip.frames
    height, width = _even(clip.height), _even(clip.width)
    if (height, width) != frames.shape[1:3]:
        frames = frames[:, :height, :width]
    # bitexact keeps encoder version strings and timestamps out, so identical input gives identical bytes.
    container = av.open(str(path), mode="w", format="mp4", options={"movflags": "+faststart", "fflags": "+bitexact"})
    for key, value in options.metadata:
        container.metadata[key] = value
    fps = Fraction(clip.fps).limit_denominator(1001)
    video = container.add_stream("libx264", rate=fps)
    video.width, video.height, video.pix_fmt = width, height, "yuv420p"
    # One thread, bitexact and no macroblock tree: the same input gives the same bytes. x264's threads
    # split work differently from run to run, and its mbtree pass was seen reading uninitialised memory.
    codec_options: dict[str, str] = {
        "preset": options.preset,
        "threads": "1",
        "flags": "+bitexact",
        "x264-params": "mbtree=0",
    }
    if options.video_bitrate:
        video.bit_rate = options.video_bitrate
        codec_options["maxrate"] = str(options.video_bitrate)
        codec_options["bufsize"] = str(options.video_bitrate * 2)
    else:
        codec_options["crf"] = str(options.crf)
    video.options = dict(codec_options)

    audio = _resample_audio(np.clip(clip.audio, -1.0, 1.0), clip.sample_rate, AUDIO_RATE)
    channels = min(2, max(1, audio.shape[0]))
    audio_stream: Any = container.add_stream("aac", rate=AUDIO_RATE)
    audio_stream.layout = "stereo" if channels == 2 else "mono"
    audio_stream.bit_rate = options.audio_bitrate

    for frame in frames:
        for packet in video.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")):
            container.mux(packet)
    for packet in video.encode():
        container.mux(packet)

    # AAC wants 1024-sample frames; feed planar float chunks with explicit timestamps.
    audio = np.ascontiguousarray(audio[:channels], dtype=np.float32)
    chunk = 1024
    for start in range(0, audio.shape[1], chunk):
        piece = np.ascontiguousarray(audio[:, start : start + chunk])
        frame = av.AudioFrame.from_ndarray(piece, format="fltp", layout=audio_stream.layout.name)
        frame.sample_rate = AUDIO_RATE
        frame.pts = start
        frame.time_base = Fraction(1, AUDIO_RATE)
        for packet in audio_stream.encode(frame):
            container.mux(packet)
    for packet in audio_stream.encode():
        container.mux(packet)
    container.close()


@dataclass(frozen=True)
class VideoInfo:
    """What a decoded file holds."""

    width: int
    height: int
    fps: float
    frame_count: int
    audio_seconds: float
    video_codec: str
    audio_codec: str | None

    @property
    def seconds(self) -> float:
        return self.frame_count / self.fps if self.fps else 0.0


def _open(source: bytes | Path | str) -> Any:
    try:
        return av.open(io.BytesIO(source) if isinstance(source, bytes) else str(source))
    except (av.error.FFmpegError, OSError) as exc:
        raise MediaError("that file is not a video I can read") from exc


def decode_clip(source: bytes | Path | str, *, max_frames: int | None = None, sample_rate: int = AUDIO_RATE) -> Clip:
    """Decode a video file into a Clip (frames RGB uint8, audio float32 at `sample_rate`)."""
    container = _open(source)
    try:
        if not container.streams.video:
            raise MediaError("that file has no video stream")
        vstream = container.streams.video[0]
        fps = float(vstream.average_rate or vstream.guessed_rate or 24)
        frames: list[np.ndarray] = []
        for frame in container.decode(vstream):
            frames.append(frame.to_ndarray(format="rgb24"))
            if max_frames is not None and len(frames) >= max_frames:
                break
        if not frames:
            raise MediaError("that video has no frames")
        audio = _decode_audio(source, sample_rate)
    except (av.error.FFmpegError, ValueError) as exc:
        raise MediaError("that video could not be decoded") from exc
    finally:
        container.close()
    return Clip(frames=np.stack(frames), audio=audio, fps=fps, sample_rate=sample_rate)


def _decode_audio(source: bytes | Path | str, sample_rate: int, layout: str = "stereo") -> np.ndarray:
    container = _open(source)
    try:
        if not container.streams.audio:
            return np.zeros((2 if layout == "stereo" else 1, 0), np.float32)
        resampler = av.AudioResampler(format="fltp", layout=layout, rate=sample_rate)
        chunks: list[np.ndarray] = []
        for frame in container.decode(container.streams.audio[0]):
            for out in resampler.resample(frame):
                chunks.append(out.to_ndarray())
        for out in resampler.resample(None):
            chunks.append(out.to_ndarray())
    finally:
        container.close()
    channels = 2 if layout == "stereo" else 1
    return np.concatenate(chunks, axis=1).astype(np.float32) if chunks else np.zeros((channels, 0), np.float32)


def decode_audio(source: bytes | Path | str, sample_rate: int = AUDIO_RATE, mono: bool = False) -> np.ndarray:
    """Decode only the audio track: (channels, samples) float32."""
    return _decode_audio(source, sample_rate, "mono" if mono else "stereo")


def probe(source: bytes | Path | str) -> VideoInfo:
    """Read a file's streams without keeping its frames."""
    container = _open(source)
    try:
        if not container.streams.video:
            raise MediaError("that file has no video stream")
        vstream = container.streams.video[0]
        count = sum(1 for _ in container.demux(vstream) if _.size)
        astream = container.streams.audio[0] if container.streams.audio else None
        audio_seconds = 0.0
        if astream is not None and astream.duration is not None and astream.time_base is not None:
            audio_seconds = float(astream.duration * astream.time_base)
        return VideoInfo(
            width=vstream.codec_context.width,
            height=vstream.codec_context.height,
            fps=float(vstream.average_rate or 0),
            frame_count=count,
            audio_seconds=audio_seconds,
            video_codec=vstream.codec_context.name,
            audio_codec=astream.codec_context.name if astream is not None else None,
        )
    finally:
        container.close()


def _scaled(clip: Clip, factor: float) -> Clip:
    """Downscale frames by `factor` with area averaging in torch (cheap, dependency-free)."""
    import torch
    import torch.nn.functional as F

    h, w = _even(int(clip.height * factor)), _even(int(clip.width * factor))
    x = torch.from_numpy(clip.frames).permute(0, 3, 1, 2).float()  # (T, 3, H, W)
    y = F.interpolate(x, size=(h, w), mode="area").round().clamp(0, 255).byte()
    frames = y.permute(0, 2, 3, 1).contiguous().numpy()  # (T, h, w, 3)
    return Clip(frames, clip.audio, clip.fps, clip.sample_rate, clip.state, clip.metadata)


class DoesNotFit(MediaError):
    """No encoding within our quality floor fits the byte limit."""

    def __init__(self, limit: int, smallest: int) -> None:
        super().__init__(f"the clip needs {smallest} bytes even at low quality; the limit is {limit}")
        self.limit = limit
        self.smallest = smallest


def fit_to_bytes(clip: Clip, limit: int, options: EncodeOptions | None = None) -> bytes:
    """Encode `clip` into at most `limit` bytes: first as is, then at lower bitrates, then with smaller frames.

    x264's rate control overshoots a target on short, busy clips, so each size is tried a few times,
    scaling the target by how far the last try missed.
    """
    options = options or EncodeOptions()
    data = encode_mp4(clip, options)
    if len(data) <= limit:
        return data
    smallest = len(data)
    audio_bitrate = 64_000
    # Leave 10 % for the container.
    video_bits = limit * 8 * 0.9 / max(clip.seconds, 0.1) - audio_bitrate
    for factor in (1.0, 0.75, 0.5, 0.35):
        candidate = clip if factor == 1.0 else _scaled(clip, factor)
        target = video_bits
        for _ in range(3):
            if target < 30_000:
                break
            attempt = EncodeOptions(
                preset=options.preset, video_bitrate=int(target), audio_bitrate=audio_bitrate, metadata=options.metadata
            )
            data = encode_mp4(candidate, attempt)
            smallest = min(smallest, len(data))
            if len(data) <= limit:
                return data
            target *= 0.92 * limit / len(data)
    raise DoesNotFit(limit, smallest)

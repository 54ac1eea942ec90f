import numpy as np
import pytest

from model.generator import Clip
from model.media import (
    DoesNotFit,
    EncodeOptions,
    MediaError,
    decode_audio,
    decode_clip,
    encode_mp4,
    fit_to_bytes,
    probe,
)


def moving_square_clip(seconds=1.0, width=160, height=96, fps=24.0, rate=48_000):
    count = int(seconds * fps)
    frames = np.zeros((count, height, width, 3), np.uint8)
    frames[..., 2] = 40
    for t in range(count):
        x = (t * 5) % (width - 20)
        frames[t, 30:50, x : x + 20] = (230, 40, 40)
    time = np.arange(int(seconds * rate)) / rate
    tone = (0.3 * np.sin(2 * np.pi * 440 * time)).astype(np.float32)
    return Clip(frames, np.stack([tone, 0.5 * tone]), fps, rate)


def test_encoded_mp4_is_h264_and_aac_with_matching_lengths():
    data = encode_mp4(moving_square_clip(seconds=2.0))
    info = probe(data)
    assert (info.video_codec, info.audio_codec) == ("h264", "aac")
    assert (info.width, info.height, info.frame_count) == (160, 96, 48)
    assert info.seconds == pytest.approx(2.0)
    assert info.audio_seconds == pytest.approx(2.0, abs=0.05)


def test_index_is_at_the_front_for_streaming():
    data = encode_mp4(moving_square_clip())
    assert data.find(b"moov") < data.find(b"mdat")


def test_same_clip_gives_the_same_bytes():
    clip = moving_square_clip()
    assert encode_mp4(clip) == encode_mp4(clip)


def test_decoding_gives_back_the_picture_and_the_sound():
    clip = moving_square_clip()
    decoded = decode_clip(encode_mp4(clip))
    assert decoded.frames.shape == clip.frames.shape
    # The red square survives lossy coding where it was drawn.
    assert decoded.frames[0, 35:45, 2:18, 0].mean() > 180
    assert decoded.frames[0, 35:45, 2:18, 2].mean() < 90
    audio = decode_audio(encode_mp4(clip))
    assert audio.shape[0] == 2
    left, right = np.abs(audio[0, 4800:40000]).mean(), np.abs(audio[1, 4800:40000]).mean()
    assert right / left == pytest.approx(0.5, rel=0.1)


def test_odd_sizes_are_cropped_to_even_for_yuv420():
    clip = moving_square_clip(width=161, height=97)
    assert (probe(encode_mp4(clip)).width, probe(encode_mp4(clip)).height) == (160, 96)


def test_metadata_is_written_into_the_file():
    import io

    import av

    data = encode_mp4(moving_square_clip(), EncodeOptions(metadata=(("comment", '{"job": "abc"}'),)))
    with av.open(io.BytesIO(data)) as container:
        assert container.metadata.get("comment") == '{"job": "abc"}'


def test_fit_to_bytes_meets_a_limit_the_plain_encode_exceeds():
    rng = np.random.default_rng(0)
    noisy = moving_square_clip(seconds=2.0, width=320, height=192)
    noisy.frames[:] = rng.integers(0, 255, noisy.frames.shape, dtype=np.uint8)
    plain = encode_mp4(noisy)
    limit = len(plain) // 4
    fitted = fit_to_bytes(noisy, limit)
    assert len(fitted) <= limit < len(plain)
    assert probe(fitted).frame_count == 48


def test_fit_to_bytes_gives_up_clearly_when_impossible():
    with pytest.raises(DoesNotFit) as caught:
        fit_to_bytes(moving_square_clip(), 2_000)
    assert caught.value.limit == 2_000


def test_garbage_is_refused_with_a_message():
    with pytest.raises(MediaError, match="not a video"):
        decode_clip(b"this is not a video at all")

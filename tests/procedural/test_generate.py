"""The procedural backend end to end: encoded MP4s, decoded again, checked for sync, colour and continuity."""

from __future__ import annotations

import json

import numpy as np
import pytest

from model.generator import (
    CancelToken,
    Clip,
    GenerationCancelled,
    GenerationError,
    GenerationRequest,
    Generator,
    SourceClip,
    no_progress,
)
from model.media import decode_audio, decode_clip, encode_mp4, probe
from model.procedural import ProceduralGenerator
from model.procedural.generator import fit_size
from tests.procedural.measure import bottoms, centroids, colour_mask, contact_frames, onsets, rms

BALL = "a red rubber ball falls from two meters and bounces on a concrete floor"
FPS = 24.0


@pytest.fixture(scope="module")
def generator() -> ProceduralGenerator:
    return ProceduralGenerator(device="cpu")


def _request(prompt: str, *, kind: str = "generate", width: int = 160, height: int = 90, seconds: float = 1.0,
             seed: int = 0, sources: tuple[SourceClip, ...] = ()) -> GenerationRequest:  # fmt: skip
    return GenerationRequest(kind, prompt, width=width, height=height, seconds=seconds, seed=seed,  # type: ignore[arg-type]
                             sources=sources)  # fmt: skip


def _source(clip: Clip, prompt: str, clip_id: str = "src") -> SourceClip:
    """What the service hands back for a stored clip: its state and its decoded media."""
    decoded = decode_clip(encode_mp4(clip))
    state = json.loads(json.dumps(clip.state))  # stored as JSON
    return SourceClip(clip_id=clip_id, prompt=prompt, backend="procedural", state=state, clip=decoded)


def test_generator_satisfies_the_protocol(generator: ProceduralGenerator) -> None:
    assert isinstance(generator, Generator)
    assert generator.name == "procedural"


@pytest.fixture(scope="module")
def bounce_mp4(generator: ProceduralGenerator) -> tuple[Clip, bytes]:
    # A still camera: contacts are found where the ball's lowest pixel turns, which a camera following the ball
    # down would move.
    prompt = f"{BALL}, static camera"
    clip = generator.generate(_request(prompt, width=320, height=180, seconds=4.0), no_progress, CancelToken())
    return clip, encode_mp4(clip)


def test_bounce_clip_is_a_valid_mp4_with_48k_stereo(bounce_mp4: tuple[Clip, bytes]) -> None:
    clip, data = bounce_mp4
    info = probe(data)
    assert (info.width, info.height, info.fps, info.frame_count) == (320, 180, 24.0, 96)
    assert (info.video_codec, info.audio_codec) == ("h264", "aac")
    assert clip.sample_rate == 48_000 and clip.audio.shape == (2, 4 * 48_000)
    assert clip.metadata["unused_words"] == []


def test_every_bounce_is_heard_on_the_frame_it_is_seen(bounce_mp4: tuple[Clip, bytes]) -> None:
    _, data = bounce_mp4
    decoded = decode_clip(data)
    seen = contact_frames(bottoms(colour_mask(decoded.frames, channel=0)))
    heard = onsets(decode_audio(data), 48_000)
    assert len(seen) >= 4  # the ball visibly bounces several times in 4 s
    for frame in seen:
        assert min(abs(t - frame / FPS) for t in heard) <= 1 / FPS, (frame, heard)
    # No loud onset without a contact on screen.
    for t in heard:
        assert min(abs(t - frame / FPS) for frame in seen) <= 1 / FPS, (t, seen)


def test_first_contact_is_seen_at_free_fall_time(bounce_mp4: tuple[Clip, bytes]) -> None:
    _, data = bounce_mp4
    seen = contact_frames(bottoms(colour_mask(decode_clip(data).frames, channel=0)))
    assert abs(seen[0] / FPS - (2 * 2.0 / 9.81) ** 0.5) <= 1 / FPS


def test_same_prompt_and_seed_give_identical_clips(generator: ProceduralGenerator) -> None:
    prompt = "three balls and a wooden crate fall onto a table at sunset in the rain"
    a = generator.generate(_request(prompt, seed=7), no_progress, CancelToken())
    b = generator.generate(_request(prompt, seed=7), no_progress, CancelToken())
    assert a.frames.tobytes() == b.frames.tobytes() and a.audio.tobytes() == b.audio.tobytes()
    assert a.state == b.state


def test_same_prompt_and_seed_give_identical_mp4s(generator: ProceduralGenerator) -> None:
    prompt = "three balls and a wooden crate fall onto a table at sunset in the rain"
    a = encode_mp4(generator.generate(_request(prompt, seed=7), no_progress, CancelToken()))
    b = encode_mp4(generator.generate(_request(prompt, seed=7), no_progress, CancelToken()))
    assert a == b


def test_red_ball_is_red_and_blue_remix_keeps_its_motion(generator: ProceduralGenerator) -> None:
    red = generator.generate(_request(BALL, width=320, height=180, seconds=2.0), no_progress, CancelToken())
    red_frames = decode_clip(encode_mp4(red)).frames
    remix = _request("make it blue", kind="remix", width=320, height=180, seconds=2.0, sources=(_source(red, BALL),))
    blue = generator.generate(remix, no_progress, CancelToken())
    blue_frames = decode_clip(encode_mp4(blue)).frames
    red_mask, blue_mask = colour_mask(red_frames, 0), colour_mask(blue_frames, 2)
    assert red_mask.sum(axis=(1, 2)).min() > 40 and colour_mask(red_frames, 2).sum() == 0
    assert blue_mask.sum(axis=(1, 2)).min() > 40 and colour_mask(blue_frames, 0).sum() == 0
    assert np.allclose(centroids(red_mask), centroids(blue_mask), atol=1.0)
    assert red.state["final"] == blue.state["final"]
    assert blue.metadata["changes"] == ["ball-1: colour blue"]


@pytest.mark.parametrize(
    "prompt",
    ["", "qwzx blorp", "x" * 10_000, "a ball\x00\x1b[2J\x07 falls", "<img src=x onerror=alert(1)> a cube",
     "🙂" * 500, '"' * 41, "-rf / --help"],
)  # fmt: skip
def test_nonsense_and_hostile_prompts_make_valid_clips(generator: ProceduralGenerator, prompt: str) -> None:
    clip = generator.generate(_request(prompt, width=64, height=36, seconds=0.5), no_progress, CancelToken())
    info = probe(encode_mp4(clip))
    assert (info.width, info.height, info.frame_count) == (64, 36, 12)
    assert np.isfinite(clip.audio).all()
    assert isinstance(clip.metadata["unused_words"], list)
    json.dumps(clip.state)
    json.dumps(clip.metadata)


def test_sizes_are_capped_and_made_even(generator: ProceduralGenerator) -> None:
    for (w, h), expected in {
        (1921, 1081): (1280, 720),
        (91, 161): (92, 160),
        (720, 1280): (720, 1280),
        (1280, 1280): (960, 960),
        (960, 960): (960, 960),
        (100, 3000): (42, 1280),
    }.items():
        assert fit_size(w, h)[:2] == expected
    clip = generator.generate(_request(BALL, width=91, height=161, seconds=0.25), no_progress, CancelToken())
    assert (clip.width, clip.height) == (92, 160)
    assert any("rounded" in n for n in clip.metadata["notes"])


def test_extend_continues_motion_and_sound_without_a_jump(generator: ProceduralGenerator) -> None:
    prompt = "a red ball rolls on a wooden floor"
    first = generator.generate(_request(prompt, width=320, height=180, seconds=1.5), no_progress, CancelToken())
    source = _source(first, prompt)
    extended = generator.generate(_request("", kind="extend", seconds=1.0, sources=(source,)), no_progress,
                                  CancelToken())  # fmt: skip
    assert extended.frames.shape[0] == 36 + 24
    assert extended.audio.shape[1] == round(2.5 * 48_000)
    frames = decode_clip(encode_mp4(extended)).frames
    xs = centroids(colour_mask(frames, 0))[:, 0]
    steps = np.diff(xs)
    seam = steps[35]  # from the source's last frame to the continuation's first
    assert np.nanmedian(steps[25:45]) > 1.0  # it is moving
    assert abs(seam - np.nanmedian(steps[25:45])) < 2.0
    # The rolling sound carries on across the seam at the same level.
    before, after = rms(extended.audio, 48_000, 1.4, 0.1), rms(extended.audio, 48_000, 1.5, 0.1)
    assert 0.5 < after / before < 2.0
    json.dumps(extended.state)


def test_extend_of_an_extension_keeps_going(generator: ProceduralGenerator) -> None:
    first = generator.generate(_request(BALL, seconds=0.5), no_progress, CancelToken())
    once = generator.generate(_request("", kind="extend", seconds=0.5, sources=(_source(first, BALL),)),
                              no_progress, CancelToken())  # fmt: skip
    twice = generator.generate(_request("", kind="extend", seconds=0.5, sources=(_source(once, BALL, "b"),)),
                               no_progress, CancelToken())  # fmt: skip
    assert twice.frames.shape[0] == 36
    assert twice.state["frames"] == 36


def test_remix_of_another_backends_clip_rebuilds_from_its_prompt(generator: ProceduralGenerator) -> None:
    clip = generator.generate(_request(BALL, seconds=0.25), no_progress, CancelToken())
    foreign = SourceClip("x", "a green cube falls", "ltx2", {"anything": 1}, clip)
    remix = generator.generate(_request("at night", kind="remix", seconds=0.25, sources=(foreign,)), no_progress,
                               CancelToken())  # fmt: skip
    scene = remix.state["scene"]
    assert [o["kind"] for o in scene["objects"]] == ["cube"] and scene["environment"]["time"] == "night"
    assert any("ltx2" in note for note in remix.metadata["notes"])


def test_extend_refuses_a_clip_without_simulation_state(generator: ProceduralGenerator) -> None:
    clip = generator.generate(_request(BALL, seconds=0.25), no_progress, CancelToken())
    foreign = SourceClip("x", BALL, "ltx2", {}, clip)
    with pytest.raises(GenerationError):
        generator.generate(_request("", kind="extend", sources=(foreign,)), no_progress, CancelToken())


def test_stitch_joins_two_clips_with_a_crossfade(generator: ProceduralGenerator) -> None:
    a = generator.generate(_request("a red ball falls", seconds=1.0), no_progress, CancelToken())
    b = generator.generate(_request("a blue cube falls at night", seconds=1.0), no_progress, CancelToken())
    stitched = generator.generate(
        _request("", kind="stitch", sources=(_source(a, "a", "a"), _source(b, "b", "b"))), no_progress, CancelToken()
    )
    overlap = round(0.25 * FPS)
    assert stitched.frames.shape[0] == 48 - overlap
    assert stitched.audio.shape[1] == round(stitched.frames.shape[0] / FPS * 48_000)
    assert stitched.state["stitched_from"] == ["a", "b"]
    assert "scene" in stitched.state  # the last source's state: the stitched clip can be extended
    probe(encode_mp4(stitched))


def test_progress_is_reported_and_cancel_stops_between_chunks(generator: ProceduralGenerator) -> None:
    steps: list[tuple[int, int]] = []
    generator.generate(_request(BALL, seconds=2.0),
                       lambda step, total, stage="generating": steps.append((step, total)), CancelToken())  # fmt: skip
    assert steps[-1][0] == steps[-1][1] and len(steps) >= 4
    assert [s for s, _ in steps] == sorted(s for s, _ in steps)

    token = CancelToken()

    def cancel_after_first_chunk(step: int, total: int, stage: str = "generating") -> None:
        if step >= 2:
            token.cancel("user pressed stop")

    with pytest.raises(GenerationCancelled, match="user pressed stop"):
        generator.generate(_request(BALL, seconds=2.0), cancel_after_first_chunk, token)


def test_the_clip_names_the_model_that_made_it_for_provenance():
    from model.generator import CancelToken, GenerationRequest, no_progress
    from model.procedural import ProceduralGenerator
    from model.procedural.scene import SCENE_VERSION

    clip = ProceduralGenerator(device="cpu").generate(
        GenerationRequest("generate", "a ball", 96, 64, 1.0, 1), no_progress, CancelToken()
    )
    assert clip.metadata["model"] == f"procedural scene v{SCENE_VERSION}"

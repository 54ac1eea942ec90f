"""People and animals, water and weather, checked on decoded MP4s: the issue's done-when prompts.

Each test makes a small clip, encodes and decodes it as a viewer gets it, and measures colour blobs frame by
frame: the figure's and the ball's centroids and extents, and when loud sounds start."""

from __future__ import annotations

import math

import numpy as np
import pytest

from model.media import decode_audio, decode_clip
from model.procedural import ProceduralGenerator
from tests.procedural.measure import centroids, colour_mask, extents, generated_mp4, rms

# Each test makes and decodes a whole clip: seconds alone, far more on a loaded machine.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

FPS = 24.0
W, H = 192, 108
RED, GREEN, BLUE = 0, 1, 2


@pytest.fixture(scope="module")
def generator() -> ProceduralGenerator:
    return ProceduralGenerator(device="cpu")


def _shoot(generator: ProceduralGenerator, prompt: str, seconds: float) -> tuple[np.ndarray, np.ndarray]:
    data = generated_mp4(generator, prompt, W, H, seconds)
    return decode_clip(data).frames, decode_audio(data)


def _heard_near(heard: list[int], frame: float, slack: float = 1.5) -> bool:
    return any(abs(f - frame) <= slack for f in heard)


def _loud_frames(audio: np.ndarray, rise: float = 2.0) -> list[int]:
    """Video frames where a sound starts: the frame's peak jumps well above the steady background and `rise` times
    the frame before it. (Frame-level on purpose: AAC spreads an attack over a few milliseconds.)"""
    hop = int(48_000 / FPS)
    peak = np.abs(audio).max(axis=0)
    env = peak[: peak.size // hop * hop].reshape(-1, hop).max(axis=1)
    floor = float(np.median(env))
    return [k for k in range(1, env.size) if env[k] > max(4 * floor, 0.15 * env.max()) and env[k] > rise * env[k - 1]]


def _largest_blob_centroids(mask: np.ndarray) -> np.ndarray:
    """Centroid per frame of the mask, ignoring frames where it covers fewer than 4 pixels."""
    out = centroids(mask)
    out[mask.reshape(mask.shape[0], -1).sum(axis=1) < 4] = np.nan
    return out


def test_a_man_throws_a_ball_that_leaves_his_hand_flies_and_bounces_off_the_wall(
    generator: ProceduralGenerator,
) -> None:
    frames, audio = _shoot(generator, "a man throws a ball at a wall", 2.5)
    ball = _largest_blob_centroids(colour_mask(frames, RED))
    shirt = colour_mask(frames, BLUE, margin=35)  # his blue shirt, in shade too
    shirt[:, : int(0.4 * H)] = False  # not the sky: the camera looks at him from about his height
    man = _largest_blob_centroids(shirt)
    assert np.isfinite(man).all(axis=1).mean() > 0.9
    # Before the throw the ball is in his hand (behind him at first, then raised in the wind-up).
    held = np.isfinite(ball[:20, 0])
    assert held.any() and np.all(np.abs(ball[:20][held, 0] - man[:20][held, 0]) < 0.1 * W)
    gap = ball[:, 0] - man[:, 0]
    far = int(np.nanargmax(gap))
    assert gap[far] > 0.2 * W  # it flew away from him, towards the wall
    assert far > 20  # after the wind-up, not from the first frame
    after = gap[far + 2 : far + 12]
    assert np.isfinite(after).any() and np.nanmin(after) < gap[far] - 4  # and comes back off the wall
    assert _heard_near(_loud_frames(audio), far), (far, _loud_frames(audio))  # the wall is heard as it is hit


def test_a_cat_jumps_onto_the_sofa_and_ends_on_its_seat(generator: ProceduralGenerator) -> None:
    frames, _ = _shoot(generator, "a cat jumps onto a sofa", 2.5)
    cat = colour_mask(frames, RED, margin=45)  # an orange cat, in shade too
    sofa = colour_mask(frames, BLUE)  # a blue sofa
    cat_box = np.array([_bbox(m) for m in cat])
    sofa_box = np.array([_bbox(m) for m in sofa])
    first, last = slice(0, 6), slice(-8, None)
    assert np.isfinite(cat_box[first]).all() and np.isfinite(cat_box[last]).all()
    # Height of the cat's feet above the sofa's bottom edge, as a share of the sofa's height on screen.
    lift = (sofa_box[:, 3] - cat_box[:, 3]) / (sofa_box[:, 3] - sofa_box[:, 1])
    assert np.nanmean(lift[last]) - np.nanmean(lift[first]) > 0.2  # it went up onto something
    centre_x = (cat_box[:, 0] + cat_box[:, 2]) / 2
    assert np.all((centre_x[last] > sofa_box[last, 0]) & (centre_x[last] < sofa_box[last, 2]))  # over the sofa
    assert np.nanstd(lift[last]) < 0.05  # and it stays there


def _bbox(mask: np.ndarray) -> tuple[float, float, float, float]:
    """x0, y0, x1, y1 of a mask (NaN if it is nearly empty)."""
    ys, xs = np.nonzero(mask)
    if xs.size < 4:
        return math.nan, math.nan, math.nan, math.nan
    return float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max())


def test_a_gymnast_turns_a_full_backflip_above_the_mat_and_lands(generator: ProceduralGenerator) -> None:
    frames, _ = _shoot(generator, "a gymnast does a backflip on a mat", 2.5)
    torso = colour_mask(frames, BLUE, margin=35) & (frames[..., 2] < 200)  # a blue top, not the bright sky
    angle = np.full(frames.shape[0], np.nan)
    for t, m in enumerate(torso):
        ys, xs = np.nonzero(m)
        if xs.size >= 8:
            cov = np.cov(np.stack([xs, ys]).astype(float))
            _, v = np.linalg.eigh(cov)
            angle[t] = math.atan2(v[1, 1], v[0, 1])  # the long axis of the torso, mod pi
    seen = np.isfinite(angle)
    assert seen.mean() > 0.9
    turned = np.unwrap(2 * angle[seen]) / 2  # a line's angle: unwrap at twice the angle
    assert 4.5 < abs(turned[-1] - turned[0]) < 8.5  # about one full turn
    size = extents(torso)
    assert np.nanmin(size[:, 1]) < 0.6 * np.nanmax(size[:, 1])  # tucked small mid-air, tall at both ends
    assert abs(size[-1, 1] - size[0, 1]) < 0.25 * size[0, 1]  # standing again at the end


def test_a_dog_runs_into_the_sea_with_a_splash_seen_and_heard_on_the_same_frame(generator: ProceduralGenerator) -> None:
    frames, audio = _shoot(generator, "a dog runs along a beach and splashes into the sea", 3.0)
    dog = colour_mask(frames, RED, margin=60)
    f = frames.astype(np.int16)
    lower = np.zeros(frames.shape[1:3], bool)
    lower[frames.shape[1] // 3 :] = True
    # Spray: bright water-blue droplets (not the white foam on the waves, not the sky above the horizon).
    spray = (f[..., 2] > 190) & (f[..., 2] - f[..., 0] > 30) & (f[..., 1] > 160) & lower
    count = spray.reshape(spray.shape[0], -1).sum(axis=1)
    base = np.median(count[:10])
    splash = np.nonzero(count > base + 15)[0]
    assert splash.size, count
    first = int(splash[0])
    assert 10 < first < frames.shape[0] - 10
    assert _heard_near(_loud_frames(audio), first), (first, _loud_frames(audio))
    area = dog.reshape(dog.shape[0], -1).sum(axis=1)
    assert (area[: first - 2] > 0).mean() > 0.9  # the dog is seen along the beach
    assert (area[-5:] > 0).all()  # and still there, swimming, at the end (not gone under)


def test_a_glass_of_water_knocked_off_the_table_spills_and_is_heard_landing(generator: ProceduralGenerator) -> None:
    frames, audio = _shoot(generator, "a glass of water is knocked off a kitchen table", 2.5)
    f = frames.astype(np.int16)
    moving = np.abs(np.diff(f, axis=0)).sum(axis=-1) > 60  # (T-1, H, W) what changed between frames
    ys = np.array([np.nonzero(m)[0].mean() if m.sum() > 3 else np.nan for m in moving])
    seen = np.isfinite(ys)
    assert seen.sum() > 10
    assert np.nanmax(ys[seen][-10:]) - np.nanmin(ys[seen][:10]) > 0.1 * H  # what moves goes down the frame
    spill = (f[..., 2] > 180) & (f[..., 2] - f[..., 0] > 30)
    assert spill.reshape(spill.shape[0], -1).sum(axis=1).max() > spill[0].sum() + 5  # water drops appear
    # The landing rings out over the spilling water's hiss, which is already loud: a rise of 1.6 times the frame
    # before (AAC moves a frame's peak by about 10 %, and the landing measured 1.9 to 2.2 times).
    assert _loud_frames(audio, rise=1.6), "the glass is heard landing"


def test_rain_on_a_street_at_night_is_dark_falls_every_frame_and_hisses(generator: ProceduralGenerator) -> None:
    # A still camera on both: the rain must be what changes from frame to frame.
    frames, audio = _shoot(generator, "it rains on a street at night, static camera", 1.5)
    dry_frames, dry_audio = _shoot(generator, "a street at night, static camera", 1.5)
    assert frames.mean() < 90  # night
    changed = (np.abs(np.diff(frames.astype(np.int16), axis=0)).max(axis=-1) > 25).mean(axis=(1, 2))
    dry_changed = (np.abs(np.diff(dry_frames.astype(np.int16), axis=0)).max(axis=-1) > 25).mean(axis=(1, 2))
    assert changed.min() > 0.003 and changed.min() > 5 * dry_changed.mean()  # rain in every frame
    assert rms(audio, 48_000, 0.2, 1.2) > 1.25 * rms(dry_audio, 48_000, 0.2, 1.2)  # and it is heard over the night air

"""Water and weather elements: splashes, pouring, rain, snow, waves, wind and their sounds, as numbers."""

from __future__ import annotations

import numpy as np

from model.procedural.elements.draw import draw_particles
from model.procedural.elements.particles import pour, rain, ripple_rings, snow, splash
from model.procedural.elements.sounds import footstep_sound, pour_sound, rain_sound, splash_sound, wind_sound
from model.procedural.elements.waves import crest_foam, wave_height
from model.procedural.elements.wind import moves_in_wind, wind_force

TIMES = np.arange(0, 3.0, 1 / 24)
RATE = 48_000


def test_a_splash_throws_droplets_up_after_the_entry_and_they_fall_back_in() -> None:
    drops = splash(1.0, 2.0, 0.5, 0.0, speed=4.0, size=0.3, times=TIMES, seed=3)
    before = TIMES < 1.0
    assert not drops.alive[before].any()
    heights = np.where(drops.alive, drops.positions[..., 1], -np.inf).max(axis=1)
    after = TIMES >= 1.0
    assert heights[after].max() > 0.5 + 0.2  # spray rises well above the surface
    assert drops.alive[-1].sum() == 0  # two seconds later it has all fallen back
    assert np.all(drops.positions[drops.alive][:, 1] >= 0.5 - 1e-6)
    gentle = splash(1.0, 2.0, 0.5, 0.0, speed=1.0, size=0.05, times=TIMES, seed=3)
    assert gentle.radius.size < drops.radius.size  # a pebble makes less spray than a dog
    again = splash(1.0, 2.0, 0.5, 0.0, speed=4.0, size=0.3, times=TIMES, seed=3)
    assert np.array_equal(again.positions, drops.positions)


def test_ripples_spread_outwards_and_fade() -> None:
    rings = ripple_rings(0.5, 0.0, 0.0, 0.0, 3.0, TIMES)
    radius = np.hypot(rings.positions[..., 0], rings.positions[..., 2]).mean(axis=1)
    seen: np.ndarray = np.asarray(rings.alive.any(axis=1))
    assert not seen[TIMES <= 0.5].any() and seen[(TIMES > 0.6) & (TIMES < 2.4)].all()
    assert np.all(np.diff(radius[seen]) >= -1e-9) and radius[seen][-1] > 0.5
    assert not seen[TIMES > 2.6].any()  # gone after two seconds


def test_a_pour_falls_from_the_spout_to_the_floor() -> None:
    stream = pour(0.5, 1.5, (0.0, 1.0, 0.0), (0.4, 0.0), 0.75, TIMES, seed=1)
    live = stream.positions[stream.alive]
    assert live.size and live[:, 1].max() <= 1.0 + 0.01 and live[:, 1].min() >= 0.75
    assert not stream.alive[TIMES < 0.5].any()
    assert live[:, 0].min() >= -0.05  # it leaves forwards, the way the glass is tipped


def test_rain_falls_fast_and_snow_slowly_and_the_wind_carries_them() -> None:
    area = (-3.0, 3.0, -2.0, 2.0)
    drops = rain(TIMES[:2], 1.0, 0.0, area, seed=2)
    flakes = snow(TIMES[:2], 1.0, 0.0, area, seed=2)
    dy_rain = (drops.positions[0, :, 1] - drops.positions[1, :, 1]) % 6.0
    dy_snow = (flakes.positions[0, :, 1] - flakes.positions[1, :, 1]) % 6.0
    assert np.median(dy_rain) > 5 * np.median(dy_snow)
    assert drops.radius.size > 1000 and rain(TIMES[:2], 0.2, 0.0, area, seed=2).radius.size < 400
    windy = rain(TIMES[:2], 1.0, 5.0, area, seed=2)
    shift = (windy.positions[1, :, 0] - windy.positions[0, :, 0]) % 6.0
    assert abs(np.median(shift) - 5.0 / 24) < 0.02


def test_waves_travel_and_foam_rides_on_the_crests() -> None:
    x = np.linspace(0, 10, 200)
    a, b = wave_height(x, 0.0, 0.0, 1.0), wave_height(x, 0.0, 0.5, 1.0)
    assert np.abs(a).max() > 0.1 and not np.allclose(a, b)
    assert np.allclose(wave_height(x, 0.0, 0.3, 0.0), 0.0)  # a still pool
    foam = crest_foam(TIMES[:3], 1.0, (0.0, 10.0), (-1.0, 1.0), 0.0)
    assert foam.alive.any() and np.all(foam.positions[foam.alive][:, 1] > 0.0)


def test_wind_pushes_a_balloon_but_not_a_brick() -> None:
    assert wind_force(6.0, 0.0, 0.1) > 0 and wind_force(-6.0, 0.0, 0.1) < 0
    assert abs(wind_force(6.0, 6.0, 0.1)) < abs(wind_force(6.0, 0.0, 0.1))  # moving with it, less push
    assert moves_in_wind(0.01, 0.07, 6.0)
    assert not moves_in_wind(2.5, 0.02, 6.0)


def _band(x: np.ndarray, low: float, high: float) -> float:
    spec = np.abs(np.fft.rfft(x)) ** 2
    f = np.fft.rfftfreq(x.size, 1 / RATE)
    return float(spec[(f >= low) & (f < high)].sum())


def test_water_and_weather_sounds_have_their_character() -> None:
    rng = np.random.default_rng(0)
    big, small = splash_sound(5.0, 0.4, rng, RATE), splash_sound(1.0, 0.05, rng, RATE)
    assert big.dtype == np.float32 and np.abs(big).max() > np.abs(small).max()
    assert big.size > small.size
    onset = int(np.argmax(np.abs(big) > 0.2 * np.abs(big).max()))
    assert onset < 0.01 * RATE  # it starts at the entry, not later
    hard, light = rain_sound(1.0, 1.0, rng, RATE), rain_sound(1.0, 0.2, rng, RATE)
    assert np.sqrt(np.mean(hard**2)) > 2 * np.sqrt(np.mean(light**2))
    assert _band(hard, 1500, 12000) > _band(hard, 20, 400)  # a hiss, not a rumble
    wind = wind_sound(1.0, 8.0, rng, RATE)
    assert _band(wind, 20, 500) > _band(wind, 2000, 20000)  # a rumble, not a hiss
    assert pour_sound(0.8, rng, RATE).size == int(0.8 * RATE)
    step = footstep_sound(0.0, rng, RATE)
    assert 0 < np.abs(step).max() <= 1.0


def test_particles_are_drawn_where_they_project_and_hidden_behind_nearer_things() -> None:
    frame = np.zeros((40, 60, 3), np.uint8)
    drops = splash(0.0, 0.0, 0.0, 0.0, 3.0, 0.2, np.array([0.1]), seed=5)

    def project(points: np.ndarray) -> np.ndarray:  # a camera 5 m away looking down -z, 50 px focal
        d = 5.0 - points[:, 2]
        return np.stack([30 + points[:, 0] / d * 50, 20 - points[:, 1] / d * 50, d], axis=-1)

    drawn = draw_particles(frame, drops, 0, project, 50.0)
    assert drawn > 0 and frame.any()
    ys, xs = np.nonzero(frame.any(axis=2))
    assert abs(xs.mean() - 30) < 6 and ys.mean() < 21  # above the entry point, around it
    hidden = np.zeros_like(frame)
    near = np.full((40, 60), 1.0)  # a wall 1 m from the camera covers everything
    draw_particles(hidden, drops, 0, project, 50.0, depth=near)
    assert not hidden.any()

"""The Ray executor's parts that need no cluster: its settings, what travels to the cluster, the clip hand-over."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.execution.ray_bridge import probe
from core.execution.ray_wire import RayConfig, SharedClip
from core.settings import SettingsError
from model.generator import Clip
from tests.ray.cluster import free_port
from tests.support import make_settings


def test_settings_choose_the_cluster_the_application_and_the_replicas(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path,
        executor="ray",
        ray_address="ray://10.0.0.5:10001",
        ray_app="sorabox-eu",
        ray_replicas="3",
        ray_replica_cpus="0.5",
        backend="ltx2",
        model_dir="/srv/models/ltx-2",
    )
    config = RayConfig.from_settings(settings)
    assert (config.address, config.app_name, config.replicas) == ("ray://10.0.0.5:10001", "sorabox-eu", 3)
    assert (config.backend, config.model_dir, config.cpus_per_replica) == ("ltx2", "/srv/models/ltx-2", 0.5)
    assert RayConfig.from_settings(make_settings(tmp_path, ray_replicas="auto")).replicas is None


BAD = [("ray_replicas", "0"), ("ray_replicas", "two"), ("ray_replica_cpus", "-1")]


@pytest.mark.parametrize(("name", "value"), BAD)
def test_a_replica_setting_that_cannot_work_is_refused_naming_it(tmp_path: Path, name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=f"SORABOX_{name.upper()}"):
        RayConfig.from_settings(make_settings(tmp_path, **{name: value}))


def test_only_the_models_own_settings_travel_to_the_cluster(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path, telegram_token="123:secret", discord_token="xyz", ltx2_steps="8", device="cuda:1"
    )
    sent = RayConfig.from_settings(settings).model_environ
    assert sent == {"SORABOX_LTX2_STEPS": "8", "SORABOX_DEVICE": "cuda:1"}


def test_a_clip_crosses_shared_memory_unchanged_and_its_block_is_freed() -> None:
    rng = np.random.default_rng(3)
    frames = rng.integers(0, 256, (5, 34, 62, 3), dtype=np.uint8)
    audio = rng.uniform(-1, 1, (2, 4800)).astype(np.float32)
    clip = Clip(frames, audio, 24.0, 48_000, state={"seed": 3}, metadata={"note": "x"})
    shared = SharedClip.put(clip)
    back = shared.take()
    np.testing.assert_array_equal(back.frames, frames)
    np.testing.assert_array_equal(back.audio, audio)
    assert (back.fps, back.sample_rate, back.state, back.metadata) == (24.0, 48_000, {"seed": 3}, {"note": "x"})
    assert not Path("/dev/shm", shared.name.lstrip("/")).exists()
    SharedClip.put(clip).discard()  # a clip nobody waits for is freed too


def test_an_address_with_nothing_listening_fails_fast_with_the_address_in_the_message() -> None:
    address = f"127.0.0.1:{free_port()}"
    with pytest.raises(ConnectionError, match=f"cannot reach the Ray cluster at {address}"):
        probe(address, timeout=2)
    with pytest.raises(ConnectionError, match="must be auto, host:port or ray://host:port"):
        probe("my-cluster", timeout=2)

"""A tiny random LTX-2 folder, written once per session, and a warm generator over it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

# Small enough to run in well under a second a clip on two CPU cores, big enough to cross the VAE's 32-pixel and
# 8-frame grids more than once.
WIDTH, HEIGHT, SECONDS = 96, 64, 1.0


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread() -> Iterator[None]:
    """The tiny model's tensors are too small to split across threads: on a shared 2-core machine intra-op threads
    only spin against each other (the audio VAE decode takes 0.2 s on one thread, 2-3 s on two under load)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def tiny_ltx2_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    pytest.importorskip("diffusers")
    from model.ltx2.tiny import write_tiny_ltx2

    directory = tmp_path_factory.mktemp("tiny-ltx2")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        patch.setenv("TRANSFORMERS_OFFLINE", "1")
        write_tiny_ltx2(directory, seed=0)
    yield directory


@pytest.fixture(scope="session")
def tiny_generator(tiny_ltx2_dir: Path):  # -> LTX2Generator, loaded and warm
    from model.ltx2 import LTX2Generator, LTX2Options

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        patch.setenv("TRANSFORMERS_OFFLINE", "1")
        generator = LTX2Generator(tiny_ltx2_dir, LTX2Options(steps=4))
        generator.load()
    return generator


@pytest.fixture(scope="session")
def tiny_ltx23_distilled_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The other folder shape: LTX-2.3's configs, tagged distilled the way a downloaded distilled checkpoint is."""
    pytest.importorskip("diffusers")
    from model.ltx2.tiny import write_tiny_ltx2

    directory = tmp_path_factory.mktemp("tiny-ltx23-distilled")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        patch.setenv("TRANSFORMERS_OFFLINE", "1")
        write_tiny_ltx2(directory, seed=0, version="2.3", distilled=True)
    yield directory

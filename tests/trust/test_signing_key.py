"""The console's signing key: a short or empty key file is refused at start, and a new key is written whole."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from bots.cli import main
from bots.web.signing import KEY_BYTES, Signer, load_key
from core.settings import SettingsError


@pytest.mark.parametrize("length", [0, 1, KEY_BYTES - 1])
def test_a_short_key_file_is_refused_not_used(tmp_path: Path, length: int) -> None:
    path = tmp_path / "secret.key"
    path.write_bytes(b"k" * length)
    with pytest.raises(SettingsError, match=f"holds {length} bytes"):
        load_key(path)
    assert path.read_bytes() == b"k" * length  # left for the operator to look at, not silently replaced


def test_serve_with_an_empty_key_file_stops_at_start_in_one_line(tmp_path: Path, capsys, monkeypatch) -> None:
    (tmp_path / "secret.key").write_bytes(b"")
    monkeypatch.setenv("SORABOX_DATA_DIR", str(tmp_path))
    assert main(["serve", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "secret.key holds 0 bytes" in err and "Traceback" not in err


def test_a_new_key_is_private_full_length_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    path = tmp_path / "data" / "secret.key"
    key = load_key(path)
    assert len(key) == KEY_BYTES and path.read_bytes() == key
    assert path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["secret.key"]
    assert load_key(path) == key


def test_processes_starting_at_once_agree_on_one_key(tmp_path: Path) -> None:
    path = tmp_path / "secret.key"
    keys: list[bytes] = []
    start = threading.Barrier(8)

    def race() -> None:
        start.wait()
        keys.append(load_key(path))

    threads = [threading.Thread(target=race) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(keys) == 8 and len(set(keys)) == 1 and path.read_bytes() == keys[0]
    signer = Signer(keys[0])
    assert signer.verify("media", "clip:1", Signer(path.read_bytes()).signature("media", "clip:1"))

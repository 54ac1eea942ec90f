"""Suite-wide guards: nothing in the tests may reach the real network or read the operator's configuration."""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _is_local(address: object) -> bool:
    if isinstance(address, str | bytes):  # a UNIX socket path
        return True
    if isinstance(address, tuple) and address:
        host = address[0]
        if host in ("localhost", ""):
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False
    return False


class NetworkAccessAttempted(AssertionError):
    """A test tried to open a connection to a non-loopback address."""


def _guarded_connect(self: socket.socket, address: object) -> None:
    if not _is_local(address):
        raise NetworkAccessAttempted(f"a test tried to reach {address!r}; only loopback is allowed")
    return _real_connect(self, address)  # type: ignore[arg-type]


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    if not _is_local(address):
        raise NetworkAccessAttempted(f"a test tried to reach {address!r}; only loopback is allowed")
    return _real_connect_ex(self, address)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded_connect_ex)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    yield


@pytest.fixture(autouse=True)
def isolated_settings(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Each test gets an empty config path and its own data dir, whatever the developer's shell or checkout holds.

    A `./sorabox.toml` naming a model (which `sorabox model tiny-ltx2 --use` writes) once made a serve test load it and
    serve forever; SORABOX_* variables from the developer's shell would leak in the same way.
    """
    for name in list(os.environ):
        if name.startswith("SORABOX_"):
            monkeypatch.delenv(name)
    home = tmp_path_factory.mktemp("sorabox-home")
    monkeypatch.setenv("SORABOX_CONFIG", str(home / "sorabox.toml"))  # never created: an empty configuration
    monkeypatch.setenv("SORABOX_DATA_DIR", str(home / "data"))
    return home


# Tests that start Chromium, Ray, the tiny LTX-2 model or a whole `sorabox serve` need more than a unit test's limit.
LONG_TEST_TIMEOUT = 180.0
LONG_MARKERS = ("slow", "browser", "ray", "ltx2")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("timeout") is None and any(item.get_closest_marker(m) for m in LONG_MARKERS):
            item.add_marker(pytest.mark.timeout(LONG_TEST_TIMEOUT))

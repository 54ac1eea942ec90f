"""Two "machines" on one host for the two-node Ray test: network namespaces joined by a veth pair.

Each namespace has its own loopback, its own ports and one end of the pair, so a Ray head in one and a
worker in the other talk over a real (virtual) link, as two boxes on a LAN would. Nothing is routed to
or from the host's own network. Needs root and iproute2's `ip`; `unavailable()` says why not otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

CLONE_NEWNET = 0x40000000
# A private range on a link of our own: the addresses exist only inside the two namespaces.
SUBNET = "10.231.0"


class NamespaceError(RuntimeError):
    """An `ip` command failed."""


def _ip(*args: str) -> str:
    result = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30, check=False)
    if result.returncode != 0:
        raise NamespaceError(f"ip {' '.join(args)}: {result.stderr.strip() or result.returncode}")
    return result.stdout


@dataclass(frozen=True)
class Machine:
    """One namespace: its name, its address on the pair, and its own HOME and temp dir (its "disk")."""

    name: str
    address: str
    root: Path

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def tmp(self) -> Path:
        return self.root / "tmp"

    def command(self, *argv: str) -> list[str]:
        """`argv` run inside this machine's network namespace."""
        return ["ip", "netns", "exec", self.name, *argv]

    def pids(self) -> list[int]:
        """Every process in this namespace: all of them were started by the test."""
        try:
            return [int(p) for p in _ip("netns", "pids", self.name).split()]
        except NamespaceError:
            return []

    def pids_named(self, name: str) -> list[int]:
        """The processes in this namespace whose command name is `name` (e.g. "raylet")."""
        found = []
        for pid in self.pids():
            with contextlib.suppress(OSError):
                if Path(f"/proc/{pid}/comm").read_text().strip() == name:
                    found.append(pid)
        return found

    def power_off(self, timeout: float = 10.0) -> None:
        """SIGKILL every process in the namespace, as pulling the plug would, and wait until they are gone."""
        deadline = time.monotonic() + timeout
        while pids := self.pids():
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            if time.monotonic() > deadline:
                raise NamespaceError(f"processes {pids} in {self.name} outlived SIGKILL")
            time.sleep(0.1)

    def socket(self, family: int = socket.AF_INET, kind: int = socket.SOCK_STREAM) -> socket.socket:
        """A socket of this namespace, made by a short-lived thread: setns moves only the calling thread."""
        made: list[socket.socket | BaseException] = []

        def enter_and_make() -> None:
            try:
                libc = ctypes.CDLL(None, use_errno=True)
                with open(f"/run/netns/{self.name}", "rb") as handle:
                    if libc.setns(handle.fileno(), CLONE_NEWNET) != 0:
                        raise OSError(ctypes.get_errno(), f"setns into {self.name}")
                made.append(socket.socket(family, kind))
            except BaseException as exc:
                made.append(exc)
            # The thread ends here, still in the namespace; no other code ever runs on it.

        thread = threading.Thread(target=enter_and_make, name=f"netns-{self.name}")
        thread.start()
        thread.join()
        if isinstance(made[0], BaseException):
            raise made[0]
        return made[0]


def unavailable() -> str | None:
    """Why this host cannot make network namespaces for a test (None when it can)."""
    if os.geteuid() != 0:
        return "network namespaces need root (ip netns add)"
    if shutil.which("ip") is None:
        return "iproute2's `ip` is not installed (scripts/install-system-deps.sh installs it)"
    probe = f"sbx-probe-{uuid.uuid4().hex[:8]}"
    try:
        _ip("netns", "add", probe)
    except NamespaceError as exc:
        return f"cannot create a network namespace here: {exc}"
    with contextlib.suppress(NamespaceError):
        _ip("netns", "del", probe)
    return None


@contextlib.contextmanager
def two_machines() -> Iterator[tuple[Machine, Machine]]:
    """Namespaces "a" (SUBNET.1) and "b" (SUBNET.2) joined by a veth pair; removed with their processes and files."""
    tag = uuid.uuid4().hex[:6]  # interface names are at most 15 characters
    # Short: Ray's socket paths under each machine's temp dir must fit AF_UNIX's 107 bytes (pytest's tmp_path won't).
    root = Path(tempfile.mkdtemp(prefix="sbx-"))
    a = Machine(f"sbx-{tag}-a", f"{SUBNET}.1", root / "a")
    b = Machine(f"sbx-{tag}-b", f"{SUBNET}.2", root / "b")
    made: list[Machine] = []
    try:
        for machine in (a, b):
            _ip("netns", "add", machine.name)
            made.append(machine)
            machine.home.mkdir(parents=True)
            machine.tmp.mkdir(parents=True)
        _ip("link", "add", f"sbx{tag}a", "type", "veth", "peer", "name", f"sbx{tag}b")
        for machine, end in ((a, f"sbx{tag}a"), (b, f"sbx{tag}b")):
            _ip("link", "set", end, "netns", machine.name)
            _ip("-n", machine.name, "addr", "add", f"{machine.address}/24", "dev", end)
            _ip("-n", machine.name, "link", "set", end, "up")
            _ip("-n", machine.name, "link", "set", "lo", "up")
        yield a, b
    finally:
        for machine in made:
            with contextlib.suppress(NamespaceError):
                machine.power_off()
            # Deleting a namespace deletes its end of the pair, and with it the other end.
            with contextlib.suppress(NamespaceError):
                _ip("netns", "del", machine.name)
        shutil.rmtree(root, ignore_errors=True)


class Relay:
    """A loopback port on the host whose connections go on to a loopback port inside a namespace.

    The test's HTTP client stays in the host's namespace; the service it talks to listens on the main
    box's own 127.0.0.1, as it does by default.
    """

    def __init__(self, machine: Machine, port: int) -> None:
        self.machine = machine
        self.port = port
        self.server: asyncio.Server | None = None
        self.clients: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def __aenter__(self) -> Relay:
        self.server = await asyncio.start_server(self._pipe, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        for client in list(self.clients):  # a connection still open ends its two copies
            client.close()
        await self.server.wait_closed()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.clients.add(writer)
        try:
            sock = await asyncio.to_thread(self.machine.socket)
            sock.setblocking(False)
            try:
                await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", self.port))
            except OSError:
                sock.close()
                writer.close()
                return
            inner_reader, inner_writer = await asyncio.open_connection(sock=sock)
            await asyncio.gather(_copy(reader, inner_writer), _copy(inner_reader, writer))
        finally:
            self.clients.discard(writer)


async def _copy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(ConnectionError, OSError, RuntimeError):
            writer.close()

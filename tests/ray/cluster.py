"""A throwaway Ray head on loopback for the Ray tests and the benchmark, stopped by its own process id."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ray_environment() -> dict[str, str]:
    """What every Ray process of these tests runs with: loopback, no token, the repository importable."""
    return {
        **os.environ,
        # Token auth guards a cluster on a network; this one is on loopback and lives for one test run.
        "RAY_AUTH_MODE": "disabled",
        # Single-node mode: otherwise Ray swaps --node-ip-address=127.0.0.1 for this machine's LAN address.
        "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
        "RAY_USAGE_STATS_ENABLED": "0",
        # Replicas import backends such as tests.ray.generators:SlowTone from the checkout.
        "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p),
    }


class LocalCluster:
    """`ray start --head --block` on 127.0.0.1; `stop` ends exactly the processes it started."""

    def __init__(self, log_path: Path, cpus: int = 2) -> None:
        self.port = free_port()
        self.client_port = free_port()
        self.cpus = cpus
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, timeout: float = 90.0) -> None:
        ray = str(Path(sys.executable).with_name("ray"))
        command = [
            ray, "start", "--head", "--block",
            f"--port={self.port}", f"--ray-client-server-port={self.client_port}",
            "--node-ip-address=127.0.0.1", f"--num-cpus={self.cpus}", "--num-gpus=0",
            "--include-dashboard=false", "--disable-usage-stats",
        ]  # fmt: skip
        # Ray's fixed default ports would clash with another head on this machine (a CI run beside ours).
        for option in ("dashboard-agent-listen-port", "metrics-export-port"):
            command.append(f"--{option}={free_port()}")
        seen = self.log_path.stat().st_size if self.log_path.exists() else 0  # a restart appends to the log
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command, cwd=REPO, env=ray_environment(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"ray start exited with {self.process.returncode}; see {self.log_path}")
            # `ray start --block` says so once the head's processes are all up.
            if b"Ray runtime started" in self.log_path.read_bytes()[seen:]:
                return
            time.sleep(0.2)
        raise RuntimeError(f"the Ray head did not start in {timeout:.0f} s; see {self.log_path}")

    def stop(self) -> None:
        """Kill the head at once, as a machine that loses power would (a drained stop takes 30 s with Serve)."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)  # the processes of the session `start` opened
        except ProcessLookupError:
            pass
        self.process.wait()
        self.process = None

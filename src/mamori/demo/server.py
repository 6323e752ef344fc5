"""Run ``mamori serve`` as a child process and wait until it answers: for the demo, the process tests and the
HTTP benchmark, which all need a real server on loopback rather than an in-process client."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import httpx

from mamori.errors import MamoriError


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ServerProcess:
    """``with ServerProcess(url, key) as server: httpx.get(server.base_url + …)``; stopped (SIGTERM) on exit."""

    def __init__(
        self,
        database_url: str,
        guard_key: Path,
        *,
        intel: Path | None = None,
        port: int | None = None,
        log: Path | None = None,
        startup_timeout: float = 30.0,
        workers: int = 1,
    ) -> None:
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        command = [sys.executable, "-m", "mamori.cli.main", "serve", "--database", database_url]
        command += ["--guard-key", str(guard_key), "--port", str(self.port)]
        if intel is not None:
            command += ["--intel", str(intel)]
        if workers > 1:
            command += ["--workers", str(workers)]
        self.command = command
        self.log = log
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> ServerProcess:
        output = self.log.open("ab") if self.log is not None else subprocess.DEVNULL
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(self.command, stdout=output, stderr=output, env=env)  # noqa: S603
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise MamoriError("SERVICE_UNAVAILABLE", reason=f"mamori serve exited with {self.process.returncode}")
            try:
                # Any answer (401 without a key) means the server is up; nothing is readable anonymously.
                httpx.get(self.base_url + "/v1/whoami", timeout=1.0)
            except httpx.TransportError:
                time.sleep(0.1)
            else:
                return self
        self.stop()
        raise MamoriError("SERVICE_UNAVAILABLE", reason=f"mamori serve did not answer within {self.startup_timeout} s")

    def kill(self) -> None:
        """SIGKILL: the crash tests' way of stopping it, mid-write."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(
        self, _type: type[BaseException] | None, _value: BaseException | None, _traceback: TracebackType | None
    ) -> None:
        self.stop()

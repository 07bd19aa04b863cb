"""A real ``meet serve`` process on loopback, for multi-process, fuzzing and load tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """``python -m meet_core.cli serve`` with ``env`` over the current environment.

    ``start()`` waits for ``/__lbheartbeat__``; ``stop()`` terminates it. The database schema
    must exist (run migrations or ``create_schema`` first, or pass ``migrate=True``).
    """

    def __init__(
        self,
        env: Mapping[str, str],
        *,
        workers: int = 1,
        port: int | None = None,
        migrate: bool = False,
        log_path: str | Path | None = None,
    ) -> None:
        # The child imports what this process imports (source trees on sys.path included).
        self.env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p), **env}
        self.port = port or free_port()
        self.workers = workers
        self.migrate = migrate
        self.log_path = Path(log_path) if log_path else None
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> ServerProcess:
        args = [
            sys.executable,
            "-m",
            "meet_core.cli",
            "serve",
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
        ]
        if self.migrate:
            args.append("--migrate")
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self._process = subprocess.Popen(args, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                tail = self.log_path.read_text()[-3000:] if self.log_path else ""
                raise RuntimeError(f"meet serve exited with {self._process.returncode}\n{tail}")
            try:
                if httpx.get(f"{self.url}/__lbheartbeat__", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise TimeoutError(f"meet serve did not answer on {self.url} within {timeout} s")

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

"""A throwaway PostgreSQL cluster that tests may stop and start again (outage tests).

The suite's own PostgreSQL (``MEET_TEST_DATABASE_URL``) is shared by every test; a test that
stops its database needs a cluster of its own: this one, in a temporary folder, on a fixed
loopback port kept across restarts, removed at the end.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator

_BINS = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))


def postgres_installed() -> bool:
    """Whether the PostgreSQL server binaries are there (CI installs them)."""
    return bool(_BINS) or shutil.which("pg_ctl") is not None


class RestartableCluster:
    """A PostgreSQL cluster in a temporary folder, on a fixed loopback port, restartable.

    ``url`` is the asyncpg URL of its ``postgres`` database (user ``meet``, trust auth);
    ``plain_url`` the same for asyncpg itself. Use :func:`restartable_cluster` to have it
    initialised, started and removed.
    """

    def __init__(self) -> None:
        self.bin = _BINS[-1] if _BINS else os.path.dirname(shutil.which("pg_ctl") or "")
        self.dir = tempfile.mkdtemp(prefix="meet-pg-restartable-")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.plain_url = f"postgresql://meet@127.0.0.1:{self.port}/postgres"
        self.url = f"postgresql+asyncpg://meet@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        command = [f"{self.bin}/{args[0]}", *args[1:]]
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            command = ["su", "postgres", "-s", "/bin/sh", "-c", " ".join(command)]
        subprocess.run(command, check=True, capture_output=True, timeout=60)

    def init(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres")
        self._run("initdb", "-D", self.dir, "-U", "meet", "--auth=trust", "-E", "UTF8")

    def start(self) -> None:
        settings = "-c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100"
        options = f"'-p {self.port} -k {self.dir} {settings}'"
        self._run("pg_ctl", "-D", self.dir, "-o", options, "-l", f"{self.dir}/log", "-w", "start")

    def stop(self, mode: str = "fast", wait: bool = True) -> None:
        """``mode``: ``smart`` (waits for sessions), ``fast`` (ends them), ``immediate`` (a crash)."""
        self._run("pg_ctl", "-D", self.dir, "-m", mode, "-w" if wait else "-W", "stop")

    @property
    def running(self) -> bool:
        return os.path.exists(f"{self.dir}/postmaster.pid")

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@contextlib.contextmanager
def restartable_cluster() -> Iterator[RestartableCluster]:
    """A started :class:`RestartableCluster`, removed on exit."""
    server = RestartableCluster()
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.remove()

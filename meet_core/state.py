"""Typed access to what one application holds (plugins reach it through ``meet_core.api``).

Everything lives on ``app.state`` (never in module globals) so tests build apps side by
side. Each accessor takes anything with an ``.app`` (a request) or the app itself. Every
key is set when the application is built (``create_app``) or started (its lifespan), never
by a handler on first use: this module is the list of what ``app.state`` holds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import valkey.asyncio as valkey
    from litestar import Litestar
    from livekit.api import LiveKitAPI, TokenVerifier

    from meet_core.db.batching import Batcher
    from meet_core.http.proxies import TrustedProxies
    from meet_core.meeting.webhook import WebhookSetup
    from meet_core.metrics import Metrics
    from meet_core.pipelined_valkey import PipelinedValkey
    from meet_core.plugins.facade import MeetHooks
    from meet_core.rooms.batched_insert import NewRoom, Outcome
    from meet_core.rooms.service import RoomCache
    from meet_core.settings import Settings
    from meet_core.settings.core import CoreSettings


class _HasApp(Protocol):
    @property
    def app(self) -> Litestar: ...


def _state(holder: Any) -> Any:
    app = getattr(holder, "app", holder)
    return app.state


def settings(holder: _HasApp | Litestar) -> Settings:
    """The application's settings: ``.core`` and each plugin's ``.section(name, cls)``."""
    return _state(holder).settings  # type: ignore[no-any-return]


def core_settings(holder: _HasApp | Litestar) -> CoreSettings:
    return _state(holder).settings.core  # type: ignore[no-any-return]


def hooks(holder: _HasApp | Litestar) -> MeetHooks:
    """The application's typed hook caller; plugins call the hooks they declare through its
    ``call_first``, ``call_all`` and ``notify`` (see docs/hooks.md, "Hooks declared by plugins")."""
    return _state(holder).hooks  # type: ignore[no-any-return]


def valkey_client(holder: _HasApp | Litestar) -> valkey.Valkey:
    """The application's Valkey client (opened in the lifespan)."""
    return _state(holder).valkey  # type: ignore[no-any-return]


def pipelined_valkey(holder: _HasApp | Litestar) -> PipelinedValkey:
    """The application's Valkey client for single commands and scripts on request paths.

    Cheaper per call than :func:`valkey_client` (calls are pipelined automatically); see
    ``meet_core.pipelined_valkey`` for what it cannot do.
    """
    return _state(holder).pipelined_valkey  # type: ignore[no-any-return]


def livekit_api(holder: _HasApp | Litestar) -> LiveKitAPI:
    """The application's one LiveKit server API client (opened in the lifespan)."""
    return _state(holder).livekit  # type: ignore[no-any-return]


def trusted_proxies(holder: _HasApp | Litestar) -> TrustedProxies:
    """The ``TRUSTED_PROXIES`` networks, parsed once when the application is built."""
    return _state(holder).trusted_proxies  # type: ignore[no-any-return]


def room_cache(holder: _HasApp | Litestar) -> RoomCache | None:
    """The worker's cache of rooms (``meet_core.rooms.service.RoomCache``), None when
    ``ROOM_CACHE_TTL`` is 0."""
    return _state(holder).room_cache  # type: ignore[no-any-return]


def room_insertions(holder: _HasApp | Litestar) -> Batcher[NewRoom, Outcome] | None:
    """Room creations batched into shared statements (``meet_core.rooms.batched_insert``);
    None unless the database is PostgreSQL through asyncpg."""
    return _state(holder).room_insertions  # type: ignore[no-any-return]


def frontend_config(holder: _HasApp | Litestar) -> dict[str, Any]:
    """The core's part of ``GET /config/``, computed once per application."""
    return _state(holder).frontend_config  # type: ignore[no-any-return]


def livekit_verifier(holder: _HasApp | Litestar) -> TokenVerifier:
    """Verifies the LiveKit tokens that participants send as bearer tokens."""
    return _state(holder).livekit_verifier  # type: ignore[no-any-return]


def livekit_webhook_setup(holder: _HasApp | Litestar) -> WebhookSetup:
    """The LiveKit webhook's receiver and room filter."""
    return _state(holder).livekit_webhook  # type: ignore[no-any-return]


def metrics(holder: _HasApp | Litestar) -> Metrics | None:
    """The application's Prometheus metrics (``meet_core.metrics.Metrics``); None when
    ``METRICS_ENABLED`` is off. Plugins add gauges with its ``scrape_gauge``."""
    return _state(holder).metrics  # type: ignore[no-any-return]

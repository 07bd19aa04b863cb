"""Operators' tools wired into the application: ``/metrics``, Sentry, the request observer.

``/metrics`` (``METRICS_ENABLED``) answers the Prometheus text format on the API's port, or
only on ``METRICS_PORT`` when that is set: each worker then listens on that port too, with
``SO_REUSEPORT``, and whichever gets a scrape answers for all of them (the values of every
worker are read from ``PROMETHEUS_MULTIPROC_DIR``). With ``METRICS_TOKEN``, a scrape without
``Authorization: Bearer <token>`` is a 401 (compared in constant time).

Sentry (``SENTRY_DSN``) receives unhandled errors: each is logged by the 500 handler, and the
SDK's logging integration turns that record into an event, inside the request's own scope
(``meet_core.http.observe``) which names the route. No personal data: ``send_default_pii``
off, no local variables, no breadcrumbs (log messages), no user, cookies or headers.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from litestar import Litestar, Request, Response, get

from meet_core.metrics import CONTENT_TYPE, Metrics
from meet_core.state import core_settings, metrics

if TYPE_CHECKING:
    from meet_core.settings import Settings
    from meet_core.settings.core import CoreSettings

log = logging.getLogger("meet_core.monitoring")

UNAUTHORIZED = b'{"detail":"Authentication credentials were not provided."}'
_HEAD_LIMIT = 16384


def token_accepted(expected: str | None, authorization: str | None) -> bool:
    """No ``METRICS_TOKEN``: any scrape; else ``Bearer <token>``, compared in constant time."""
    if not expected:
        return True
    given = (authorization or "").removeprefix("Bearer ").strip()
    return hmac.compare_digest(given.encode(), expected.encode())


@get("/metrics", include_in_schema=False)
async def metrics_endpoint(request: Request[Any, Any, Any]) -> Response[bytes]:
    """The Prometheus exposition of every worker's metrics (``METRICS_ENABLED``)."""
    counters = metrics(request)
    assert counters is not None, "the route exists only when metrics are on"
    if not token_accepted(core_settings(request).metrics_token, request.headers.get("authorization")):
        return Response(
            UNAUTHORIZED,
            status_code=401,
            media_type="application/json",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return Response(await counters.render(), media_type=CONTENT_TYPE)


async def _answer_scrape(
    counters: Metrics, token: str | None, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """One HTTP/1.1 exchange on ``METRICS_PORT``: ``GET /metrics``, then the connection closes."""
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=10)
        lines = head[:_HEAD_LIMIT].decode("latin-1").split("\r\n")
        method, target, _ = [*lines[0].split(" "), "", ""][:3]
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if method not in ("GET", "HEAD") or target.split("?")[0] != "/metrics":
            status, body, kind = "404 Not Found", b'{"detail":"Not found."}', "application/json"
        elif not token_accepted(token, headers.get("authorization")):
            status, body, kind = "401 Unauthorized", UNAUTHORIZED, "application/json"
        else:
            status, body, kind = "200 OK", await counters.render(), CONTENT_TYPE
        extra = "WWW-Authenticate: Bearer\r\n" if status.startswith("401") else ""
        writer.write(
            f"HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {len(body)}\r\n{extra}"
            "Connection: close\r\n\r\n".encode("latin-1")
        )
        if method != "HEAD":
            writer.write(body)
        await writer.drain()
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ConnectionError):
        pass
    finally:
        writer.close()


def metrics_lifespan(settings: Settings) -> Callable[[Litestar], Any]:
    """The worker's ``METRICS_PORT`` listener, and its live gauges dropped when it stops."""
    core = settings.core

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        counters = metrics(app)
        assert counters is not None
        server = None
        if core.metrics_port is not None:
            token = core.metrics_token

            async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
                await _answer_scrape(counters, token, reader, writer)

            server = await asyncio.start_server(
                handle, core.metrics_host, core.metrics_port, reuse_port=True, limit=_HEAD_LIMIT
            )
        try:
            yield
        finally:
            if server is not None:
                server.close()
                await server.wait_closed()
            counters.process_exited()

    return lifespan


def count_valkey_errors(exc: BaseException, scope: Any) -> None:
    """``after_exception`` hook: every Valkey error a request meets, whoever answers it."""
    import valkey.exceptions

    if isinstance(exc, valkey.exceptions.ValkeyError):
        counters = metrics(scope["app"])
        if counters is not None:
            counters.valkey_errors.labels(type(exc).__name__).inc()


def init_sentry(core: CoreSettings) -> None:
    """Start the Sentry SDK (``SENTRY_DSN``) for this process, without personal data."""
    import sentry_sdk

    def scrub(event: dict[str, Any], _: Any) -> dict[str, Any]:
        event.pop("user", None)
        request = event.get("request")
        if isinstance(request, dict):
            for key in ("cookies", "headers", "data", "query_string", "env"):
                request.pop(key, None)
        return event

    sentry_sdk.init(
        dsn=core.sentry_dsn,
        environment=core.sentry_environment,
        release=core.sentry_release or core.version,
        send_default_pii=False,
        include_local_variables=False,
        max_breadcrumbs=0,
        # Not the SDK's Litestar integration: it reads every request's body and query, names
        # transactions after functions and reports handled 4xx errors (ours are not
        # HTTPException); the request scope of meet_core.http.observe does what we need.
        auto_enabling_integrations=False,
        before_send=scrub,  # type: ignore[arg-type]
    )


def logging_config(core: CoreSettings) -> Any:
    """Litestar's logging set-up (it configures the root logger when a worker starts): its own
    default, or the same with JSON lines (``LOG_FORMAT=json``)."""
    from litestar.logging import LoggingConfig
    from litestar.types import Empty

    if core.log_format != "json":
        return Empty
    return LoggingConfig(formatters={"standard": {"()": "meet_core.http.observe.JsonFormatter"}})


def observe(app: Litestar, settings: Settings) -> None:
    """Wrap the application in :class:`~meet_core.http.observe.Observed` when anything needs it."""
    from meet_core.http.observe import Observed

    core = settings.core
    counters = metrics(app)
    json_logs = core.log_format == "json"
    if counters is None and not json_logs and not core.sentry_dsn:
        return
    if core.sentry_dsn:
        init_sentry(core)
    app.asgi_handler = Observed(
        app.asgi_handler, metrics=counters, access_log=json_logs, sentry=bool(core.sentry_dsn)
    )

"""Prometheus metrics (``METRICS_ENABLED``), built on ``prometheus_client``.

One :class:`Metrics` per application (tests build several side by side), created only when
metrics are on: with them off nothing here is imported and no code runs on the request path.

Several workers (``meet serve --workers N``) are aggregated the documented ``prometheus_client``
way: ``PROMETHEUS_MULTIPROC_DIR`` names a folder where each process writes its values (``meet
serve`` makes a temporary one when it starts more than one worker), and a scrape, answered by
any worker, reads every process's files (``MultiProcessCollector``). ``prometheus_client``
reads that variable when it is first imported, so this module imports it lazily: ``meet serve``
sets the variable before any worker exists.

What the core counts: requests by route template, method and status with a latency histogram
(``meet_core.http.observe``), LiveKit API calls and failures by method (:func:`livekit_trace`,
on the one ``LiveKitAPI`` client's HTTP session), webhook events by type, Valkey errors, the
database pool's connections. Plugins add gauges read at scrape time (:meth:`Metrics.scrape_gauge`).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

log = logging.getLogger("meet_core.metrics")

#: Request latency buckets, in seconds (the join path answers in milliseconds).
LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
#: Methods counted by name; any other (a client may send anything) is "other": bounded labels.
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_TWIRP_METHOD = re.compile(r"/twirp/livekit\.(\w+)/(\w+)$")
_LIVE_GAUGE_FILE = re.compile(r"^gauge_live\w*_(\d+)\.db$")

ScrapeRead = Callable[[], Awaitable[float]]


def multiprocess_dir() -> str | None:
    """The folder shared by the workers' values, when several processes serve."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class Metrics:
    """The application's metrics and how to render them for a scrape."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.multiprocess = multiprocess_dir()
        self.registry = CollectorRegistry(auto_describe=True)
        reg = self.registry
        self.requests = Counter(
            "meet_http_requests",
            "HTTP requests by route template, method and status.",
            ["route", "method", "status"],
            registry=reg,
        )
        self.request_duration = Histogram(
            "meet_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template and method.",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=reg,
        )
        self.livekit_calls = Counter(
            "meet_livekit_calls", "LiveKit server API calls, by method.", ["method"], registry=reg
        )
        self.livekit_failures = Counter(
            "meet_livekit_failures",
            "LiveKit server API calls that failed, by method and reason (HTTP status or 'transport').",
            ["method", "reason"],
            registry=reg,
        )
        self.webhook_events = Counter(
            "meet_livekit_webhook_events",
            "LiveKit webhook deliveries by event type and outcome.",
            ["event", "outcome"],
            registry=reg,
        )
        self.valkey_errors = Counter(
            "meet_valkey_errors",
            "Valkey errors met while answering requests, by error class.",
            ["error"],
            registry=reg,
        )
        self.db_pool_checked_out = Gauge(
            "meet_db_pool_checked_out",
            "Database connections in use (summed over the live workers).",
            registry=reg,
            multiprocess_mode="livesum",
        )
        self.db_pool_overflow = Gauge(
            "meet_db_pool_overflow",
            "Database connections opened beyond DB_POOL_SIZE (summed over the live workers).",
            registry=reg,
            multiprocess_mode="livesum",
        )
        self._scrape_gauges: dict[str, tuple[str, ScrapeRead]] = {}
        # ``labels()`` takes a lock and builds a key each call: the request path keeps the children.
        self._request_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    # ------------------------------------------------------------------ recording

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        key = (route, method, status)
        children = self._request_children.get(key)
        if children is None:
            label = method if method in HTTP_METHODS else "other"
            children = (
                self.requests.labels(route, label, str(status)),
                self.request_duration.labels(route, label),
            )
            self._request_children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def scrape_gauge(self, name: str, documentation: str, read: ScrapeRead) -> None:
        """Expose gauge ``name``, its value read by ``await read()`` at each scrape.

        For a value shared by every worker (one kept in Valkey or the database): the worker
        answering the scrape reads it once. A failing read leaves the gauge out of that scrape.
        """
        if not re.fullmatch(r"[a-zA-Z_:][a-zA-Z0-9_:]*", name):
            raise ValueError(f"{name!r} is not a Prometheus metric name")
        self._scrape_gauges[name] = (documentation, read)

    def instrument_pool(self, engine: Any) -> None:
        """Follow the SQLAlchemy pool of ``engine`` (an ``AsyncEngine``) on checkouts and checkins."""
        from sqlalchemy import event

        pool = engine.sync_engine.pool
        checked_out = getattr(pool, "checkedout", None)
        overflow = getattr(pool, "overflow", None)

        def update(*_: Any) -> None:
            if checked_out is not None:
                self.db_pool_checked_out.set(checked_out())
            if overflow is not None:
                self.db_pool_overflow.set(max(overflow(), 0))

        event.listen(engine.sync_engine, "checkout", update)
        event.listen(engine.sync_engine, "checkin", update)

    def process_exited(self) -> None:
        """At a worker's shutdown: its live gauges leave the sums."""
        if self.multiprocess:
            from prometheus_client import multiprocess

            multiprocess.mark_process_dead(os.getpid())

    # ------------------------------------------------------------------ rendering

    async def render(self) -> bytes:
        """The exposition text of every worker's metrics and of the scrape-time gauges."""
        from prometheus_client import CollectorRegistry, generate_latest
        from prometheus_client.core import GaugeMetricFamily

        values: list[Any] = []
        for name, (documentation, read) in self._scrape_gauges.items():
            try:
                value = float(await read())
            except Exception as exc:
                log.warning("metric %s not read: %r", name, exc)
                continue
            values.append(GaugeMetricFamily(name, documentation, value=value))
        registry = CollectorRegistry(auto_describe=False)
        if self.multiprocess:
            from prometheus_client import multiprocess

            _forget_dead_processes(self.multiprocess)
            multiprocess.MultiProcessCollector(registry, path=self.multiprocess)
        else:
            registry.register(_Collected(self.registry.collect))
        registry.register(_Collected(lambda: iter(values)))
        return generate_latest(registry)


class _Collected:
    """A collector yielding what ``collect`` gives (a registry's metrics, scrape-time values)."""

    def __init__(self, collect: Callable[[], Iterable[Any]]) -> None:
        self.collect = collect


def _forget_dead_processes(folder: str) -> None:
    """Drop the live gauges of workers that died without a clean shutdown (killed, crashed)."""
    from prometheus_client import multiprocess

    for path in Path(folder).glob("gauge_live*.db"):
        match = _LIVE_GAUGE_FILE.match(path.name)
        if match is None:
            continue
        pid = int(match.group(1))
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            multiprocess.mark_process_dead(pid, folder)
        except PermissionError:
            pass  # alive, another user's


def livekit_method(path: str) -> str:
    """``/twirp/livekit.RoomService/ListRooms`` -> ``RoomService.ListRooms`` (else ``other``)."""
    match = _TWIRP_METHOD.search(path)
    return f"{match.group(1)}.{match.group(2)}" if match else "other"


def livekit_trace(metrics: Metrics) -> Any:
    """An aiohttp ``TraceConfig`` counting the LiveKit client's calls and failures by method.

    Every call of the ``LiveKitAPI`` client (rooms, egress, SIP, ingress...) is one HTTP request
    of its session: counting them there covers every service, the plugins' calls included.
    """
    import aiohttp

    async def on_end(_: Any, __: Any, params: aiohttp.TraceRequestEndParams) -> None:
        method = livekit_method(params.url.path)
        metrics.livekit_calls.labels(method).inc()
        if params.response.status != 200:
            metrics.livekit_failures.labels(method, str(params.response.status)).inc()

    async def on_exception(_: Any, __: Any, params: aiohttp.TraceRequestExceptionParams) -> None:
        method = livekit_method(params.url.path)
        metrics.livekit_calls.labels(method).inc()
        metrics.livekit_failures.labels(method, "transport").inc()

    trace = aiohttp.TraceConfig()
    trace.on_request_end.append(on_end)
    trace.on_request_exception.append(on_exception)
    return trace

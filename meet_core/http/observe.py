"""What operators see of each request: metrics, a JSON access log line, Sentry's scope.

:class:`Observed` wraps the whole application (outside the host guard, so every answer is
seen) and is installed only when something needs it (``METRICS_ENABLED``, ``LOG_FORMAT=json``
or ``SENTRY_DSN``): with all three off the request path is unchanged.

The route of a request is Litestar's path template (``/api/v1.0/rooms/{room_id}``), read from
the scope once routing has run; a request that matched no route is ``unmatched``. Raw paths
never become labels: their number is unbounded.

The access line (``LOG_FORMAT=json``, logger ``meet_core.access``) holds the method, route,
path, status, duration and request id. Not the query string (it may carry tokens or e-mail
addresses), nor the client's address, cookies or headers: no personal data. The request id
is the client's ``X-Request-ID`` when it is 1 to 128 characters of ``A-Z a-z 0-9 . _ : -``
(what a proxy such as nginx's ``$request_id`` sends), else a new one; it is sent back in the
response's ``X-Request-ID``.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from meet_core.metrics import Metrics

access_log = logging.getLogger("meet_core.access")

REQUEST_ID_HEADER = b"x-request-id"
_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:-]{1,128}")
UNMATCHED = "unmatched"


def request_id(scope: dict[str, Any]) -> str:
    """The client's ``X-Request-ID`` when well-formed, else a new one."""
    for key, value in scope["headers"]:
        if key == REQUEST_ID_HEADER:
            if _REQUEST_ID.fullmatch(value):
                return str(value.decode("ascii"))
            break
    return uuid.uuid4().hex


class Observed:
    """ASGI wrapper: times each HTTP request and reports it to what is on."""

    def __init__(self, app: Any, *, metrics: Metrics | None, access_log: bool, sentry: bool) -> None:
        self.app = app
        self.metrics = metrics
        self.access_log = access_log
        self.sentry = sentry

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        path = scope["path"]  # as asked: routing drops a trailing slash
        status = 500  # when the application fails before answering
        rid = request_id(scope) if self.access_log else None
        rid_header = (REQUEST_ID_HEADER, rid.encode("ascii")) if rid else None

        async def observed_send(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                if rid_header is not None:
                    message["headers"] = [*message.get("headers", ()), rid_header]
            await send(message)

        try:
            if self.sentry:
                await self._with_sentry_scope(scope, receive, observed_send, rid, path)
            else:
                await self.app(scope, receive, observed_send)
        finally:
            seconds = time.perf_counter() - start
            route = scope.get("path_template") or UNMATCHED
            if self.metrics is not None:
                self.metrics.observe_request(route, scope["method"], status, seconds)
            if self.access_log:
                access_log.info(
                    "%s %s %s",
                    scope["method"],
                    path,
                    status,
                    extra={
                        "http": {
                            "method": scope["method"],
                            "route": route,
                            "path": path,
                            "status": status,
                            "duration_ms": round(seconds * 1000, 3),
                        },
                        "request_id": rid,
                    },
                )

    async def _with_sentry_scope(
        self, scope: Any, receive: Any, send: Any, rid: str | None, path: str
    ) -> None:
        """The request's own Sentry scope: its events carry the route, the method and the path,
        the request id, and nothing about the caller (no cookies, headers, address, user)."""
        import sentry_sdk

        def describe(event: dict[str, Any], _: Any) -> dict[str, Any]:
            route = scope.get("path_template") or UNMATCHED
            event["transaction"] = route
            event["transaction_info"] = {"source": "route"}
            event["request"] = {"method": scope["method"], "url": path}
            event.setdefault("tags", {})["route"] = route
            if rid:
                event["tags"]["request_id"] = rid
            return event

        with sentry_sdk.isolation_scope() as sentry_scope:
            sentry_scope.add_event_processor(describe)  # type: ignore[arg-type]
            await self.app(scope, receive, send)


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, and the access line's fields."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        http = getattr(record, "http", None)
        if http is not None:
            line.update(http)
            line["request_id"] = getattr(record, "request_id", None)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)

    converter = time.gmtime  # type: ignore[assignment]


def use_json_logs() -> None:
    """Every handler of the root logger writes JSON lines (``LOG_FORMAT=json``)."""
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.StreamHandler())
    for handler in root.handlers:
        handler.setFormatter(JsonFormatter())

"""Errors in the old system's shapes (spec/api.md §0.4).

``{"detail": ...}`` for 401/403/404/405/429, field maps ``{"field": ["message"]}`` for 400,
and :class:`ApiError` for the endpoints that answer another shape (``{"error": ...}``,
``{"message": ...}``, ``{"status": "error"}``). A peer that is down is a 503 (database,
Valkey) or 502 (LiveKit), never a 500.
"""

from __future__ import annotations

import logging
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from litestar.types import ExceptionHandlersMap

log = logging.getLogger("meet_core.http")

DEFAULT_DETAILS = {
    400: "Bad request.",
    401: "Authentication credentials were not provided.",
    403: "You do not have permission to perform this action.",
    404: "Not found.",
    406: "Could not satisfy the request Accept header.",
    415: "Unsupported media type in request.",
    429: "Request was throttled.",
}


class ApiError(Exception):
    """Answer ``status`` with exactly ``body`` (any JSON value)."""

    def __init__(self, status_code: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status_code}: {body!r}")
        self.status_code = status_code
        self.body = body
        self.headers = headers or {}


class FieldErrors(ApiError):
    """A 400 with a field map: ``{"name": ["This field is required."]}``."""

    def __init__(self, errors: dict[str, Any]) -> None:
        super().__init__(400, errors)


def detail(status_code: int, message: str, headers: dict[str, str] | None = None) -> ApiError:
    """An ``{"detail": message}`` error."""
    return ApiError(status_code, {"detail": message}, headers)


def not_found(message: str = "Not found.") -> ApiError:
    """404 ``{"detail": message}`` (raise it)."""
    return detail(404, message)


def not_authenticated() -> ApiError:
    """401 with ``WWW-Authenticate: Session``, as DRF's session authentication answers."""
    return detail(401, DEFAULT_DETAILS[401], {"WWW-Authenticate": "Session"})


def permission_denied(message: str = DEFAULT_DETAILS[403]) -> ApiError:
    """403 ``{"detail": message}``, DRF's default message unless given (raise it)."""
    return detail(403, message)


class ServiceUnavailable(ApiError):
    """A peer we depend on is down: 503 for the database and Valkey, 502 for LiveKit."""

    def __init__(self, service: str, status_code: int = 503) -> None:
        super().__init__(status_code, {"detail": f"{service} is unavailable, please retry later."})
        self.service = service


def _json(status_code: int, body: Any, headers: dict[str, str] | None = None) -> Response[Any]:
    return Response(content=body, status_code=status_code, headers=headers, media_type=MediaType.JSON)


def _api_error(_: Request[Any, Any, Any], exc: ApiError) -> Response[Any]:
    return _json(exc.status_code, exc.body, exc.headers)


def _validation_error(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    fields: dict[str, list[str]] = {}
    for item in exc.extra or []:
        if isinstance(item, dict) and item.get("key"):
            fields.setdefault(str(item["key"]), []).append(str(item.get("message", "Invalid value.")))
    if fields:
        return _json(400, fields)
    message = str(exc.detail or "")
    if "JSON" in message or "decode" in message.lower() or "malformed" in message.lower():
        return _json(400, {"detail": f"JSON parse error - {message}"})
    return _json(400, {"detail": message or DEFAULT_DETAILS[400]})


def _http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    headers = dict(exc.headers or {})
    if status == 405:
        message = f'Method "{request.method}" not allowed.'
    elif status in DEFAULT_DETAILS and (not exc.detail or exc.detail == _default_phrase(status)):
        message = DEFAULT_DETAILS[status]
    else:
        message = str(exc.detail)
    if status == 401:
        headers.setdefault("WWW-Authenticate", "Session")
    if status >= 500:
        log.error("HTTP %s on %s %s: %s", status, request.method, request.url.path, exc.detail)
    return _json(status, {"detail": message}, headers)


def _default_phrase(status: int) -> str:
    from http import HTTPStatus

    return HTTPStatus(status).phrase


def _unavailable(service: str, status: int = 503) -> Any:
    def handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
        log.warning("%s unavailable on %s %s: %r", service, request.method, request.url.path, exc)
        return _api_error(request, ServiceUnavailable(service, status))

    return handler


#: SQLSTATEs of a PostgreSQL that cannot serve now: class 08 (connection exception), shut
#: down by an administrator or a crash, "cannot connect now" (starting or stopping), too
#: many connections.
_UNAVAILABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300"})


def database_unreachable(exc: BaseException) -> bool:
    """True when ``exc`` says the database cannot be reached now (not that a statement failed).

    SQLAlchemy wraps asyncpg's errors in ``DBAPIError`` (a generic one for ``CannotConnectNowError``
    and the other server-side refusals), flags a dropped connection ``connection_invalidated``,
    and lets errors raised while connecting (``OSError``, a timeout) through unwrapped.
    """
    import sqlalchemy.exc

    if isinstance(exc, sqlalchemy.exc.DBAPIError):
        if exc.connection_invalidated or isinstance(
            exc, sqlalchemy.exc.OperationalError | sqlalchemy.exc.InterfaceError
        ):
            return True
        return database_unreachable(exc.orig) if exc.orig is not None else False
    if isinstance(exc, OSError | TimeoutError | sqlalchemy.exc.TimeoutError):
        return True  # refused, reset, unreachable host, a connect or pool checkout timeout
    sqlstate = getattr(exc, "sqlstate", None)
    if isinstance(sqlstate, str) and (sqlstate.startswith("08") or sqlstate in _UNAVAILABLE_SQLSTATES):
        return True
    cause = exc.__cause__
    return cause is not None and cause is not exc and database_unreachable(cause)


def unavailable_peer(exc: BaseException) -> str | None:
    """The peer that ``exc`` says is down ("Database", "Valkey", "LiveKit"), or None for any
    other error: best-effort work (plugin notifications) logs an outage in one line, not as a bug."""
    import aiohttp
    import valkey.exceptions

    if isinstance(exc, valkey.exceptions.ConnectionError | valkey.exceptions.TimeoutError):
        return "Valkey"
    if isinstance(exc, aiohttp.ClientConnectionError):
        return "LiveKit"
    if isinstance(exc, TimeoutError | ConnectionError) and (peer := _raised_by(exc)) is not None:
        return peer
    if database_unreachable(exc):
        return "Database"
    return None


def _database_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """503 when the database is unreachable (starting, stopping, restarting), else a 500."""
    if database_unreachable(exc):
        return _unavailable("Database")(request, exc)
    return _internal_error(request, exc)


#: Twirp codes of a LiveKit that cannot serve now (its 5xx): a 502, not our 500.
_LIVEKIT_DOWN_CODES = frozenset(
    {"unavailable", "deadline_exceeded", "canceled", "internal", "unknown", "dataloss"}
)
#: Whose code raised a bare ``TimeoutError``/``ConnectionError``, by the module of the frames.
_PEER_MODULES = (
    ("livekit", "LiveKit"), ("aiohttp", "LiveKit"), ("valkey", "Valkey"),
    ("asyncpg", "Database"), ("sqlalchemy", "Database"), ("aiosqlite", "Database"),
)  # fmt: skip


def _raised_by(exc: BaseException) -> str | None:
    """The peer whose client library raised ``exc`` (innermost frame first), or None."""
    frames = []
    tb = exc.__traceback__
    while tb is not None:
        frames.append(tb.tb_frame.f_globals.get("__name__", ""))
        tb = tb.tb_next
    for module in reversed(frames):
        for prefix, peer in _PEER_MODULES:
            if module == prefix or module.startswith(prefix + "."):
                return peer
    return None


def _livekit_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """A LiveKit 5xx (after the client's own retries) that no handler caught: 502, else a 500."""
    if getattr(exc, "status", 500) >= 500 or getattr(exc, "code", "") in _LIVEKIT_DOWN_CODES:
        return _unavailable("LiveKit", 502)(request, exc)
    return _internal_error(request, exc)


def _bare_timeout_or_reset(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """A timeout or a refused/reset connection that no client library wrapped (aiohttp's total
    timeout, asyncpg connecting): the peer whose code raised it is unavailable."""
    peer = _raised_by(exc) or ("Database" if isinstance(exc, ConnectionError) else None)
    if peer is None:
        return _internal_error(request, exc)
    return _unavailable(peer, 502 if peer == "LiveKit" else 503)(request, exc)


def _deleted_meanwhile(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """A row updated after another request deleted it (a ``StaleDataError``): 404, not 500."""
    log.info("%s %s: the object was deleted meanwhile: %s", request.method, request.url.path, exc)
    return _json(404, {"detail": DEFAULT_DETAILS[404]})


def _internal_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if isinstance(exc, HTTPException):
        return _http_exception(request, exc)
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return _json(HTTP_500_INTERNAL_SERVER_ERROR, {"detail": "Internal server error."})


def _asyncpg_handlers() -> ExceptionHandlersMap:
    """asyncpg's own errors, raised unwrapped while a pool connects (none when not installed)."""
    try:
        import asyncpg
    except ImportError:
        return {}
    return {
        asyncpg.PostgresError: _database_error,  # CannotConnectNowError, AdminShutdownError...
        asyncpg.InterfaceError: _unavailable("Database"),  # ConnectionDoesNotExistError...
    }


def exception_handlers() -> ExceptionHandlersMap:
    """The application's exception handlers, most specific first."""
    import aiohttp
    import livekit.api
    import sqlalchemy.exc
    import sqlalchemy.orm.exc
    import valkey.exceptions

    handlers: ExceptionHandlersMap = {
        **_asyncpg_handlers(),
        ApiError: _api_error,
        ValidationException: _validation_error,
        HTTPException: _http_exception,
        valkey.exceptions.ConnectionError: _unavailable("Valkey"),
        valkey.exceptions.TimeoutError: _unavailable("Valkey"),
        sqlalchemy.orm.exc.StaleDataError: _deleted_meanwhile,
        sqlalchemy.exc.DBAPIError: _database_error,  # OperationalError, InterfaceError...
        sqlalchemy.exc.TimeoutError: _unavailable("Database"),  # no pooled connection in time
        ConnectionError: _bare_timeout_or_reset,  # refused or reset while connecting
        TimeoutError: _bare_timeout_or_reset,
        aiohttp.ClientConnectionError: _unavailable("LiveKit", 502),
        livekit.api.ServerError: _livekit_error,
        Exception: _internal_error,
    }
    return handlers

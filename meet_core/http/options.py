"""``OPTIONS`` on any path answers ``Allow`` with every method of the path.

Litestar adds an ``OPTIONS`` handler to a path when its first handler is registered, and
that handler keeps listing the methods of that first handler only: ``rooms/{id}/``, served
by four handlers, answered ``Allow: GET, OPTIONS``. The application registers one explicit
``OPTIONS`` handler per path instead, before the others, with the union of their methods.
CORS preflights never reach it: Litestar's CORS middleware answers them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from litestar import MediaType, Response, route
from litestar.handlers import HTTPRouteHandler
from litestar.status_codes import HTTP_204_NO_CONTENT
from litestar.utils import normalize_path

#: ``opt={UNROUTED: True}`` on a handler that only answers 405 for methods the path lacks:
#: its methods are not listed in ``Allow``.
UNROUTED = "unrouted"


def _options_handler(path: str, methods: set[str]) -> HTTPRouteHandler:
    headers = {"Allow": ", ".join(sorted(methods | {"OPTIONS"}))}

    def options() -> Response[None]:
        return Response(None, status_code=HTTP_204_NO_CONTENT, headers=headers, media_type=MediaType.TEXT)

    return route(path, http_method="OPTIONS", include_in_schema=False, sync_to_thread=False)(options)


def options_handlers(route_handlers: Iterable[Any]) -> list[HTTPRouteHandler]:
    """One ``OPTIONS`` handler per path of ``route_handlers``; register them first.

    Routers and controllers among ``route_handlers`` keep Litestar's own ``OPTIONS``.
    """
    methods: dict[str, set[str]] = {}
    for handler in route_handlers:
        if not isinstance(handler, HTTPRouteHandler):
            continue
        for path in handler.paths:
            allowed = methods.setdefault(normalize_path(path), set())
            if not handler.opt.get(UNROUTED):
                allowed.update(handler.http_methods)
    return [_options_handler(path, allowed) for path, allowed in methods.items() if "OPTIONS" not in allowed]

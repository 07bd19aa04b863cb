"""Dockerflow endpoints: ``/__heartbeat__`` (database and Valkey), ``/__lbheartbeat__``, ``/__version__``."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import MediaType, Request, Response, get
from litestar.di import NamedDependency
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from meet_core import __version__
from meet_core.state import core_settings, valkey_client


async def _check(coro: Any) -> str:
    try:
        await asyncio.wait_for(coro, timeout=3)
    except Exception as exc:
        return f"error: {type(exc).__name__}"
    return "ok"


@get("/__heartbeat__", include_in_schema=False)
async def heartbeat(
    request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
) -> Response[dict[str, Any]]:
    """200 when the database and Valkey answer, else 503 naming the part that failed."""
    checks = {
        "database": await _check(db_session.execute(text("SELECT 1"))),
        "valkey": await _check(valkey_client(request).ping()),
    }
    ok = all(v == "ok" for v in checks.values())
    return Response(
        {"status": "ok" if ok else "error", "checks": checks},
        status_code=200 if ok else 503,
        media_type=MediaType.JSON,
    )


@get("/__lbheartbeat__", include_in_schema=False)
async def lbheartbeat() -> Response[str]:
    """200 as long as the process serves requests (for load balancers)."""
    return Response("", status_code=200, media_type=MediaType.TEXT)


@get("/__version__", include_in_schema=False)
async def version(request: Request[Any, Any, Any]) -> dict[str, str]:
    core = core_settings(request)
    return {
        "source": "https://github.com/suitenumerique/meet",
        "version": __version__,
        "commit": core.commit,
        "build": core.version,
    }


ROUTES = [heartbeat, lbheartbeat, version]

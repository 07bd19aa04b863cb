"""The application factory: settings, plugins, database, Valkey, LiveKit, routes.

``create_app()`` builds everything from the environment; tests pass ``env=`` (a mapping
used instead of the environment) and ``plugins=`` (plugin objects or classes, which turns
entry-point discovery off) to build several independent apps in one process.
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import logging
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from advanced_alchemy.extensions.litestar import SQLAlchemyPlugin
from litestar import Litestar, MediaType, Request, get
from litestar.config.cors import CORSConfig
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from livekit.api import TokenVerifier

from meet_core import __version__
from meet_core.cache import PrivateValkey, connect
from meet_core.db import CORE_MODEL_MODULES, import_models
from meet_core.db.config import database_config
from meet_core.frontend_config import core_frontend_config
from meet_core.generations import before_send_handler, logged_in_caches
from meet_core.http import API_PREFIX
from meet_core.http.errors import exception_handlers
from meet_core.http.frontend import serve_frontend
from meet_core.http.options import options_handlers
from meet_core.http.proxies import AllowedHosts, HostGuard, TrustedProxies
from meet_core.identity.oidc import oidc_lifespan
from meet_core.identity.sessions import provide_current_user, provide_user
from meet_core.livekit.client import open_livekit
from meet_core.meeting.webhook import webhook_setup
from meet_core.metrics import Metrics
from meet_core.monitoring import (
    count_valkey_errors,
    logging_config,
    metrics_endpoint,
    metrics_lifespan,
    observe,
)
from meet_core.pipelined_valkey import PipelinedValkey
from meet_core.plugins.facade import MeetHooks
from meet_core.plugins.manager import build_plugin_manager
from meet_core.rooms.batched_insert import room_insertions
from meet_core.rooms.service import RoomCache
from meet_core.routes import CORE_ROUTE_MODULES
from meet_core.settings import CoreSettings, Settings, SettingsError, load_section, read_environment
from meet_core.settings.sources import name_clashes

log = logging.getLogger("meet_core")


def load_settings(
    env: Mapping[str, str] | None = None, plugins: Iterable[Any] | None = None
) -> tuple[Settings, MeetHooks]:
    """Read every section (core and enabled plugins) and report all invalid variables at once."""
    env_map = dict(read_environment() if env is None else env)
    errors: list[str] = []
    core = load_section(CoreSettings, env_map, errors)
    if core is None:
        raise SettingsError(errors)
    hooks = MeetHooks(build_plugin_manager(core, plugins, env_map))
    classes = hooks.settings_classes()
    clashes = name_clashes({"core": CoreSettings, **classes})
    if clashes:
        raise SettingsError(clashes)
    sections = {}
    for name, cls in classes.items():
        section = load_section(cls, env_map, errors)
        if section is not None:
            sections[name] = section
    if errors:
        raise SettingsError(errors)
    return Settings(core, sections, env_map), hooks


def cors_config(core: CoreSettings) -> CORSConfig | None:
    """CORS with credentials for the configured origins (the frontend may live elsewhere)."""
    if not (core.cors_allowed_origins or core.cors_allowed_origin_regexes or core.cors_allow_all_origins):
        return None
    regex = "|".join(f"(?:{r})" for r in core.cors_allowed_origin_regexes) or None
    return CORSConfig(
        # "Allow all" matches every origin by regex so the origin is echoed: browsers refuse
        # "Access-Control-Allow-Origin: *" on credentialed requests.
        allow_origins=[] if core.cors_allow_all_origins else list(core.cors_allowed_origins),
        allow_origin_regex=".*" if core.cors_allow_all_origins else regex,
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
        allow_headers=[
            "content-type",
            "x-csrftoken",
            "authorization",
            "accept",
            "origin",
            "x-requested-with",
        ],
        allow_credentials=True,
        max_age=86400,
    )


def _lifespan(settings: Settings, hooks: MeetHooks) -> Any:
    core = settings.core

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        private: PrivateValkey | None = None
        url = core.redis_url
        if not url:
            private = PrivateValkey(core.meet_data_dir)
            url = await asyncio.to_thread(private.start)
        app.state.valkey = connect(url)
        app.state.pipelined_valkey = PipelinedValkey(url)
        try:
            async with open_livekit(core, app.state.metrics) as livekit, AsyncExitStack() as stack:
                app.state.livekit = livekit
                for context in hooks.lifespans(app):
                    await stack.enter_async_context(context)
                yield
        finally:
            await app.state.pipelined_valkey.aclose()
            await app.state.valkey.aclose()
            if private is not None:
                await asyncio.to_thread(private.stop)

    return lifespan


@get(f"{API_PREFIX}/swagger.json", include_in_schema=False, media_type=MediaType.JSON)
async def openapi_json(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """The OpenAPI schema at the old system's path."""
    return request.app.openapi_schema.to_schema()


def create_app(
    settings: Settings | None = None,
    plugins: Iterable[Any] | None = None,
    *,
    env: Mapping[str, str] | None = None,
) -> Litestar:
    """Build the Meet application.

    ``settings``: complete settings (else read from ``env`` or the environment).
    ``plugins``: plugin objects or classes to register instead of the installed entry points.
    """
    if settings is None:
        settings, hooks = load_settings(env, plugins)
    else:
        hooks = MeetHooks(build_plugin_manager(settings.core, plugins, settings.env))
    hooks.configure(settings)
    import_models(CORE_MODEL_MODULES + hooks.model_modules())

    route_handlers: list[Any] = [openapi_json]
    for module in CORE_ROUTE_MODULES:
        route_handlers.extend(importlib.import_module(module).ROUTES)
    route_handlers.extend(hooks.route_handlers(settings))
    metrics = Metrics() if settings.core.metrics_enabled else None  # docs/deploy.md, "Metrics"
    if metrics is not None and settings.core.metrics_port is None:
        route_handlers.append(metrics_endpoint)
    route_handlers = [*options_handlers(route_handlers), *route_handlers]

    db_config = database_config(settings.core)
    # Commit, then bump the generation stamps of what the commit changed (meet_core.generations).
    db_config.before_send_handler = before_send_handler(
        db_config.session_scope_key, lambda app: app.state.pipelined_valkey
    )
    app = Litestar(
        route_handlers=route_handlers,
        plugins=[SQLAlchemyPlugin(config=db_config), *hooks.litestar_plugins(settings)],
        dependencies={
            "user": Provide(provide_user),
            "current_user": Provide(provide_current_user),
        },
        exception_handlers=exception_handlers(),
        cors_config=cors_config(settings.core),
        lifespan=[
            _lifespan(settings, hooks),
            oidc_lifespan,
            *([metrics_lifespan(settings)] if metrics is not None else []),
        ],
        after_exception=[count_valkey_errors] if metrics is not None else [],
        openapi_config=OpenAPIConfig(
            title="Meet API",
            version=__version__,
            path=f"{API_PREFIX}/swagger",
            render_plugins=[SwaggerRenderPlugin(path="/")],
        ),
        debug=settings.core.debug,
        logging_config=logging_config(settings.core),
        request_max_body_size=settings.core.data_upload_max_memory_size,
    )
    app.state.trusted_proxies = proxies = TrustedProxies(settings.core.trusted_proxies)
    handler = app.asgi_handler
    if settings.core.meet_frontend_dist:  # the UI beside the API, as Meet's nginx serves it
        handler = serve_frontend(handler, settings.core.meet_frontend_dist, [r.path for r in app.routes])
    app.asgi_handler = HostGuard(handler, AllowedHosts(settings.core.allowed_hosts), proxies)
    app.state.settings = settings
    app.state.hooks = hooks
    app.state.db_config = db_config
    # What handlers read on every request is built here, never on first use (meet_core.state).
    core = settings.core
    app.state.room_cache = RoomCache(core.room_cache_ttl) if core.room_cache_ttl > 0 else None
    app.state.frontend_config = core_frontend_config(settings)
    app.state.logged_in_caches = logged_in_caches(core.logged_in_cache_ttl)
    app.state.livekit_verifier = TokenVerifier(core.livekit_api_key, core.livekit_api_secret)
    app.state.livekit_webhook = webhook_setup(core)
    app.state.metrics = metrics
    engine = db_config.get_engine()
    # PostgreSQL: concurrent creations share one statement (meet_core.rooms.batched_insert).
    app.state.room_insertions = room_insertions(engine) if engine.dialect.driver == "asyncpg" else None
    if metrics is not None:
        metrics.instrument_pool(engine)
    observe(app, settings)  # metrics, JSON access log, Sentry: nothing on the request path when off
    return app


def create_served_app() -> Litestar:
    """``meet serve``'s factory, run in each worker: :func:`create_app`, then a frozen heap.

    A full garbage collection walks every tracked object, and start-up leaves about 170,000
    of them (routes, models, the colour cache...): a pause of about 100 ms every 20,000
    requests or so, felt by every request in flight (it showed in the p99). ``gc.freeze()``
    moves them out of the collector's sight, so the pauses only walk what requests created.

    A young-generation collection starts whenever 700 more container objects are alive than
    at the last one: with 30 requests in flight (each holding its dicts, rows, protobuf
    event...) that is several collections per 100 requests, about 6 µs of CPU per request
    (4% of a webhook), for requests whose objects are freed by reference counting anyway
    (they make no cycles). At 10,000 the young collections stop under that load, and the
    older generations, counted in young collections, run as rarely.
    """
    app = create_app()
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, 10, 10)
    return app


#: ``gc.set_threshold``'s first value in the served workers (Python's default: 700).
GC_YOUNG_THRESHOLD = 10_000

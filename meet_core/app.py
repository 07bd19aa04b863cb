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

from advanced_alchemy.extensions.litestar import (
    AsyncSessionConfig,
    EngineConfig,
    SQLAlchemyAsyncConfig,
    SQLAlchemyPlugin,
)
from litestar import Litestar, MediaType, Request, get
from litestar.config.cors import CORSConfig
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from sqlalchemy import event

from meet_core import __version__
from meet_core.cache import PrivateValkey, connect
from meet_core.db import CORE_MODEL_MODULES, import_models
from meet_core.db.migrate import ensure_sqlite_folder
from meet_core.http import API_PREFIX
from meet_core.http.errors import exception_handlers
from meet_core.http.options import options_handlers
from meet_core.identity.oidc import oidc_lifespan
from meet_core.identity.sessions import provide_current_user, provide_user
from meet_core.livekit.client import open_livekit
from meet_core.pipelined_valkey import PipelinedValkey
from meet_core.plugins.facade import MeetHooks
from meet_core.plugins.manager import build_plugin_manager
from meet_core.routes import CORE_ROUTE_MODULES
from meet_core.settings import CoreSettings, Settings, SettingsError, load_section, read_environment

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
    hooks = MeetHooks(build_plugin_manager(core, plugins))
    sections = {}
    for name, cls in hooks.settings_classes().items():
        section = load_section(cls, env_map, errors)
        if section is not None:
            sections[name] = section
    if errors:
        raise SettingsError(errors)
    return Settings(core, sections, env_map), hooks


def database_config(core: CoreSettings) -> SQLAlchemyAsyncConfig:
    """advanced-alchemy config: one engine per app, commit on 2xx and roll back otherwise."""
    url = core.build_database_url()
    engine: dict[str, Any] = {"echo": core.db_echo}
    if url.startswith("sqlite"):
        ensure_sqlite_folder(url)
    else:
        engine.update(
            pool_size=core.db_pool_size, max_overflow=core.db_pool_size, pool_pre_ping=core.db_pool_pre_ping
        )
    config = SQLAlchemyAsyncConfig(
        connection_string=url,
        before_send_handler="autocommit",
        session_dependency_key="db_session",
        session_config=AsyncSessionConfig(expire_on_commit=False),
        engine_config=EngineConfig(**engine),
        set_default_exception_handler=False,
    )
    if url.startswith("sqlite"):
        # Foreign keys (and so ON DELETE CASCADE) are off by default in SQLite.
        @event.listens_for(config.get_engine().sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=5000")
            cursor.close()

    return config


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
            async with open_livekit(core) as livekit, AsyncExitStack() as stack:
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
        hooks = MeetHooks(build_plugin_manager(settings.core, plugins))
    hooks.configure(settings)
    import_models(CORE_MODEL_MODULES + hooks.model_modules())

    route_handlers: list[Any] = [openapi_json]
    for module in CORE_ROUTE_MODULES:
        route_handlers.extend(importlib.import_module(module).ROUTES)
    route_handlers.extend(hooks.route_handlers(settings))
    route_handlers = [*options_handlers(route_handlers), *route_handlers]

    db_config = database_config(settings.core)
    app = Litestar(
        route_handlers=route_handlers,
        plugins=[SQLAlchemyPlugin(config=db_config), *hooks.litestar_plugins(settings)],
        dependencies={
            "user": Provide(provide_user),
            "current_user": Provide(provide_current_user),
        },
        exception_handlers=exception_handlers(),
        cors_config=cors_config(settings.core),
        lifespan=[_lifespan(settings, hooks), oidc_lifespan],
        openapi_config=OpenAPIConfig(
            title="Meet API",
            version=__version__,
            path=f"{API_PREFIX}/swagger",
            render_plugins=[SwaggerRenderPlugin(path="/")],
        ),
        debug=settings.core.debug,
    )
    app.state.settings = settings
    app.state.hooks = hooks
    app.state.db_config = db_config
    return app


def create_served_app() -> Litestar:
    """``meet serve``'s factory, run in each worker: :func:`create_app`, then a frozen heap.

    A full garbage collection walks every tracked object, and start-up leaves about 170,000
    of them (routes, models, the colour cache...): a pause of about 100 ms every 20,000
    requests or so, felt by every request in flight (it showed in the p99). ``gc.freeze()``
    moves them out of the collector's sight, so the pauses only walk what requests created.
    """
    app = create_app()
    gc.collect()
    gc.freeze()
    return app

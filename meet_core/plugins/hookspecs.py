"""Every hook of the Meet server, in one place (pluggy project ``meet``).

Two kinds of hooks:

* App-building hooks are synchronous and run while ``create_app`` builds the application.
* Runtime hooks run while serving requests; an implementation may be ``async def``. The core
  awaits every result through :mod:`meet_core.plugins.facade`, never through ``pm.hook``.

Each implementation may accept any subset of the arguments, by name. ``docs/hooks.md`` documents
each hook with its exact signature; ``tests/plugins/test_hook_docs.py`` fails when one is missing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import click
    import msgspec
    from litestar import Litestar, Request
    from litestar.plugins import PluginProtocol
    from litestar.types import ControllerRouterHandler
    from livekit.api import VideoGrants, WebhookEvent
    from sqlalchemy.ext.asyncio import AsyncSession

    from meet_core.plugins.types import JoinDecision
    from meet_core.rooms.models import Room
    from meet_core.settings import Settings
    from meet_core.users.models import User

PROJECT = "meet"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# --------------------------------------------------------------------------- app-building hooks


@hookspec(historic=True)
def meet_add_hookspecs(pluginmanager: pluggy.PluginManager) -> None:
    """Add this plugin's own hookspecs, so that other plugins can implement them.

    Called once per application when the plugin is registered (historic: a plugin registered
    later is still called). Implement it as ``pluginmanager.add_hookspecs(my_hookspecs_module)``
    and nothing else. Implementations of the added hooks may be registered before or after
    their spec: they are validated once every plugin is registered. Call the added hooks
    through ``meet_core.state.hooks(request).call_first / call_all / notify``. Returns nothing.
    """


@hookspec
def meet_settings_class() -> type[msgspec.Struct] | None:
    """Return the msgspec Struct of this plugin's settings section, or None.

    Called once per application before any other hook of the plugin. Fields are read from
    the environment with the same rules as the core (``FOO`` / ``DJANGO_FOO`` / ``FOO_FILE``).
    All invalid variables of all sections are reported together at start-up.
    """


@hookspec
def meet_configure(settings: Settings) -> None:
    """Receive the application's settings once they are complete.

    Called once per application, right after the settings are loaded. A plugin keeps its own
    section (``settings.section(name, MySettings)``) on ``self``. Returns nothing.
    """


@hookspec
def meet_route_handlers(settings: Settings) -> Sequence[ControllerRouterHandler] | None:
    """Return route handlers (controllers, routers, handler functions) to mount.

    Called once while the application is built. Paths are absolute (``/api/v1.0/...``).
    All results are mounted. A disabled plugin is never registered, so its routes answer 404.
    """


@hookspec
def meet_litestar_plugins(settings: Settings) -> Sequence[PluginProtocol] | None:
    """Return Litestar plugins (``InitPlugin`` and friends) to add to the application.

    Called once while the application is built; all results are used, in plugin order.
    """


@hookspec
def meet_model_modules() -> Sequence[str] | None:
    """Return the dotted names of modules defining SQLAlchemy models (imported at build time).

    Called once while the application is built, and by ``meet db``. Importing the modules
    registers the tables in the shared metadata.
    """


@hookspec
def meet_migration_locations() -> Sequence[str] | None:
    """Return folders of Alembic revisions (one lineage per plugin: branch label = its name,
    first revision with ``down_revision = None``).

    Called by ``meet db``: ``upgrade`` applies the core lineage and every enabled plugin's. It
    is also called on an unregistered instance of an installed but disabled plugin, so that
    the revisions it applied stay known to Alembic (docs/migrations.md).
    """


@hookspec
def meet_cli_commands(settings: Settings) -> Sequence[click.Command] | None:
    """Return click commands to add to the ``meet`` command line.

    Called once when the command line starts, for enabled plugins only, with the loaded
    settings (a command opens the database with ``meet_core.api.database_sessions(settings)``).
    """


@hookspec
def meet_lifespan(app: Litestar) -> AbstractAsyncContextManager[Any] | None:
    """Return an async context manager entered at start-up and exited at shutdown.

    Called once per application start, after the core's resources (database, Valkey,
    LiveKit client) are ready, so a plugin may open its own clients here.
    """


# --------------------------------------------------------------------------------- runtime hooks


@hookspec
def meet_frontend_config(settings: Settings) -> dict[str, Any] | Awaitable[dict[str, Any] | None] | None:
    """Return keys to merge at the top level of ``GET /api/v1.0/config/``.

    Called on every ``/config/`` request; all results are merged in plugin order, replacing
    the core's disabled defaults (``{"subtitle": {"enabled": True}}`` replaces ``false``).
    """


@hookspec(firstresult=True)
def meet_room_join_decision(
    request: Request[Any, Any, Any], room: Room, user: User | None, role: str | None
) -> JoinDecision | Awaitable[JoinDecision | None] | None:
    """Decide whether a caller the core would not let in may join ``room`` directly.

    Called when ``GET /rooms/{id}/`` serves a caller who is not allowed by the core rule
    (room public, or trusted and authenticated, or any role). First result wins: a
    :class:`~meet_core.plugins.types.JoinDecision` grants a LiveKit token (with the
    decision's participant id as identity for anonymous callers); None lets the next
    plugin decide; when none answers, the room is returned without ``livekit``.
    """


@hookspec
def meet_room_extra_fields(
    request: Request[Any, Any, Any], room: Room, user: User | None, role: str | None
) -> dict[str, Any] | Awaitable[dict[str, Any] | None] | None:
    """Return extra keys for a room's representation (e.g. telephony's ``pin_code``).

    Called for each registered room serialised for a caller allowed to see its details.
    All results are merged into the payload.
    """


@hookspec
def meet_token_attributes(
    room_name: str, identity: str, user: User | None, role: str | None
) -> dict[str, str] | None:
    """Return LiveKit participant attributes to add to a token being minted.

    Called synchronously for every token (it is on the join path: do no I/O). All results
    are merged over the core's ``color``, ``room_role`` and ``is_authenticated``.
    """


@hookspec
def meet_token_grants(grants: VideoGrants, room_name: str, user: User | None, role: str | None) -> None:
    """Adjust the LiveKit ``VideoGrants`` of a token being minted, in place.

    Called synchronously for every token, after the core filled the grants (do no I/O).
    """


@hookspec
def meet_room_created(
    request: Request[Any, Any, Any], db_session: AsyncSession, room: Room, user: User
) -> Awaitable[None] | None:
    """React to a room created through the API (after it is flushed, before the commit).

    Runs in a SAVEPOINT of the request's transaction: write with ``db_session`` (the request's
    session; never commit or roll it back). Every implementation runs; a failing one (it
    raises, or its flush fails) is rolled back alone and logged, and the room is still created.
    """


@hookspec
def meet_room_updated(
    request: Request[Any, Any, Any], db_session: AsyncSession, room: Room, changed: frozenset[str]
) -> Awaitable[None] | None:
    """React to a room updated through the API; ``changed`` names the fields that changed.

    Runs in a SAVEPOINT of the request's transaction, like ``meet_room_created``: a failing
    implementation is rolled back alone and logged, the update still answers 200.
    """


@hookspec
def meet_room_deleted(
    request: Request[Any, Any, Any], db_session: AsyncSession, room: Room
) -> Awaitable[None] | None:
    """React to a room deleted through the API (the deletion is flushed; ``room`` is readable).

    Runs in a SAVEPOINT of the request's transaction, like ``meet_room_created``: the
    plugin's rows go with the room or not at all. A failing implementation is rolled back
    alone and logged, the deletion still answers 204.
    """


@hookspec
def meet_participant_removed(
    request: Request[Any, Any, Any], db_session: AsyncSession, room: Room, identity: str
) -> Awaitable[None] | None:
    """React to a participant removed from a live meeting by a room administrator.

    Called after LiveKit removed ``identity`` from ``room`` (e.g. the lobby forgets that
    participant's admission), whatever the request then answers. Runs in a transaction of its
    own: ``db_session`` is a session opened for this implementation only (when it names the
    argument), committed when it returns, rolled back when it fails. Every implementation
    runs; a failing one is logged.
    """


@hookspec
def meet_livekit_event(
    request: Request[Any, Any, Any], db_session: AsyncSession, event: WebhookEvent
) -> Awaitable[None] | None:
    """React to a verified LiveKit webhook event (``event.event`` is its type).

    Called once per event id (replays are dropped). Runs in a transaction of its own, like
    ``meet_participant_removed`` (the webhook has none). Every implementation runs; a failing
    one is rolled back, logged, and neither stops the others nor changes the webhook's answer.
    """

"""The typed facade over pluggy: the only module that calls ``pm.hook``.

Handlers and services call :class:`MeetHooks`; it awaits async implementations, walks
first-result hooks implementation by implementation (pluggy's own ``firstresult`` stops at
the first coroutine object, which is never None) and isolates event hooks so that one
failing plugin neither stops the others nor the request: the room events run each
implementation in a SAVEPOINT of the request's transaction (``db_session``), the others give
each implementation that asks for ``db_session`` a transaction of its own (docs/hooks.md).
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any, cast

import pluggy

from meet_core.db.savepoint import savepoint

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

log = logging.getLogger("meet_core.plugins")


def _log_failure(impl: Any, caller: pluggy.HookCaller, exc: Exception) -> None:
    """A peer that is down is an outage, logged in one line; anything else is a plugin bug."""
    from meet_core.http.errors import unavailable_peer

    peer = unavailable_peer(exc)
    if peer is not None:
        log.warning("plugin %r failed in %s: %s is unavailable: %r", impl.plugin_name, caller.name, peer, exc)
    else:
        log.error("plugin %r failed in %s", impl.plugin_name, caller.name, exc_info=exc)


async def _resolve(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


def _flatten(results: list[Any]) -> list[Any]:
    return [item for result in results if result for item in result]


class MeetHooks:
    """Typed, awaiting access to the hooks of one application's PluginManager."""

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self.pm = pm
        self._hook = pm.hook
        # The token hooks run on every join: skip pluggy entirely when nobody implements them.
        self._has_token_attributes = bool(pm.hook.meet_token_attributes.get_hookimpls())
        self._has_token_grants = bool(pm.hook.meet_token_grants.get_hookimpls())
        self._has_join_decision = bool(pm.hook.meet_room_join_decision.get_hookimpls())
        self._has_extra_fields = bool(pm.hook.meet_room_extra_fields.get_hookimpls())
        #: Room creation takes a cheaper path (no ORM, no request transaction) without them.
        self.has_room_created = bool(pm.hook.meet_room_created.get_hookimpls())

    # ------------------------------------------------------------------ app building (sync)

    def settings_classes(self) -> dict[str, type[msgspec.Struct]]:
        """Plugin name -> settings struct, for the plugins that declare one."""
        classes: dict[str, type[msgspec.Struct]] = {}
        for impl in self._hook.meet_settings_class.get_hookimpls():
            cls = impl.function()
            if isinstance(cls, type):
                classes[impl.plugin_name] = cls
        return classes

    def configure(self, settings: Settings) -> None:
        self._hook.meet_configure(settings=settings)

    def route_handlers(self, settings: Settings) -> list[ControllerRouterHandler]:
        return _flatten(self._hook.meet_route_handlers(settings=settings)[::-1])

    def litestar_plugins(self, settings: Settings) -> list[PluginProtocol]:
        return _flatten(self._hook.meet_litestar_plugins(settings=settings)[::-1])

    def model_modules(self) -> list[str]:
        return _flatten(self._hook.meet_model_modules()[::-1])

    def migration_locations_by_plugin(self) -> dict[str, list[str]]:
        """Plugin name -> its folders of Alembic revisions (one lineage per plugin)."""
        return self._by_plugin(self._hook.meet_migration_locations)

    def disabled_migration_locations(self) -> dict[str, list[str]]:
        """Plugin name -> revision folders, for the installed plugins not registered here (their
        applied revisions must stay known to Alembic; see ``meet_core.db.migrate``)."""
        from meet_core.plugins.manager import disabled_migration_locations

        registered = {name for name, plugin in self.pm.list_name_plugin() if plugin is not None}
        return disabled_migration_locations(registered)

    def model_modules_by_plugin(self) -> dict[str, list[str]]:
        """Plugin name -> its model modules (which tables a plugin's lineage owns)."""
        return self._by_plugin(self._hook.meet_model_modules)

    @staticmethod
    def _by_plugin(caller: pluggy.HookCaller) -> dict[str, list[str]]:
        result: dict[str, list[str]] = {}
        for impl in caller.get_hookimpls():
            values = cast("Sequence[str] | None", impl.function())
            result[impl.plugin_name] = list(values or [])
        return result

    def cli_commands(self, settings: Settings) -> list[click.Command]:
        return _flatten(self._hook.meet_cli_commands(settings=settings)[::-1])

    def lifespans(self, app: Litestar) -> list[AbstractAsyncContextManager[Any]]:
        return [cm for cm in self._hook.meet_lifespan(app=app)[::-1] if cm is not None]

    # ------------------------------------------------------------------------------ runtime

    async def frontend_config(self, settings: Settings) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for result in self._hook.meet_frontend_config(settings=settings)[::-1]:
            fragment = await _resolve(result)
            if fragment:
                merged.update(fragment)
        return merged

    async def room_join_decision(
        self, request: Request[Any, Any, Any], room: Room, user: User | None, role: str | None
    ) -> JoinDecision | None:
        if not self._has_join_decision:
            return None
        kwargs = {"request": request, "room": room, "user": user, "role": role}
        result: JoinDecision | None = await self._first(self._hook.meet_room_join_decision, kwargs)
        return result

    async def room_extra_fields(
        self, request: Request[Any, Any, Any], room: Room, user: User | None, role: str | None
    ) -> dict[str, Any]:
        if not self._has_extra_fields:
            return {}
        merged: dict[str, Any] = {}
        results = self._hook.meet_room_extra_fields(request=request, room=room, user=user, role=role)
        for result in results[::-1]:
            fields = await _resolve(result)
            if fields:
                merged.update(fields)
        return merged

    def token_attributes(
        self, room_name: str, identity: str, user: User | None, role: str | None
    ) -> dict[str, str]:
        if not self._has_token_attributes:
            return {}
        merged: dict[str, str] = {}
        results = self._hook.meet_token_attributes(
            room_name=room_name, identity=identity, user=user, role=role
        )
        for result in results[::-1]:
            if result:
                merged.update(result)
        return merged

    def token_grants_hook(
        self, room_name: str, user: User | None, role: str | None
    ) -> Callable[[VideoGrants], None] | None:
        """The plugins' changes to one token's grants, or None when no plugin makes any (the
        token may then be reused: ``meet_core.livekit.tokens.RecentTokens``)."""
        if not self._has_token_grants:
            return None
        hook = self._hook.meet_token_grants
        return lambda grants: hook(grants=grants, room_name=room_name, user=user, role=role)

    async def room_created(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, room: Room, user: User
    ) -> None:
        await self._notify_in_savepoint(
            self._hook.meet_room_created, db_session, {"request": request, "room": room, "user": user}
        )

    async def room_updated(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, room: Room, changed: frozenset[str]
    ) -> None:
        await self._notify_in_savepoint(
            self._hook.meet_room_updated,
            db_session,
            {"request": request, "room": room, "changed": changed},
        )

    async def room_deleted(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, room: Room
    ) -> None:
        await self._notify_in_savepoint(
            self._hook.meet_room_deleted, db_session, {"request": request, "room": room}
        )

    async def participant_removed(self, request: Request[Any, Any, Any], room: Room, identity: str) -> None:
        await self._notify_in_own_transaction(
            self._hook.meet_participant_removed,
            request,
            {"request": request, "room": room, "identity": identity},
        )

    async def livekit_event(self, request: Request[Any, Any, Any], event: WebhookEvent) -> None:
        await self._notify_in_own_transaction(
            self._hook.meet_livekit_event, request, {"request": request, "event": event}
        )

    # ------------------------------------------------ generic calls (hooks added by plugins)

    async def call_all(self, hook_name: str, /, **kwargs: Any) -> list[Any]:
        """Every implementation's non-None result, awaited, in pluggy's call order (the plugin
        registered last first). For hooks a plugin adds with ``meet_add_hookspecs``."""
        caller = self._caller(hook_name, kwargs)
        results = [await _resolve(self._call_impl(impl, kwargs)) for impl in self._plain_impls(caller)]
        return [result for result in results if result is not None]

    async def call_first(self, hook_name: str, /, **kwargs: Any) -> Any:
        """The first non-None result, implementation by implementation (later ones do not run)."""
        return await self._first(self._caller(hook_name, kwargs), kwargs)

    async def notify(self, hook_name: str, /, **kwargs: Any) -> None:
        """An event: run every implementation; one that raises is logged and the others go on."""
        await self._notify(self._caller(hook_name, kwargs), kwargs)

    def has_hook(self, hook_name: str) -> bool:
        """Whether a hookspec of that name is known (a plugin-added hook: its plugin is enabled)."""
        caller = getattr(self._hook, hook_name, None)
        return caller is not None and caller.spec is not None

    def _caller(self, hook_name: str, kwargs: dict[str, Any]) -> pluggy.HookCaller:
        """The hook's caller, refusing an unknown hook or arguments that differ from its spec."""
        if not self.has_hook(hook_name):
            raise LookupError(f"no hookspec named {hook_name!r}: is the plugin declaring it enabled?")
        caller: pluggy.HookCaller = getattr(self._hook, hook_name)
        assert caller.spec is not None
        expected = set(caller.spec.argnames)
        if set(kwargs) != expected:
            raise TypeError(f"{hook_name} takes {sorted(expected)}, got {sorted(kwargs)}")
        return caller

    # ----------------------------------------------------------------------------- helpers

    @staticmethod
    def _call_impl(impl: pluggy.HookImpl, kwargs: dict[str, Any]) -> Any:
        return impl.function(*[kwargs[name] for name in impl.argnames])

    @staticmethod
    def _plain_impls(caller: pluggy.HookCaller) -> list[pluggy.HookImpl]:
        """Implementations in pluggy's call order (wrappers are refused by the manager)."""
        return list(reversed(caller.get_hookimpls()))

    async def _first(self, caller: pluggy.HookCaller, kwargs: dict[str, Any]) -> Any:
        """First non-None result, awaiting each implementation in pluggy's call order."""
        for impl in self._plain_impls(caller):
            result = await _resolve(self._call_impl(impl, kwargs))
            if result is not None:
                return result
        return None

    async def _notify(self, caller: pluggy.HookCaller, kwargs: dict[str, Any]) -> None:
        """Run every implementation; log and swallow the failure of any one of them."""
        for impl in self._plain_impls(caller):
            try:
                await _resolve(self._call_impl(impl, kwargs))
            except Exception as exc:
                _log_failure(impl, caller, exc)

    async def _notify_in_savepoint(
        self, caller: pluggy.HookCaller, db_session: AsyncSession, kwargs: dict[str, Any]
    ) -> None:
        """Run every implementation in a SAVEPOINT of the request's transaction.

        A failing implementation (it raised, or its flush failed) is rolled back alone and
        logged; the request's session stays usable and the others still run. No savepoint
        (no round trip) when no plugin implements the hook.
        """
        impls = self._plain_impls(caller)
        if not impls:
            return
        kwargs = {**kwargs, "db_session": db_session}
        for impl in impls:
            try:
                async with savepoint(db_session, keep_loaded=kwargs.values()):
                    await _resolve(self._call_impl(impl, kwargs))
            except Exception:
                log.exception(
                    "plugin %r failed in %s (its changes are rolled back)", impl.plugin_name, caller.name
                )

    async def _notify_in_own_transaction(
        self, caller: pluggy.HookCaller, request: Request[Any, Any, Any], kwargs: dict[str, Any]
    ) -> None:
        """Run every implementation; each one that accepts ``db_session`` gets a session of its own,
        committed when it returns and rolled back when it fails (logged, swallowed).

        An implementation that does not name ``db_session`` costs no session at all: the
        webhook and the participant removal stay as cheap as before for Valkey-only plugins.
        """
        for impl in self._plain_impls(caller):
            try:
                if "db_session" not in impl.argnames:
                    await _resolve(self._call_impl(impl, kwargs))
                    continue
                async with request.app.state.db_config.get_session() as db_session, db_session.begin():
                    await _resolve(self._call_impl(impl, {**kwargs, "db_session": db_session}))
            except Exception as exc:
                _log_failure(impl, caller, exc)

    def implementations(self, hook_name: str) -> Sequence[str]:
        """Names of the plugins implementing ``hook_name`` (for ``meet plugins``)."""
        return [impl.plugin_name for impl in getattr(self._hook, hook_name).get_hookimpls()]

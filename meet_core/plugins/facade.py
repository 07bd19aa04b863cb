"""The typed facade over pluggy: the only module that calls ``pm.hook``.

Handlers and services call :class:`MeetHooks`; it awaits async implementations, walks
first-result hooks implementation by implementation (pluggy's own ``firstresult`` stops at
the first coroutine object, which is never None) and isolates event hooks so that one
failing plugin neither stops the others nor the request.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Sequence
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

    from meet_core.plugins.types import JoinDecision
    from meet_core.rooms.models import Room
    from meet_core.settings import Settings
    from meet_core.users.models import User

log = logging.getLogger("meet_core.plugins")


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

    def migration_locations(self) -> list[str]:
        return _flatten(self._hook.meet_migration_locations()[::-1])

    def cli_commands(self) -> list[click.Command]:
        return _flatten(self._hook.meet_cli_commands()[::-1])

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

    def token_grants(self, grants: VideoGrants, room_name: str, user: User | None, role: str | None) -> None:
        if self._has_token_grants:
            self._hook.meet_token_grants(grants=grants, room_name=room_name, user=user, role=role)

    async def room_created(self, request: Request[Any, Any, Any], room: Room, user: User) -> None:
        await self._notify(self._hook.meet_room_created, {"request": request, "room": room, "user": user})

    async def room_updated(
        self, request: Request[Any, Any, Any], room: Room, changed: frozenset[str]
    ) -> None:
        await self._notify(
            self._hook.meet_room_updated, {"request": request, "room": room, "changed": changed}
        )

    async def room_deleted(self, request: Request[Any, Any, Any], room: Room) -> None:
        await self._notify(self._hook.meet_room_deleted, {"request": request, "room": room})

    async def participant_removed(self, request: Request[Any, Any, Any], room: Room, identity: str) -> None:
        await self._notify(
            self._hook.meet_participant_removed, {"request": request, "room": room, "identity": identity}
        )

    async def livekit_event(self, request: Request[Any, Any, Any], event: WebhookEvent) -> None:
        await self._notify(self._hook.meet_livekit_event, {"request": request, "event": event})

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
            except Exception:
                log.exception("plugin %r failed in %s", impl.plugin_name, caller.name)

    def implementations(self, hook_name: str) -> Sequence[str]:
        """Names of the plugins implementing ``hook_name`` (for ``meet plugins``)."""
        return [impl.plugin_name for impl in getattr(self._hook, hook_name).get_hookimpls()]

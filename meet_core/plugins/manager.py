"""Build the PluginManager of one application: which plugins are enabled, and loading them.

Plugins are distributions exposing an entry point in the group ``meet.plugins``; the entry
name is the plugin's short name and its target a plugin class (instantiated once per app).
"""

from __future__ import annotations

import importlib.metadata
import logging
from collections.abc import Iterable, Mapping
from typing import Any

import pluggy

from meet_core.plugins import hookspecs
from meet_core.settings.core import CoreSettings

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "meet.plugins"

#: The official plugins: short name -> distribution to install.
OFFICIAL_PLUGINS: dict[str, str] = {
    "lobby": "meet-plugin-lobby",
    "recording": "meet-plugin-recording",
    "telephony": "meet-plugin-telephony",
    "subtitles": "meet-plugin-subtitles",
    "external_api": "meet-plugin-external-api",
}


class PluginError(Exception):
    """A plugin set that cannot start: unknown name, enabled but not installed."""


def legacy_enabled(core: CoreSettings) -> set[str]:
    """The plugins the old system's flags turn on when ``MEET_PLUGINS`` is unset."""
    enabled = {"lobby"}
    if core.recording_enable:
        enabled.add("recording")
    if core.room_telephony_enabled:
        enabled.add("telephony")
    if core.room_subtitle_enabled:
        enabled.add("subtitles")
    if core.external_api_enabled:
        enabled.add("external_api")
    return enabled


def installed_entry_points() -> dict[str, importlib.metadata.EntryPoint]:
    """Installed plugins by short name (entry points are not loaded)."""
    return {ep.name: ep for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}


def plugin_name(plugin: Any) -> str:
    """The short name of a plugin object or class (its ``name`` attribute, else its class)."""
    return str(getattr(plugin, "name", None) or getattr(plugin, "__name__", type(plugin).__name__))


def new_plugin_manager() -> pluggy.PluginManager:
    """An empty manager knowing every hookspec."""
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    return pm


def build_plugin_manager(core: CoreSettings, plugins: Iterable[Any] | None = None) -> pluggy.PluginManager:
    """Register the enabled plugins.

    With ``plugins`` given (objects or classes), exactly those are registered and no entry
    point is scanned: tests build several apps side by side. Otherwise the installed entry
    points are filtered by the enabled set before any of them is loaded.
    """
    pm = new_plugin_manager()
    if plugins is not None:
        for plugin in plugins:
            obj = plugin() if isinstance(plugin, type) else plugin
            pm.register(obj, name=plugin_name(obj))
        return _validated(pm)

    available = installed_entry_points()
    explicit = core.meet_plugins is not None
    wanted = {n.strip() for n in core.meet_plugins or [] if n.strip()} if explicit else legacy_enabled(core)
    problems = []
    for name in sorted(wanted):
        if name in available:
            continue
        if name in OFFICIAL_PLUGINS:
            if explicit or name != "lobby":
                problems.append(
                    f"plugin {name!r} is enabled but not installed: pip install {OFFICIAL_PLUGINS[name]}"
                )
        else:
            known = ", ".join(sorted(set(OFFICIAL_PLUGINS) | set(available)))
            problems.append(f"unknown plugin {name!r} in MEET_PLUGINS (known plugins: {known})")
    if problems:
        raise PluginError("; ".join(problems))
    for name, ep in sorted(available.items()):
        if name not in wanted:
            pm.set_blocked(name)
            continue
        try:
            cls = ep.load()
        except ImportError as exc:
            dist = ep.dist.name if ep.dist else name
            raise PluginError(f"plugin {name!r} cannot be imported ({exc}): reinstall {dist}") from exc
        pm.register(cls() if isinstance(cls, type) else cls, name=name)
    return _validated(pm)


def _validated(pm: pluggy.PluginManager) -> pluggy.PluginManager:
    """Refuse misspelt hooks (pluggy would ignore them) and wrappers (the facade calls each
    implementation itself, see ``facade.py``, so a wrapper would never wrap anything)."""
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(str(exc)) from exc
    for caller in (getattr(pm.hook, name) for name in dir(pm.hook) if name.startswith("meet_")):
        for impl in caller.get_hookimpls():
            if impl.hookwrapper or impl.wrapper:
                raise PluginError(f"plugin {impl.plugin_name!r}: {caller.name} cannot be a wrapper")
    return pm


def implemented_hooks(pm: pluggy.PluginManager) -> Mapping[str, list[str]]:
    """Plugin name -> names of the hooks it implements (for ``meet plugins``)."""
    result: dict[str, list[str]] = {}
    for name, plugin in pm.list_name_plugin():
        if plugin is None:  # a blocked name
            continue
        callers = pm.get_hookcallers(plugin) or []
        result[name] = sorted(c.name for c in callers)
    return result

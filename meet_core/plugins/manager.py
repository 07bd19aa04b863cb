"""Build the PluginManager of one application: which plugins are enabled, and loading them.

Plugins are distributions exposing an entry point in the group ``meet.plugins``; the entry
name is the plugin's short name and its target a plugin class (instantiated once per app).
"""

from __future__ import annotations

import importlib.metadata
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import msgspec
import pluggy

from meet_core.plugins import hookspecs
from meet_core.settings.core import CoreSettings
from meet_core.settings.loader import load_section, read_environment, value_source

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "meet.plugins"


class PluginError(Exception):
    """A plugin set that cannot start: unknown name, enabled but not installed, bad class."""


@dataclass(frozen=True)
class Decision:
    """Whether an installed plugin is on, and why (shown by ``meet plugins``)."""

    on: bool
    reason: str


def distribution_for(name: str) -> str:
    """The distribution to install for plugin ``name``, by convention (the core knows no list)."""
    return "meet-plugin-" + name.replace("_", "-")


def installed_entry_points() -> dict[str, importlib.metadata.EntryPoint]:
    """Installed plugins by short name (entry points are not loaded)."""
    return {ep.name: ep for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}


def plugin_name(plugin: Any) -> str:
    """The short name a plugin object or class declares in its ``name`` attribute."""
    name = getattr(plugin, "name", None)
    if not isinstance(name, str) or not name:
        cls = plugin if isinstance(plugin, type) else type(plugin)
        raise PluginError(f"plugin class {cls.__qualname__} has no `name` attribute")
    return name


def new_plugin_manager() -> pluggy.PluginManager:
    """An empty manager knowing every core hookspec; plugins add theirs as they register."""
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    pm.hook.meet_add_hookspecs.call_historic(kwargs={"pluginmanager": pm})
    return pm


def read_flag(env: Mapping[str, str], flag: str) -> tuple[bool, str | None]:
    """A plugin's legacy enable flag read like any setting: its value and the variable it came
    from (None: unset, false)."""
    section = msgspec.defstruct("Flag", [(flag.lower(), bool, False)], kw_only=True, rename="upper")
    errors: list[str] = []
    value = load_section(section, env, errors)
    if errors or value is None:
        raise PluginError("; ".join(errors))
    return bool(getattr(value, flag.lower())), value_source(env, flag.upper())


def _flag_decision(target: Any, env: Mapping[str, str]) -> Decision:
    """A plugin in the default set: on unless it declares an ``enabled_by`` flag that is off."""
    flag = getattr(target, "enabled_by", None)
    if not flag:
        return Decision(True, "installed, no enable flag")
    on, source = read_flag(env, flag)
    if source is None:
        return Decision(False, f"{flag} is unset (false)")
    shown = flag if source == flag else f"{flag} (from {source})"
    return Decision(on, f"{shown} is {'true' if on else 'false'}")


def _load(name: str, ep: importlib.metadata.EntryPoint) -> Any:
    try:
        target = ep.load()
    except ImportError as exc:
        dist = ep.dist.name if ep.dist else distribution_for(name)
        raise PluginError(f"plugin {name!r} cannot be imported ({exc}): reinstall {dist}") from exc
    declared = getattr(target, "name", None)
    if declared is not None and declared != name:
        raise PluginError(
            f"plugin {ep.value} declares name {declared!r} but its entry point is named {name!r}: "
            "they must be equal"
        )
    return target


def decide(
    core: CoreSettings,
    env: Mapping[str, str],
    available: Mapping[str, importlib.metadata.EntryPoint],
) -> tuple[dict[str, Decision], dict[str, Any]]:
    """Which installed plugins are on and why, and the loaded targets of those that are on.

    ``MEET_PLUGINS`` unset: every installed plugin, minus those whose ``enabled_by`` flag is
    false. Plain names replace that default set; ``+name`` / ``-name`` add to / remove from
    it (applied in order). Plugins excluded by ``MEET_PLUGINS`` are never imported; the others
    are, to read their ``enabled_by`` (hence the rule that a plugin module imports little).
    """
    entries = [e.strip() for e in core.meet_plugins or [] if e.strip()]
    plain = [e for e in entries if e[0] not in "+-"]
    explicit: dict[str, Decision] = {}
    if core.meet_plugins is not None and (plain or not entries):
        for name in available:
            explicit[name] = Decision(False, "not listed in MEET_PLUGINS")
        for name in plain:
            explicit[name] = Decision(True, "listed in MEET_PLUGINS")
    for entry in entries:
        name = entry[1:].strip()
        if entry[0] == "+":
            explicit[name] = Decision(True, f"added by MEET_PLUGINS={entry}")
        elif entry[0] == "-":
            explicit[name] = Decision(False, f"removed by MEET_PLUGINS={entry}")
    missing = sorted(n for n, d in explicit.items() if d.on and n not in available)
    if missing:
        raise PluginError(
            "; ".join(
                f"plugin {n!r} is enabled by MEET_PLUGINS but not installed: pip install "
                f"{distribution_for(n)} (the distribution named by convention meet-plugin-<name>; "
                f"installed plugins: {', '.join(sorted(available)) or 'none'})"
                for n in missing
            )
        )
    decisions: dict[str, Decision] = {}
    targets: dict[str, Any] = {}
    for name, ep in sorted(available.items()):
        if name in explicit and not explicit[name].on:
            decisions[name] = explicit[name]  # blocked before its entry point is loaded
            continue
        target = _load(name, ep)
        decisions[name] = explicit.get(name) or _flag_decision(target, env)
        if decisions[name].on:
            targets[name] = target
    return decisions, targets


def build_plugin_manager(
    core: CoreSettings, plugins: Iterable[Any] | None = None, env: Mapping[str, str] | None = None
) -> pluggy.PluginManager:
    """Register the enabled plugins.

    With ``plugins`` given (objects or classes, each with a ``name``), exactly those are
    registered and no entry point is scanned: tests build several apps side by side. Otherwise
    the installed entry points are filtered by :func:`decide`; ``env`` (default: the process
    environment and ``.env``) is where the plugins' enable flags are read.
    """
    pm = new_plugin_manager()
    if plugins is not None:
        for plugin in plugins:
            _register(pm, plugin, plugin_name(plugin))
        return _validated(pm)

    available = installed_entry_points()
    decisions, targets = decide(core, read_environment() if env is None else env, available)
    for name in sorted(decisions):
        target = targets.get(name)
        if target is None:
            pm.set_blocked(name)
            continue
        _register(pm, target, name)
    return _validated(pm)


def _register(pm: pluggy.PluginManager, plugin: Any, name: str) -> None:
    """Register a plugin object or class; a hookimpl that does not match a spec (including one
    added by another plugin's ``meet_add_hookspecs``) is a :class:`PluginError`."""
    try:
        pm.register(plugin() if isinstance(plugin, type) else plugin, name=name)
    except pluggy.PluginValidationError as exc:
        raise PluginError(str(exc)) from exc


def _validated(pm: pluggy.PluginManager) -> pluggy.PluginManager:
    """Refuse misspelt hooks (pluggy would ignore them) and wrappers (the facade calls each
    implementation itself, see ``facade.py``, so a wrapper would never wrap anything).

    Runs once every plugin is registered: an implementation of a hook that another plugin adds
    with ``meet_add_hookspecs`` is only "unknown" if no registered plugin added its spec."""
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


def disabled_migration_locations(registered: set[str]) -> dict[str, list[str]]:
    """Revision folders of the installed plugins that are not enabled (their class is loaded,
    instantiated and asked directly: nothing is registered, no other hook runs)."""
    result: dict[str, list[str]] = {}
    for name, entry_point in installed_entry_points().items():
        if name in registered:
            continue
        try:
            target = entry_point.load()
            plugin = target() if isinstance(target, type) else target
            method = getattr(plugin, "meet_migration_locations", None)
            locations = list(method() or []) if method is not None else []
        except Exception as exc:  # a broken disabled plugin must not stop the enabled ones
            log.warning("disabled plugin %r: its migrations cannot be read (%r)", name, exc)
            continue
        if locations:
            result[name] = locations
    return result

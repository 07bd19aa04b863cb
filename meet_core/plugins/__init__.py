"""The plugin machinery: markers, value types, the plugin manager and the typed facade.

Internal: plugin authors import the markers and value types from ``meet_core.api`` (the plugin
API, ``docs/plugin-api.md``).
"""

from meet_core.plugins.facade import MeetHooks
from meet_core.plugins.hookspecs import hookimpl, hookspec
from meet_core.plugins.manager import PluginError, build_plugin_manager
from meet_core.plugins.types import JoinDecision

__all__ = [
    "JoinDecision",
    "MeetHooks",
    "PluginError",
    "build_plugin_manager",
    "hookimpl",
    "hookspec",
]

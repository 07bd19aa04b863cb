"""The plugin contract: markers, value types and the typed facade.

Plugin authors import from here::

    from meet_core.plugins import hookimpl, JoinDecision
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

"""The fixtures come from the ``meet_core.testing.pytest_plugin`` (a pytest11 entry point).

When the package is not installed (running from a source tree), load the plugin here.
"""

import importlib.metadata

_installed = any(ep.value == "meet_core.testing.pytest_plugin" for ep in importlib.metadata.entry_points(group="pytest11"))
pytest_plugins = [] if _installed else ["meet_core.testing.pytest_plugin"]

"""The hooks the example plugin adds for other plugins (``meet_add_hookspecs``): a template.

A plugin's hookspecs module uses the core's ``hookspec`` marker, names each hook
``meet_<plugin>_<what>``, and gives each a docstring saying when it is called, its arguments,
what its return means and whether it stops at the first result. Each one is documented in
``docs/hooks.md`` ("Hooks declared by plugins") with its exact signature; a test checks it.
"""

from __future__ import annotations

from collections.abc import Awaitable

from meet_core.plugins import hookspec


@hookspec(firstresult=True)
def meet_example_greeting(greeting: str) -> str | Awaitable[str | None] | None:
    """Return the text ``GET /api/v1.0/example/greeting`` shows instead of ``greeting``.

    Called on each request of that route, with the configured ``EXAMPLE_GREETING``. The first
    non-None result wins (later implementations do not run); may be ``async def``.
    """

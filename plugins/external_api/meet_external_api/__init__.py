"""Meet server plugin ``external_api``: applications that create meetings for their users.

Enabled by ``MEET_PLUGINS=...,external_api`` or, when ``MEET_PLUGINS`` is unset, by the old flag
``EXTERNAL_API_ENABLED=true``. See ``README.md`` beside this package.
"""

from meet_external_api.plugin import ExternalApiPlugin

__all__ = ["ExternalApiPlugin"]

"""Test tools for the Meet server and its plugins (also a pytest plugin: ``meet_core.testing.pytest_plugin``).

* :class:`FakeLiveKit`: a LiveKit server on loopback speaking Twirp, recording every call.
* :class:`ValkeyTestServer`: a real Valkey server on a free port.
* :func:`sign_webhook` / :func:`webhook_body`: LiveKit webhook requests.
* :mod:`meet_core.testing.factories`: users, rooms and accesses created in the database.
* :class:`MeetTestApp`: a running app with an HTTP client, ``login()`` and factories.
* :func:`mint_token`: a LiveKit participant token, as the core mints them.
* :func:`create_app`, :class:`SettingsError`, :class:`PluginError`: to assert that a bad
  setting or plugin set stops start-up.
* :func:`schema_diff`: the models against a database built by ``meet db upgrade`` (with the
  ``empty_database`` and ``meet_cli`` fixtures).
"""

from meet_core.app import create_app
from meet_core.livekit.tokens import mint_token
from meet_core.plugins.manager import PluginError
from meet_core.settings import SettingsError
from meet_core.testing.fake_livekit import FakeLiveKit
from meet_core.testing.harness import MeetTestApp
from meet_core.testing.pytest_plugin import schema_diff
from meet_core.testing.valkey_server import ValkeyTestServer
from meet_core.testing.webhooks import sign_webhook, webhook_body

__all__ = [
    "FakeLiveKit",
    "MeetTestApp",
    "PluginError",
    "SettingsError",
    "ValkeyTestServer",
    "create_app",
    "mint_token",
    "schema_diff",
    "sign_webhook",
    "webhook_body",
]

"""Meet server plugin ``lobby``: a waiting room for trusted and restricted rooms (state in Valkey)."""

from meet_lobby.plugin import LobbyPlugin
from meet_lobby.settings import LobbySettings

__all__ = ["LobbyPlugin", "LobbySettings"]

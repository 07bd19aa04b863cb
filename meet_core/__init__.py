"""Meet core: users, rooms, LiveKit tokens and the plugin machinery of the Meet server."""

__version__ = "0.1.0"

"""Settings: one msgspec struct per section, the core's and one per enabled plugin."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

import msgspec

from meet_core.settings.core import CoreSettings
from meet_core.settings.loader import SettingsError, load_section, read_environment

S = TypeVar("S", bound=msgspec.Struct)

__all__ = ["CoreSettings", "Settings", "SettingsError", "load_section", "read_environment"]


class Settings:
    """The settings of one application: the core section and the plugins' sections by name."""

    def __init__(
        self,
        core: CoreSettings,
        sections: Mapping[str, msgspec.Struct] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.core = core
        self.sections: dict[str, msgspec.Struct] = dict(sections or {})
        #: the environment the settings were read from, so plugin sections load from the same.
        self.env: dict[str, str] = dict(env or {})

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Core settings from ``env`` (default: the process environment and ``.env``)."""
        env = read_environment() if env is None else env
        errors: list[str] = []
        core = load_section(CoreSettings, env, errors)
        if errors or core is None:
            raise SettingsError(errors)
        return cls(core, env=env)

    def section(self, name: str, cls: type[S]) -> S:
        """The section of plugin ``name``, typed as ``cls``."""
        value = self.sections[name]
        if not isinstance(value, cls):
            raise TypeError(f"settings section {name!r} is {type(value).__name__}, not {cls.__name__}")
        return value

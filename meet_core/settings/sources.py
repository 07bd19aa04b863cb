"""Where settings come from: the variable names each section claims, and each value's source.

Every section (the core's, each enabled plugin's) reads its fields from global environment
variable names, so two sections claiming one name would silently share a value: start-up
refuses it (:func:`name_clashes`). ``meet config`` shows every value with its source
(:func:`describe`), secrets masked (:func:`is_secret`).
"""

from __future__ import annotations

import os
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from meet_core.settings.loader import claimed_names, env_file_path, env_names, env_prefix, value_source

#: Words of a field name that make its value a secret (``meet config`` masks it).
SECRET_WORDS = frozenset({"secret", "password", "passwd", "token"})
MASK = "********"


def section_label(name: str) -> str:
    return "core" if name == "core" else f"plugin {name!r}"


def field_names(cls: type[msgspec.Struct]) -> Iterator[tuple[str, str]]:
    """(field name, bare variable name) of each field of a section."""
    prefix = env_prefix(cls)
    for field in msgspec.structs.fields(cls):
        yield field.name, env_names(field.encode_name, prefix)[0]


def name_clashes(sections: Mapping[str, type[msgspec.Struct]]) -> list[str]:
    """One message per variable name claimed by two sections (``core`` or plugin names).

    A field ``foo`` claims ``FOO``, ``DJANGO_FOO`` and ``FOO_FILE``; so a plugin field
    ``django_debug`` clashes with the core's ``debug`` just as a plugin field ``debug`` does.
    """
    owners: dict[str, tuple[str, str]] = {}
    errors: list[str] = []
    for section, cls in sections.items():
        for field, bare in field_names(cls):
            for name in claimed_names(bare):
                other = owners.setdefault(name, (section, field))
                if other[0] != section:
                    errors.append(
                        f"{name} is claimed by {section_label(other[0])} (field {other[1]}) and by "
                        f"{section_label(section)} (field {field}); give the plugin's settings an "
                        "env_prefix or rename the field"
                    )
    return errors


def is_secret(cls: type[msgspec.Struct], field: str) -> bool:
    """A field is secret when marked ``Annotated[..., msgspec.Meta(extra={"secret": True})]``,
    or, unless marked ``{"secret": False}``, when its name has the word secret, password or
    token, or ends with ``key`` (``LIVEKIT_API_KEY``, ``SECRET_KEY``; not ``LOBBY_KEY_PREFIX``)."""
    hint = typing.get_type_hints(cls, include_extras=True)[field]
    for meta in getattr(hint, "__metadata__", ()):
        marked = (getattr(meta, "extra", None) or {}).get("secret")
        if marked is not None:
            return bool(marked)
    words = field.lower().split("_")
    return bool(SECRET_WORDS.intersection(words)) or words[-1] in {"key", "apikey"}


@dataclass(frozen=True)
class Setting:
    """One line of ``meet config``."""

    section: str
    variable: str
    value: str
    source: str


def _shown(value: Any, secret: bool) -> str:
    if secret and value and not isinstance(value, bool):
        return MASK
    return msgspec.json.encode(value).decode()


def origin_of(variable: str, env: Mapping[str, str]) -> str:
    """Where ``variable`` of ``env`` came from: the process environment or the ``.env`` file."""
    if variable in os.environ:
        return "environment"
    path = env_file_path()
    return f"{path.resolve()}" if path.is_file() else "given environment"


def describe(sections: Mapping[str, msgspec.Struct], env: Mapping[str, str]) -> list[Setting]:
    """Every field of every section, its value (secrets masked) and where that value came from."""
    rows: list[Setting] = []
    for section, value in sections.items():
        cls = type(value)
        for field, bare in field_names(cls):
            source = value_source(env, bare)
            if source is None:
                where = "default"
            elif source == f"{bare}_FILE":
                where = f"file {Path(env[source]).resolve()} ({source} from {origin_of(source, env)})"
            else:
                where = f"{source} from {origin_of(source, env)}"
            rows.append(Setting(section, bare, _shown(getattr(value, field), is_secret(cls, field)), where))
    return rows

"""Fill msgspec settings structs from environment variables.

One mechanism for every section (core and plugins): a field ``foo_bar`` is read from
``FOO_BAR``, then ``DJANGO_FOO_BAR`` (the old Django names), then ``FOO_BAR_FILE`` (a path
whose content is the value, for secrets). Values are normalised before msgspec converts them,
because msgspec's lax mode rejects "yes"/"on" and does not split comma lists.
"""

from __future__ import annotations

import ast
import json
import os
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import msgspec

S = TypeVar("S", bound=msgspec.Struct)

_TRUE = {"true", "1", "yes", "on", "y", "t"}
_FALSE = {"false", "0", "no", "off", "n", "f", ""}


class SettingsError(Exception):
    """Every invalid variable found at start-up, reported at once."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__("Invalid settings:\n" + "\n".join(f"  - {e}" for e in errors))


def env_file_path(env_file: str | os.PathLike[str] | None = None) -> Path:
    """The ``.env`` file read under the environment (``MEET_ENV_FILE``, else ./.env)."""
    return Path(env_file or os.environ.get("MEET_ENV_FILE", ".env"))


def read_environment(env_file: str | os.PathLike[str] | None = None) -> dict[str, str]:
    """The process environment over an optional ``.env`` file (``MEET_ENV_FILE`` or ./.env)."""
    from dotenv import dotenv_values

    path = env_file_path(env_file)
    values: dict[str, str] = {}
    if path.is_file():
        values.update({k: v for k, v in dotenv_values(path).items() if v is not None})
    values.update(os.environ)
    return values


def _strip_optional(tp: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return tp


def _normalise(raw: str, tp: Any) -> Any:
    """Turn an environment string into a value msgspec can convert to ``tp``."""
    target = _strip_optional(tp)
    origin = typing.get_origin(target) or target
    text = raw.strip()
    if target is not tp and text.lower() in {"none", "null"}:
        return None
    if target is bool:
        low = text.lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise ValueError(f"expected a boolean (true/false, 1/0, yes/no, on/off), got {raw!r}")
    if origin in (list, tuple, set, frozenset):
        return parse_list(text)
    if origin in (dict,) or (isinstance(target, type) and issubclass(target, msgspec.Struct)):
        return _parse_literal(text) if text else {}
    if target is typing.Any:
        try:
            return json.loads(text)
        except ValueError:
            return raw
    return raw if target is str else text


def parse_list(text: str) -> list[Any]:
    """A list variable, as the old system's ``ListValue`` reads it (``a,b``) or as JSON.

    ``["https://a.tld", "b"]`` is JSON; a shell that sourced the env file unquotes it to
    ``[https://a.tld, b]``, which is read as the same list (brackets dropped, items split on
    commas, stray quotes stripped) rather than refused.
    """
    text = text.strip()
    if text.startswith("["):
        try:
            value = json.loads(text)
        except ValueError:
            text = text[1:-1] if text.endswith("]") else text[1:]
        else:
            if isinstance(value, list):
                return value
    items = (item.strip().strip("\"'").strip() for item in text.split(","))
    return [item for item in items if item]


def _parse_literal(text: str) -> Any:
    """JSON, else a Python literal (``{'a': 1}``), as django-configurations' ``DictValue`` reads it."""
    try:
        return json.loads(text)
    except ValueError:
        try:
            return ast.literal_eval(text)
        except (ValueError, SyntaxError):
            raise ValueError(f"expected a JSON object, got {text!r}") from None


def env_names(field_name: str, prefix: str = "") -> tuple[str, str]:
    """The variable names a field is read from: the bare name and its ``DJANGO_`` alias.

    ``prefix`` is the section's ``env_prefix`` class variable (see :func:`env_prefix`).
    """
    name = (prefix + field_name).upper()
    return name, f"DJANGO_{name}"


def env_prefix(cls: type[msgspec.Struct]) -> str:
    """A section's ``env_prefix: ClassVar[str]``: prepended to every field's variable name, so a
    plugin's field ``debug`` may read ``HELLO_DEBUG`` instead of the core's ``DEBUG``."""
    return str(getattr(cls, "env_prefix", "") or "")


def claimed_names(bare: str) -> tuple[str, str, str]:
    """Every variable a field with bare name ``bare`` may be read from, in order of precedence."""
    return bare, f"DJANGO_{bare}", f"{bare}_FILE"


def value_source(env: Mapping[str, str], bare: str) -> str | None:
    """The variable a field with bare name ``bare`` is read from in ``env`` (None: its default)."""
    return next((name for name in claimed_names(bare) if name in env), None)


def load_section(cls: type[S], env: Mapping[str, str], errors: list[str]) -> S | None:
    """Build ``cls`` from ``env``; append one message per bad variable to ``errors``."""
    values: dict[str, Any] = {}
    hints = typing.get_type_hints(cls)
    prefix = env_prefix(cls)
    for field in msgspec.structs.fields(cls):
        bare, _ = env_names(field.encode_name, prefix)
        source = value_source(env, bare)
        if source is None:
            continue
        raw = env[source]
        if source == f"{bare}_FILE":
            try:
                raw = Path(raw).read_text().strip()
            except OSError as exc:
                errors.append(f"{source}: cannot read {env[source]!r}: {exc.strerror}")
                continue
        try:
            value = _normalise(raw, hints[field.name])
            values[field.encode_name] = msgspec.convert(value, hints[field.name], strict=False)
        except (ValueError, msgspec.ValidationError) as exc:
            errors.append(f"{source}: {exc}")
    try:
        return msgspec.convert(values, cls, strict=False)
    except msgspec.ValidationError as exc:
        errors.append(f"{cls.__name__}: {exc}")
        return None

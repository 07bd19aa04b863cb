"""LiveKit's webhook body (protobuf JSON) to a ``livekit.api.WebhookEvent``, the same message as
``google.protobuf.json_format.Parse(body, WebhookEvent(), ignore_unknown_fields=True)`` at a
tenth of its cost.

``json_format`` walks the descriptors in pure Python on every call (~45 µs for a
``participant_joined``, most of the webhook's own work). Here each message type's fields are
looked up once (:class:`_Plan`) and the event is built by the protobuf constructor from
keyword arguments (~5 µs). Only the plain shapes LiveKit sends take that path: strings,
booleans, integers, finite numbers, enum names, nested objects, lists and string-keyed maps.
Anything else (``null``, bytes, well-known types, enum numbers or unknown enum names, a
field given twice under its JSON and proto names, two members of a oneof, extension keys,
strings with unpaired surrogates, out-of-range values...) goes to ``json_format.ParseDict``,
which accepts or refuses it exactly as before. The JSON itself is read by ``json.loads``
with a duplicate-key check, as ``Parse`` does (a repeated key is an error).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, cast

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.json_format import ParseDict
from livekit.api import WebhookEvent

_UNPAIRED_SURROGATE = re.compile("[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]")
_INTEGER = re.compile(r"-?[0-9]+\Z")
_FLOAT_MAX = 3.4028234663852886e38
_MAX_DEPTH = 50  # json_format refuses 100 levels; deeper bodies take its path

_STRING, _BOOL, _INT, _FLOAT, _DOUBLE, _ENUM, _MESSAGE, _OTHER = range(8)


class _Fallback(Exception):
    """A shape the fast path does not handle: ``json_format`` decides."""


def _kind(field: FieldDescriptor) -> int:
    cpp = field.cpp_type
    if cpp == FieldDescriptor.CPPTYPE_STRING:
        return _OTHER if field.type == FieldDescriptor.TYPE_BYTES else _STRING
    if cpp == FieldDescriptor.CPPTYPE_BOOL:
        return _BOOL
    if cpp in (
        FieldDescriptor.CPPTYPE_INT32,
        FieldDescriptor.CPPTYPE_INT64,
        FieldDescriptor.CPPTYPE_UINT32,
        FieldDescriptor.CPPTYPE_UINT64,
    ):
        return _INT
    if cpp == FieldDescriptor.CPPTYPE_FLOAT:
        return _FLOAT
    if cpp == FieldDescriptor.CPPTYPE_DOUBLE:
        return _DOUBLE
    if cpp == FieldDescriptor.CPPTYPE_ENUM:
        return _ENUM
    if field.message_type is None or field.message_type.full_name.startswith("google.protobuf."):
        return _OTHER  # well-known types have their own JSON forms
    return _MESSAGE


class _Field:
    """What the fast path needs of one field, read from its descriptor once."""

    __slots__ = ("enum_numbers", "kind", "map_value", "message", "name", "oneof", "repeated")

    def __init__(self, field: FieldDescriptor) -> None:
        self.name = field.name
        self.oneof = field.containing_oneof.name if field.containing_oneof is not None else None
        self.repeated = field.is_repeated
        self.map_value: _Field | None = None
        self.enum_numbers: dict[str, int] = {}
        self.message: _Plan | None = None
        entry = field.message_type
        if entry is not None and entry.GetOptions().map_entry:
            key, value = entry.fields_by_name["key"], entry.fields_by_name["value"]
            self.kind = _MESSAGE
            if _kind(key) != _STRING or _kind(value) in (_OTHER, _MESSAGE, _ENUM):
                self.kind = _OTHER  # only string-keyed maps of plain scalars
            else:
                self.map_value = _Field(value)
            return
        self.kind = _kind(field)
        if self.kind == _ENUM and field.enum_type is not None:
            self.enum_numbers = {value.name: value.number for value in field.enum_type.values}
        elif self.kind == _MESSAGE and entry is not None:
            self.message = _plan(entry)


class _Plan:
    """A message type's fields by JSON key (the JSON name wins over the proto name)."""

    __slots__ = ("fields",)

    def __init__(self) -> None:
        self.fields: dict[str, _Field] = {}


_PLANS: dict[str, _Plan] = {}


def _plan(descriptor: Descriptor) -> _Plan:
    plan = _PLANS.get(descriptor.full_name)
    if plan is None:  # registered before filling: message types may refer to themselves
        plan = _PLANS[descriptor.full_name] = _Plan()
        fields = {field.name: _Field(field) for field in descriptor.fields}
        by_key = dict(fields)
        by_key.update({field.json_name: fields[field.name] for field in descriptor.fields})
        plan.fields = by_key
    return plan


def _scalar(field: _Field, value: Any) -> Any:
    kind = field.kind
    if kind == _STRING:
        if type(value) is str and (value.isascii() or not _UNPAIRED_SURROGATE.search(value)):
            return value
    elif kind == _BOOL:
        if type(value) is bool:
            return value
    elif kind == _INT:
        if type(value) is int:
            return value
        if type(value) is str and _INTEGER.match(value):
            return int(value)
    elif kind == _ENUM:
        if type(value) is str and value in field.enum_numbers:
            return field.enum_numbers[value]
    elif kind in (_DOUBLE, _FLOAT):
        finite = type(value) is int or (type(value) is float and math.isfinite(value))
        if finite and (kind == _DOUBLE or abs(value) <= _FLOAT_MAX):
            return float(value)
    raise _Fallback


def _message(plan: _Plan, js: Any, depth: int) -> dict[str, Any]:
    """Constructor keyword arguments for ``js``, or _Fallback."""
    if type(js) is not dict or depth > _MAX_DEPTH:
        raise _Fallback
    kwargs: dict[str, Any] = {}
    oneofs: set[str] = set()
    for key, value in js.items():
        field = plan.fields.get(key)
        if field is None:
            if key.startswith("["):
                raise _Fallback  # an extension's key: json_format's rules
            continue  # unknown fields are ignored
        if field.name in kwargs or value is None:
            raise _Fallback
        if field.oneof is not None:
            if field.oneof in oneofs:
                raise _Fallback
            oneofs.add(field.oneof)
        kind = field.kind
        if kind == _OTHER:
            raise _Fallback
        if field.map_value is not None:
            if type(value) is not dict:
                raise _Fallback
            item = field.map_value
            if any(_UNPAIRED_SURROGATE.search(k) for k in value):
                raise _Fallback
            kwargs[field.name] = {k: _scalar(item, v) for k, v in value.items()}
        elif field.repeated:
            if type(value) is not list:
                raise _Fallback
            if field.message is not None:
                kwargs[field.name] = [_message(field.message, item, depth + 1) for item in value]
            else:
                kwargs[field.name] = [_scalar(field, item) for item in value]
        elif field.message is not None:
            kwargs[field.name] = _message(field.message, value, depth + 1)
        else:
            kwargs[field.name] = _scalar(field, value)
    return kwargs


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``json.loads``' object hook: a key given twice is an error (as in ``json_format.Parse``)."""
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("duplicate key in a JSON object")
    return result


_EVENT_PLAN = _plan(cast(Descriptor, WebhookEvent.DESCRIPTOR))


def parse_event(body: str) -> WebhookEvent:
    """The event of a webhook body; ValueError (or json_format's ParseError) when it is not one.

    A body that is not a JSON object is refused (``json_format`` would read ``[]`` as an
    empty event); unknown fields are ignored, as LiveKit adds fields over time.
    """
    js = json.loads(body, object_pairs_hook=_unique_pairs)
    if type(js) is not dict:
        raise ValueError("the body is not a JSON object")
    try:
        return WebhookEvent(**_message(_EVENT_PLAN, js, 1))
    except (_Fallback, ValueError, TypeError, OverflowError):
        return ParseDict(js, WebhookEvent(), ignore_unknown_fields=True)

"""The documented JSON bodies of the in-meeting routes (spec/api.md §2.6, §2.7).

For the OpenAPI document only (:func:`meet_core.http.openapi.request_body`): the handlers
check their bodies with :mod:`meet_core.meeting.fields`, whose rules these mirror.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from litestar.openapi.spec.enums import OpenAPIFormat
from litestar.params import KwargDefinition

from meet_core.http.openapi import NON_BLANK
from meet_core.meeting.permissions import ParticipantPermission

Identity = Annotated[str, msgspec.Meta(pattern=NON_BLANK)]
Email = Annotated[str, KwargDefinition(format=OpenAPIFormat.EMAIL)]


class MuteBody(msgspec.Struct, kw_only=True):
    participant_identity: Identity
    track_sid: Annotated[str, msgspec.Meta(max_length=255, pattern=NON_BLANK)]


class UpdateParticipantBody(msgspec.Struct, kw_only=True):
    """At least one of ``metadata``, ``attributes``, ``permission``, ``name`` must be set."""

    participant_identity: Identity
    metadata: dict[str, Any] | msgspec.UnsetType | None = msgspec.UNSET
    attributes: dict[str, str] | msgspec.UnsetType | None = msgspec.UNSET
    permission: ParticipantPermission | msgspec.UnsetType | None = msgspec.UNSET
    name: Annotated[str, msgspec.Meta(max_length=255)] | msgspec.UnsetType | None = msgspec.UNSET


class ParticipantBody(msgspec.Struct, kw_only=True):
    participant_identity: Identity


class ParticipantRoleBody(msgspec.Struct, kw_only=True):
    participant_identity: Identity
    role: Literal["member", "administrator"]  # roles.ASSIGNABLE_ROLES


class HandBody(msgspec.Struct, kw_only=True):
    raised: bool


class RenameBody(msgspec.Struct, kw_only=True):
    name: Annotated[str, msgspec.Meta(max_length=255, pattern=NON_BLANK)]


class InviteBody(msgspec.Struct, kw_only=True):
    """Exact duplicates are dropped."""

    emails: Annotated[list[Email], msgspec.Meta(min_length=1)]


class CreationCallbackBody(msgspec.Struct, kw_only=True):
    callback_id: Identity

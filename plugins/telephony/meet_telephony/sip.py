"""LiveKit SIP dispatch rules of rooms (services.md §4.2), through the real ``LiveKitAPI`` client.

A room's rule is named ``SIP_<room id>`` and sends a caller who typed the room's PIN straight
into the LiveKit room named after the room's id. LiveKit has no server-side filter by name:
rules are listed and filtered here, as the old system did.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence

import aiohttp
from livekit.api import LiveKitAPI, ServerError
from livekit.protocol.sip import (
    CreateSIPDispatchRuleRequest,
    DeleteSIPDispatchRuleRequest,
    ListSIPDispatchRuleRequest,
    SIPDispatchRule,
    SIPDispatchRuleDirect,
    SIPDispatchRuleInfo,
)

log = logging.getLogger("meet_telephony")

#: What a LiveKit call may raise when LiveKit answers an error or cannot be reached.
LIVEKIT_ERRORS: tuple[type[BaseException], ...] = (ServerError, aiohttp.ClientError, TimeoutError)


class SipError(Exception):
    """LiveKit failed or could not be reached while managing dispatch rules."""


def rule_name(room_id: uuid.UUID | str) -> str:
    return f"SIP_{room_id}"


async def rule_ids(livekit: LiveKitAPI, room_id: uuid.UUID | str) -> list[str]:
    """Ids of the rules named after the room."""
    name = rule_name(room_id)
    try:
        response = await livekit.sip.list_dispatch_rule(ListSIPDispatchRuleRequest())
    except LIVEKIT_ERRORS as exc:
        raise SipError(f"could not list SIP dispatch rules: {exc!r}") from exc
    return [rule.sip_dispatch_rule_id for rule in response.items if rule.name == name]


async def ensure_rule(
    livekit: LiveKitAPI, room_id: uuid.UUID | str, pin: str, trunk_ids: Sequence[str] = ()
) -> bool:
    """Create the room's rule unless one exists; True when it was created now.

    A conflict (a concurrent call created it first) is not an error.
    """
    if await rule_ids(livekit, room_id):
        return False
    info = SIPDispatchRuleInfo(
        name=rule_name(room_id),
        rule=SIPDispatchRule(dispatch_rule_direct=SIPDispatchRuleDirect(room_name=str(room_id), pin=pin)),
        trunk_ids=list(trunk_ids),
    )
    try:
        await livekit.sip.create_dispatch_rule(CreateSIPDispatchRuleRequest(dispatch_rule=info))
    except ServerError as exc:
        if exc.code == "already_exists":
            log.info("SIP dispatch rule of room %s already exists", room_id)
            return False
        raise SipError(f"could not create SIP dispatch rule of room {room_id}: {exc!r}") from exc
    except LIVEKIT_ERRORS as exc:
        raise SipError(f"could not create SIP dispatch rule of room {room_id}: {exc!r}") from exc
    return True


async def delete_rules(livekit: LiveKitAPI, room_id: uuid.UUID | str) -> int:
    """Delete every rule named after the room; the number deleted."""
    ids = await rule_ids(livekit, room_id)
    if len(ids) > 1:
        log.error("room %s had %d SIP dispatch rules; deleting them all", room_id, len(ids))
    deleted = 0
    for rule_id in ids:
        try:
            await livekit.sip.delete_dispatch_rule(DeleteSIPDispatchRuleRequest(sip_dispatch_rule_id=rule_id))
        except ServerError as exc:
            if exc.code == "not_found":  # deleted meanwhile by a concurrent call: fine
                continue
            raise SipError(f"could not delete SIP dispatch rule {rule_id}: {exc!r}") from exc
        except LIVEKIT_ERRORS as exc:
            raise SipError(f"could not delete SIP dispatch rule {rule_id}: {exc!r}") from exc
        deleted += 1
    return deleted

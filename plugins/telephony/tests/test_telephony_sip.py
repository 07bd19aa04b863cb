"""SIP dispatch rules following the rooms' life through LiveKit webhooks (services.md §4.2)."""

from __future__ import annotations

from livekit.protocol.sip import (
    CreateSIPDispatchRuleRequest,
    CreateSIPInboundTrunkRequest,
    SIPDispatchRule,
    SIPDispatchRuleDirect,
    SIPDispatchRuleInfo,
    SIPInboundTrunkInfo,
)

SUCCESS = {"status": "success"}


async def test_room_started_creates_one_direct_rule_with_the_pin(kit):
    meet = await kit.app()
    room = await kit.create_room(meet)

    response = await kit.event(meet, "room_started", room["id"])

    assert response.status_code == 200 and response.json() == SUCCESS
    [rule] = await kit.rules_of(room["id"])
    assert rule.name == f"SIP_{room['id']}"
    assert rule.rule.WhichOneof("rule") == "dispatch_rule_direct"
    assert rule.rule.dispatch_rule_direct.room_name == room["id"]
    assert rule.rule.dispatch_rule_direct.pin == room["pin_code"]
    assert list(rule.trunk_ids) == []  # every inbound trunk, as before
    [call] = kit.livekit.calls_to("CreateSIPDispatchRule")
    assert call.claims["sip"]["admin"] is True


async def test_repeated_start_or_an_existing_rule_is_not_a_second_rule(kit):
    meet = await kit.app()
    room = await kit.create_room(meet)
    other = await kit.create_room(meet)
    for _ in range(3):
        assert (await kit.event(meet, "room_started", room["id"])).status_code == 200
    assert len(await kit.rules_of(room["id"])) == 1
    assert len(kit.livekit.calls_to("CreateSIPDispatchRule")) == 1

    # A rule of that name made elsewhere (another worker, an operator) is kept as it is.
    rule = SIPDispatchRuleInfo(
        name=f"SIP_{other['id']}",
        rule=SIPDispatchRule(dispatch_rule_direct=SIPDispatchRuleDirect(room_name=other["id"], pin="x")),
    )
    await kit.lkapi.sip.create_dispatch_rule(CreateSIPDispatchRuleRequest(dispatch_rule=rule))
    assert (await kit.event(meet, "room_started", other["id"])).status_code == 200
    assert len(await kit.rules_of(other["id"])) == 1


async def test_room_finished_deletes_every_rule_of_the_room_only(kit):
    meet = await kit.app()
    room, other = await kit.create_room(meet), await kit.create_room(meet)
    await kit.event(meet, "room_started", room["id"])
    await kit.event(meet, "room_started", other["id"])
    # A leftover duplicate (e.g. from an older server) goes too.
    duplicate = SIPDispatchRuleInfo(
        name=f"SIP_{room['id']}",
        rule=SIPDispatchRule(dispatch_rule_direct=SIPDispatchRuleDirect(room_name=room["id"], pin="0000")),
    )
    await kit.lkapi.sip.create_dispatch_rule(CreateSIPDispatchRuleRequest(dispatch_rule=duplicate))
    assert len(await kit.rules_of(room["id"])) == 2

    response = await kit.event(meet, "room_finished", room["id"])

    assert response.status_code == 200 and response.json() == SUCCESS
    assert await kit.rules_of(room["id"]) == []
    assert len(await kit.rules_of(other["id"])) == 1
    # Finishing again (nothing left) is fine.
    assert (await kit.event(meet, "room_finished", room["id"])).status_code == 200


async def test_unregistered_and_unknown_rooms_get_no_rule(kit):
    meet = await kit.app()
    assert (await kit.event(meet, "room_started", "some-slug-room")).status_code == 200
    assert (await kit.event(meet, "room_started", "6d9d3b8e-3f7e-4f55-9a3c-b2b0a4b1c001")).status_code == 200
    assert await kit.all_rules() == []
    assert kit.livekit.calls_to("CreateSIPDispatchRule") == []


async def test_a_room_made_before_the_plugin_gets_a_pin_and_a_rule_when_it_starts(kit):
    meet = await kit.app()
    room = await meet.create_room("older")  # no PIN yet
    assert (await kit.event(meet, "room_started", str(room.id))).status_code == 200
    pin = (await kit.pins(meet))[str(room.id)]
    [rule] = await kit.rules_of(room.id)
    assert rule.rule.dispatch_rule_direct.pin == pin
    assert (await meet.client.get(f"/api/v1.0/rooms/{room.id}/")).json()["pin_code"] == pin


async def test_rules_apply_to_the_configured_trunks(kit):
    trunk_ids = []
    for number in ("+33100000001", "+33100000002"):
        trunk = SIPInboundTrunkInfo(name=f"trunk {number}", numbers=[number])
        created = await kit.lkapi.sip.create_inbound_trunk(CreateSIPInboundTrunkRequest(trunk=trunk))
        trunk_ids.append(created.sip_trunk_id)
    meet = await kit.app(ROOM_TELEPHONY_SIP_TRUNK_IDS=",".join(trunk_ids))
    room = await kit.create_room(meet)

    await kit.event(meet, "room_started", room["id"])

    [rule] = await kit.rules_of(room["id"])
    assert sorted(rule.trunk_ids) == sorted(trunk_ids)
    assert rule.rule.dispatch_rule_direct.pin == room["pin_code"]


async def test_livekit_failing_then_recovering(kit):
    meet = await kit.app()
    room = await kit.create_room(meet)

    kit.livekit.fail("CreateSIPDispatchRule", code="internal", times=1)
    assert (await kit.event(meet, "room_started", room["id"])).json() == SUCCESS
    assert await kit.rules_of(room["id"]) == []
    kit.livekit.set_down()
    try:
        response = await kit.event(meet, "room_started", room["id"])
    finally:
        kit.livekit.set_down(False)
    assert response.status_code == 200 and response.json() == SUCCESS
    assert await kit.rules_of(room["id"]) == []

    assert (await kit.event(meet, "room_started", room["id"])).status_code == 200  # the next event
    assert len(await kit.rules_of(room["id"])) == 1

    kit.livekit.fail("DeleteSIPDispatchRule", code="unavailable", times=1)
    assert (await kit.event(meet, "room_finished", room["id"])).json() == SUCCESS
    assert len(await kit.rules_of(room["id"])) == 1
    assert (await kit.event(meet, "room_finished", room["id"])).status_code == 200
    assert await kit.rules_of(room["id"]) == []

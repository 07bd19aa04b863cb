"""The fake LiveKit server, driven through the real ``livekit.api.LiveKitAPI`` client."""

from __future__ import annotations

import asyncio
import http.client
import json
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from urllib.parse import urlparse

import aiohttp
import pytest
from livekit import api

from meet_core.testing.fake_livekit import FakeLiveKit

SECRET = "s" * 32  # long enough that PyJWT does not warn about the HMAC key


@pytest.fixture(scope="module")
def server() -> Iterator[FakeLiveKit]:
    with FakeLiveKit(api_key="testkey", api_secret=SECRET) as fake:
        yield fake


@pytest.fixture
def lk(server: FakeLiveKit) -> FakeLiveKit:
    server.reset()
    return server


@pytest.fixture
async def client(lk: FakeLiveKit) -> AsyncIterator[api.LiveKitAPI]:
    async with api.LiveKitAPI(lk.url, lk.api_key, lk.api_secret) as lkapi:
        yield lkapi


def raw_post(lk: FakeLiveKit, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    """Plain stdlib HTTP, to show the fake also serves sync code and non-SDK clients."""
    conn = http.client.HTTPConnection(urlparse(lk.url).netloc, timeout=5)
    try:
        conn.request("POST", path, body, headers)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def bearer(lk: FakeLiveKit, grants: api.VideoGrants) -> str:
    return "Bearer " + api.AccessToken(lk.api_key, lk.api_secret).with_grants(grants).to_jwt()


def test_defaults_and_url() -> None:
    fake = FakeLiveKit()
    assert (fake.api_key, fake.api_secret) == ("devkey", "secret")
    with pytest.raises(RuntimeError):
        _ = fake.url
    with fake:
        assert fake.url.startswith("http://127.0.0.1:")


async def test_create_and_list_rooms(lk: FakeLiveKit, client: api.LiveKitAPI) -> None:
    room = await client.room.create_room(api.CreateRoomRequest(name="r1", metadata="m", empty_timeout=60))
    assert room.sid.startswith("RM_") and room.metadata == "m" and room.empty_timeout == 60
    again = await client.room.create_room(api.CreateRoomRequest(name="r1", metadata="other"))
    assert again.sid == room.sid and again.metadata == "m"
    lk.add_room("r2", metadata="two")
    lk.add_participant("r2", "alice", tracks=["camera"])

    listed = await client.room.list_rooms(api.ListRoomsRequest(names=["r2", "missing"]))
    assert [(r.name, r.metadata, r.num_participants, r.num_publishers) for r in listed.rooms] == [
        ("r2", "two", 1, 1)
    ]
    assert {r.name for r in (await client.room.list_rooms(api.ListRoomsRequest())).rooms} == {"r1", "r2"}
    assert lk.last_call("ListRooms").grant == {
        "roomList": True,
        "canPublish": True,
        "canSubscribe": True,
        "canPublishData": True,
    }

    await client.room.delete_room(api.DeleteRoomRequest(room="r1"))
    assert lk.room("r1") is None
    with pytest.raises(api.ServerError) as err:
        await client.room.delete_room(api.DeleteRoomRequest(room="r1"))
    assert (err.value.code, err.value.status) == ("not_found", 404)


async def test_send_data_is_recorded(lk: FakeLiveKit, client: api.LiveKitAPI) -> None:
    payload = {"type": "lobby", "participant": "bob"}
    await client.room.send_data(
        api.SendDataRequest(
            room="r1",
            data=json.dumps(payload).encode(),
            kind=api.DataPacket.Kind.RELIABLE,
            destination_identities=["alice"],
            topic="lobby",
        )
    )
    call = lk.last_call("SendData")
    assert (call.service, call.method) == ("RoomService", "SendData")
    assert isinstance(call.request, api.SendDataRequest)
    assert json.loads(call.request.data) == payload
    assert list(call.request.destination_identities) == ["alice"] and call.request.topic == "lobby"
    assert call.grant["roomAdmin"] is True and call.grant["room"] == "r1"
    assert call.claims["iss"] == "testkey"
    assert lk.calls_to("SendData", service="RoomService") == [call]
    assert lk.calls_to("SendData", service="Egress") == []


async def test_participants(lk: FakeLiveKit, client: api.LiveKitAPI) -> None:
    alice = lk.add_participant(
        "r1", "alice", name="Alice", attributes={"color": "red"}, tracks=["microphone"]
    )
    lk.add_participant("r1", "bob")
    track = alice.tracks[0]
    assert track.sid.startswith("TR_") and track.type == api.TrackType.AUDIO

    people = await client.room.list_participants(api.ListParticipantsRequest(room="r1"))
    assert [p.identity for p in people.participants] == ["alice", "bob"]
    got = await client.room.get_participant(api.RoomParticipantIdentity(room="r1", identity="alice"))
    assert got.name == "Alice" and got.attributes["color"] == "red"

    muted = await client.room.mute_published_track(
        api.MuteRoomTrackRequest(room="r1", identity="alice", track_sid=track.sid, muted=True)
    )
    assert muted.track.muted and muted.track.sid == track.sid

    updated = await client.room.update_participant(
        api.UpdateParticipantRequest(
            room="r1",
            identity="alice",
            name="Alice B",
            attributes={"room_role": "owner", "color": ""},
            permission=api.ParticipantPermission(can_subscribe=True, can_publish=False),
        )
    )
    assert updated.name == "Alice B" and dict(updated.attributes) == {"room_role": "owner"}
    stored = lk.participant("r1", "alice")
    assert stored is not None and stored.permission.can_publish is False and stored.version == 2

    await client.room.remove_participant(api.RoomParticipantIdentity(room="r1", identity="bob"))
    assert lk.participant("r1", "bob") is None


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.room.update_participant(api.UpdateParticipantRequest(room="r1", identity="ghost")),
        lambda c: c.room.get_participant(api.RoomParticipantIdentity(room="r1", identity="ghost")),
        lambda c: c.room.remove_participant(api.RoomParticipantIdentity(room="r1", identity="ghost")),
        lambda c: c.room.mute_published_track(api.MuteRoomTrackRequest(room="r1", identity="ghost")),
        lambda c: c.room.update_room_metadata(api.UpdateRoomMetadataRequest(room="nope", metadata="x")),
    ],
)
async def test_missing_things_are_not_found(
    lk: FakeLiveKit, client: api.LiveKitAPI, call: Callable[[api.LiveKitAPI], Awaitable[object]]
) -> None:
    lk.add_room("r1")
    with pytest.raises(api.ServerError) as err:
        await call(client)
    assert (err.value.code, err.value.status) == ("not_found", 404)


async def test_update_room_metadata(lk: FakeLiveKit, client: api.LiveKitAPI) -> None:
    lk.add_room("r1")
    room = await client.room.update_room_metadata(api.UpdateRoomMetadataRequest(room="r1", metadata="new"))
    assert room.metadata == "new"
    assert (stored := lk.room("r1")) is not None and stored.metadata == "new"


async def test_failure_injection(lk: FakeLiveKit, client: api.LiveKitAPI) -> None:
    lk.fail("ListRooms", code="unavailable", msg="try later", times=1)
    with pytest.raises(api.ServerError) as err:
        await client.room.list_rooms(api.ListRoomsRequest())
    assert (err.value.code, err.value.message, err.value.status) == ("unavailable", "try later", 503)
    await client.room.list_rooms(api.ListRoomsRequest())  # times=1 is used up
    assert len(lk.calls_to("ListRooms")) == 2  # the SDK does not retry on loopback

    lk.fail("CreateSIPDispatchRule", code="already_exists", service="SIPService")
    for _ in range(2):
        with pytest.raises(api.ServerError) as err:
            await client.sip.create_dispatch_rule(api.CreateSIPDispatchRuleRequest(name="x"))
        assert (err.value.code, err.value.status) == ("already_exists", 409)
    lk.fail("SendData", code="internal", status=599, service="Egress")  # other service: no effect
    await client.room.send_data(api.SendDataRequest(room="r1", data=b"x"))
    lk.clear_failures()
    await client.sip.create_dispatch_rule(api.CreateSIPDispatchRuleRequest(name="x"))


async def test_wrong_secret_is_unauthenticated(lk: FakeLiveKit) -> None:
    async with api.LiveKitAPI(lk.url, lk.api_key, "w" * 32) as bad:
        with pytest.raises(api.ServerError) as err:
            await bad.room.list_rooms(api.ListRoomsRequest())
    assert (err.value.code, err.value.status) == ("unauthenticated", 401)
    async with api.LiveKitAPI(lk.url, "otherkey", lk.api_secret) as bad:
        with pytest.raises(api.ServerError) as err:
            await bad.room.list_rooms(api.ListRoomsRequest())
    assert err.value.code == "unauthenticated"
    assert lk.calls == []


async def test_missing_grant_is_unauthenticated(lk: FakeLiveKit) -> None:
    token = api.AccessToken(lk.api_key, lk.api_secret).with_grants(api.VideoGrants(room_admin=True, room="a"))
    async with api.LiveKitAPI.with_token(token.to_jwt(), lk.url) as scoped:
        await scoped.room.send_data(api.SendDataRequest(room="a", data=b"ok"))
        with pytest.raises(api.ServerError) as err:
            await scoped.room.send_data(api.SendDataRequest(room="b", data=b"other room"))
    assert (err.value.code, err.value.message) == ("unauthenticated", "permissions denied")
    assert [c.request.room for c in lk.calls] == ["a"]


async def test_set_down_drops_connections(lk: FakeLiveKit, client: api.LiveKitAPI) -> None:
    await client.room.list_rooms(api.ListRoomsRequest())  # a pooled keep-alive connection exists
    lk.set_down(True)
    for _ in range(2):
        with pytest.raises(aiohttp.ClientConnectionError):
            await client.room.list_rooms(api.ListRoomsRequest())
    lk.set_down(False)
    await client.room.list_rooms(api.ListRoomsRequest())
    assert len(lk.calls_to("ListRooms")) == 2


async def test_egress_round_trip(lk: FakeLiveKit, client: api.LiveKitAPI) -> None:
    lk.add_room("r1")
    started = await client.egress.start_room_composite_egress(
        api.RoomCompositeEgressRequest(
            room_name="r1",
            audio_only=True,
            file_outputs=[api.EncodedFileOutput(file_type=api.EncodedFileType.OGG, filepath="r1.ogg")],
        )
    )
    assert started.egress_id.startswith("EG_") and started.room_name == "r1"
    assert started.status == api.EgressStatus.EGRESS_STARTING and started.room_composite.audio_only
    assert lk.last_call("StartRoomCompositeEgress", service="EgressService").grant["roomRecord"]
    assert (room := lk.room("r1")) is not None and room.active_recording

    track = await client.egress.start_track_composite_egress(
        api.TrackCompositeEgressRequest(room_name="r2", audio_track_id="TR_a")
    )
    part = await client.egress.start_participant_egress(
        api.ParticipantEgressRequest(room_name="r1", identity="a")
    )
    assert track.track_composite.audio_track_id == "TR_a" and part.participant.identity == "a"

    listed = await client.egress.list_egress(api.ListEgressRequest(room_name="r1"))
    assert {e.egress_id for e in listed.items} == {started.egress_id, part.egress_id}

    lk.set_egress_status(started.egress_id, api.EgressStatus.EGRESS_ACTIVE)
    stopped = await client.egress.stop_egress(api.StopEgressRequest(egress_id=started.egress_id))
    assert stopped.status == api.EgressStatus.EGRESS_ENDING
    with pytest.raises(api.ServerError) as err:
        await client.egress.stop_egress(api.StopEgressRequest(egress_id=started.egress_id))
    assert err.value.code == "failed_precondition"
    with pytest.raises(api.ServerError) as err:
        await client.egress.stop_egress(api.StopEgressRequest(egress_id="EG_nope"))
    assert err.value.code == "not_found"


async def test_stop_egress_answers_a_forced_status(lk: FakeLiveKit, client: api.LiveKitAPI) -> None:
    request = api.RoomCompositeEgressRequest(room_name="r1", audio_only=True)
    first = await client.egress.start_room_composite_egress(request)
    lk.set_stop_status(api.EgressStatus.EGRESS_ABORTED)
    stopped = await client.egress.stop_egress(api.StopEgressRequest(egress_id=first.egress_id))
    assert stopped.status == api.EgressStatus.EGRESS_ABORTED
    assert lk.egress(first.egress_id).status == api.EgressStatus.EGRESS_ABORTED
    lk.set_stop_status(None)
    second = await client.egress.start_room_composite_egress(request)
    stopped = await client.egress.stop_egress(api.StopEgressRequest(egress_id=second.egress_id))
    assert stopped.status == api.EgressStatus.EGRESS_ENDING
    lk.set_stop_status(api.EgressStatus.EGRESS_COMPLETE)
    lk.reset()
    third = await client.egress.start_room_composite_egress(request)
    stopped = await client.egress.stop_egress(api.StopEgressRequest(egress_id=third.egress_id))
    assert stopped.status == api.EgressStatus.EGRESS_ENDING  # reset forgets the forced status


async def test_sip_round_trip(lk: FakeLiveKit, client: api.LiveKitAPI) -> None:
    trunk = await client.sip.create_inbound_trunk(
        api.CreateSIPInboundTrunkRequest(trunk=api.SIPInboundTrunkInfo(name="t", numbers=["+33100"]))
    )
    assert trunk.sip_trunk_id.startswith("ST_")
    trunks = await client.sip.list_inbound_trunk(api.ListSIPInboundTrunkRequest())
    assert [t.name for t in trunks.items] == ["t"]

    direct = api.SIPDispatchRule(dispatch_rule_direct=api.SIPDispatchRuleDirect(room_name="r1", pin="1234"))
    rule = await client.sip.create_dispatch_rule(
        api.CreateSIPDispatchRuleRequest(
            dispatch_rule=api.SIPDispatchRuleInfo(rule=direct, name="SIP_r1", trunk_ids=[trunk.sip_trunk_id])
        )
    )
    assert rule.sip_dispatch_rule_id.startswith("SDR_") and rule.name == "SIP_r1"
    assert rule.rule.dispatch_rule_direct.pin == "1234"
    assert lk.last_call("CreateSIPDispatchRule").claims["sip"]["admin"] is True
    legacy = await client.sip.create_dispatch_rule(
        api.CreateSIPDispatchRuleRequest(
            rule=api.SIPDispatchRule(dispatch_rule_direct=api.SIPDispatchRuleDirect(room_name="r2", pin="9")),
            name="SIP_r2",
        )
    )
    assert legacy.name == "SIP_r2" and legacy.rule.dispatch_rule_direct.room_name == "r2"
    with pytest.raises(api.ServerError) as err:  # same trunks + numbers + PIN
        await client.sip.create_dispatch_rule(api.CreateSIPDispatchRuleRequest(rule=legacy.rule, name="dup"))
    assert err.value.code == "already_exists"

    rules = await client.sip.list_dispatch_rule(api.ListSIPDispatchRuleRequest())
    assert [r.name for r in rules.items] == ["SIP_r1", "SIP_r2"]
    deleted = await client.sip.delete_dispatch_rule(
        api.DeleteSIPDispatchRuleRequest(sip_dispatch_rule_id=rule.sip_dispatch_rule_id)
    )
    assert deleted.name == "SIP_r1"
    with pytest.raises(api.ServerError) as err:
        await client.sip.delete_dispatch_rule(
            api.DeleteSIPDispatchRuleRequest(sip_dispatch_rule_id=rule.sip_dispatch_rule_id)
        )
    assert err.value.code == "not_found"
    await client.sip.delete_trunk(api.DeleteSIPTrunkRequest(sip_trunk_id=trunk.sip_trunk_id))


async def test_agent_dispatch_round_trip(lk: FakeLiveKit, client: api.LiveKitAPI) -> None:
    created = await client.agent_dispatch.create_dispatch(
        api.CreateAgentDispatchRequest(agent_name="subtitles", room="r1", metadata="{}")
    )
    assert created.id.startswith("AD_") and created.agent_name == "subtitles" and created.room == "r1"
    await client.agent_dispatch.create_dispatch(api.CreateAgentDispatchRequest(agent_name="x", room="r2"))
    assert [d.id for d in await client.agent_dispatch.list_dispatch("r1")] == [created.id]
    assert (await client.agent_dispatch.get_dispatch(created.id, "r1")) is not None

    deleted = await client.agent_dispatch.delete_dispatch(created.id, "r1")
    assert deleted.id == created.id
    assert await client.agent_dispatch.list_dispatch("r1") == []
    with pytest.raises(api.ServerError) as err:
        await client.agent_dispatch.delete_dispatch(created.id, "r1")
    assert err.value.code == "not_found"


def test_bad_route_and_json(lk: FakeLiveKit) -> None:
    auth = bearer(lk, api.VideoGrants(room_create=True))
    status, body = raw_post(lk, "/twirp/livekit.RoomService/Nope", b"", {"Authorization": auth})
    assert status == 404 and json.loads(body)["code"] == "bad_route"

    headers = {"Authorization": auth, "Content-Type": "application/json"}
    status, body = raw_post(
        lk, "/twirp/livekit.RoomService/CreateRoom", b'{"name": "j", "metadata": "m"}', headers
    )
    assert status == 200 and json.loads(body)["name"] == "j"
    assert lk.last_call("CreateRoom").request.metadata == "m"

    status, body = raw_post(lk, "/twirp/livekit.RoomService/CreateRoom", b"{nope", headers)
    assert status == 400 and json.loads(body)["code"] == "malformed"
    status, body = raw_post(
        lk, "/twirp/livekit.RoomService/CreateRoom", b"{}", {"Content-Type": "application/json"}
    )
    assert status == 401 and json.loads(body)["code"] == "unauthenticated"


async def test_concurrent_calls(lk: FakeLiveKit, client: api.LiveKitAPI) -> None:
    lk.add_room("r1")
    await asyncio.gather(
        *(client.room.send_data(api.SendDataRequest(room="r1", data=str(i).encode())) for i in range(200))
    )
    assert sorted(int(c.request.data) for c in lk.calls_to("SendData")) == list(range(200))


def test_reset_clears_everything(lk: FakeLiveKit) -> None:
    lk.add_participant("r1", "alice")
    lk.fail("ListRooms")
    lk.set_down(True)
    lk.reset()
    assert lk.room("r1") is None and lk.calls == []
    status, _ = raw_post(
        lk,
        "/twirp/livekit.RoomService/ListRooms",
        b"",
        {
            "Authorization": bearer(lk, api.VideoGrants(room_list=True)),
            "Content-Type": "application/protobuf",
        },
    )
    assert status == 200


async def test_stop_closes_kept_alive_connections_and_restart_keeps_url() -> None:
    fake = FakeLiveKit(api_secret=SECRET).start()
    url = fake.url
    async with api.LiveKitAPI(fake.url, fake.api_key, fake.api_secret) as lkapi:
        await lkapi.room.create_room(api.CreateRoomRequest(name="kept"))
        fake.stop()
        with pytest.raises(aiohttp.ClientConnectionError):
            await lkapi.room.list_rooms(api.ListRoomsRequest())
        with fake.start():
            assert fake.url == url
            rooms = await lkapi.room.list_rooms(api.ListRoomsRequest())
            assert [r.name for r in rooms.rooms] == ["kept"]


def test_fail_rejects_unknown_methods(lk: FakeLiveKit) -> None:
    with pytest.raises(ValueError):
        lk.fail("CreatRoom")


def test_reachable_from_another_process(lk: FakeLiveKit) -> None:
    script = (
        "import asyncio, sys\n"
        "from livekit import api\n"
        "async def main():\n"
        "    async with api.LiveKitAPI(sys.argv[1], sys.argv[2], sys.argv[3]) as c:\n"
        "        await c.room.send_data(api.SendDataRequest(room='r1', data=b'from child'))\n"
        "asyncio.run(main())\n"
    )
    subprocess.run([sys.executable, "-c", script, lk.url, lk.api_key, lk.api_secret], check=True, timeout=60)
    assert lk.last_call("SendData").request.data == b"from child"

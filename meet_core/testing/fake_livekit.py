"""A fake LiveKit server on loopback that speaks LiveKit's Twirp API.

LiveKit has no build here, so tests point the *real* ``livekit.api.LiveKitAPI`` client at this
server instead of mocking it: requests go over HTTP, protobuf bodies are decoded with the
``livekit.protocol`` classes, the bearer JWT is verified like LiveKit does, and a small
in-memory state (rooms, participants, egresses, SIP rules/trunks, agent dispatches) makes the
answers realistic. It runs in a background thread, so one instance can serve sync tests, async
tests and other processes (server subprocesses) for a whole pytest session.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from types import TracebackType
from typing import Any, NamedTuple, TypeVar, cast

import jwt
from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from livekit.protocol import agent, models, rtc, sip
from livekit.protocol import agent_dispatch as ad
from livekit.protocol import egress as eg
from livekit.protocol import room as rm

from meet_core.testing.fake_signal import SignalSocket, is_signal_upgrade

__all__ = ["TWIRP_STATUS", "FakeLiveKit", "RecordedCall"]

#: HTTP status Twirp uses for each error code (twitchtv/twirp ``ServerHTTPStatusFromErrorCode``).
TWIRP_STATUS: dict[str, int] = {
    "canceled": 408, "unknown": 500, "invalid_argument": 400, "malformed": 400,
    "deadline_exceeded": 408, "not_found": 404, "bad_route": 404, "already_exists": 409,
    "permission_denied": 403, "unauthenticated": 401, "resource_exhausted": 429,
    "failed_precondition": 412, "aborted": 409, "out_of_range": 400, "unimplemented": 501,
    "internal": 500, "unavailable": 503, "dataloss": 500,
}  # fmt: skip
# The client's service names are LiveKit's Twirp ones; accept the SDK class names too.
_ALIASES = {"EgressService": "Egress", "SIPService": "SIP", "SipService": "SIP"}
_ACTIVE_EGRESS = (eg.EGRESS_STARTING, eg.EGRESS_ACTIVE, eg.EGRESS_ENDING)
_EGRESS_REQUEST = eg.EgressInfo.DESCRIPTOR.oneofs_by_name["request"]
_H = TypeVar("_H", bound=Callable[..., Message])


class _TwirpError(Exception):
    """Raised by handlers; turned into Twirp's JSON error body."""

    def __init__(self, code: str, msg: str) -> None:
        super().__init__(msg)
        self.code, self.msg = code, msg


@dataclass(frozen=True)
class RecordedCall:
    """One authenticated request: ``grant`` is the JWT ``video`` claim (camelCase keys)."""

    service: str
    method: str
    request: Any  # the decoded protobuf request message
    grant: dict[str, Any]
    claims: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Failure:
    code: str
    msg: str
    status: int
    remaining: int | None


def _new_id(prefix: str) -> str:
    return prefix + uuid.uuid4().hex[:12]


def _copy(msg: Any) -> Any:
    """Return a detached copy so callers never share state with the server thread."""
    out = type(msg)()
    out.CopyFrom(msg)
    return out


def _track(spec: models.TrackInfo | str) -> models.TrackInfo:
    """Build a TrackInfo from a source name ("camera", "microphone", "screen_share", ...)."""
    if isinstance(spec, str):
        audio = spec == "microphone" or spec.endswith("audio")
        track = models.TrackInfo(
            source=spec.upper(),
            name=spec,
            type=models.TrackType.AUDIO if audio else models.TrackType.VIDEO,
        )
    else:
        track = _copy(spec)
    if not track.sid:
        track.sid = _new_id("TR_")
    return track


class _Route(NamedTuple):
    request_cls: type[Message]
    perm: str  # which grant LiveKit checks, see _check_grant
    handler: Callable[[Any, Any], Message]


_ROUTES: dict[str, _Route] = {}  # "RoomService/CreateRoom" -> route, filled by @_twirp


def _twirp(perm: str, *routes: tuple[str, type[Message]]) -> Callable[[_H], _H]:
    """Register a FakeLiveKit method as the handler of ``("Service/Method", request class)`` routes."""

    def register(handler: _H) -> _H:
        _ROUTES.update({name: _Route(request, perm, handler) for name, request in routes})
        return handler

    return register


class FakeLiveKit:
    """Fake LiveKit server for tests; the real ``LiveKitAPI`` client talks to it over HTTP.

    Example::

        from livekit import api
        from meet_core.testing.fake_livekit import FakeLiveKit

        with FakeLiveKit() as lk:  # or start()/stop(), e.g. in a session fixture
            lk.add_participant("room-1", "alice", tracks=["camera", "microphone"])
            lk.fail("RemoveParticipant", code="unavailable", times=1)

            async with api.LiveKitAPI(lk.url, lk.api_key, lk.api_secret) as client:
                await client.room.send_data(api.SendDataRequest(room="room-1", data=b"{}"))

            call = lk.last_call("SendData")
            assert call.request.data == b"{}" and call.grant["roomAdmin"]

    Services use LiveKit's Twirp names: ``RoomService``, ``Egress``, ``SIP``,
    ``AgentDispatchService`` (``EgressService``/``SIPService`` are accepted as aliases in
    ``calls_to``/``fail``). Each handled call is a :class:`RecordedCall` in ``calls``; calls that
    fail authentication (bad JWT, missing grant) answer ``unauthenticated`` and are not recorded.
    ``fail()`` injects Twirp errors, ``set_down()`` drops connections (the client raises
    ``aiohttp.ClientConnectionError``), ``set_delay()`` answers late (a LiveKit that hangs),
    ``reset()`` between tests clears calls, state and all three.
    ``stop()`` then ``start()`` simulates a restart on the same URL, with state kept.
    """

    def __init__(
        self, api_key: str = "devkey", api_secret: str = "secret", host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.api_key, self.api_secret = api_key, api_secret
        self._host, self._port = host, port
        self._lock = threading.RLock()
        self._calls: list[RecordedCall] = []
        self._failures: dict[tuple[str | None, str], _Failure] = {}
        self._down = False
        self._delay = 0.0
        self._verified: dict[tuple[str, str, str], dict[str, Any]] = {}  # checking JWTs is the hot path
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None
        self._conns: set[asyncio.Transport] = set()  # touched on the loop thread only
        self.signals: set[SignalSocket] = set()  # browsers in a room (loop thread only)
        self._clear_state()

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """Base URL for ``LiveKitAPI`` (``http://127.0.0.1:<port>``); valid once started."""
        if self._server is None:
            raise RuntimeError("FakeLiveKit is not started")
        return f"http://{self._host}:{self._port}"

    def start(self) -> FakeLiveKit:
        """Bind (a free port unless one was given) and serve from an event loop in a daemon thread."""
        if self._server is None:
            self._loop = asyncio.new_event_loop()
            self._thread = threading.Thread(target=self._loop.run_forever, name="fake-livekit", daemon=True)
            self._thread.start()
            serve = self._loop.create_server(lambda: _Protocol(self), self._host, self._port)
            self._server = asyncio.run_coroutine_threadsafe(serve, self._loop).result(10)
            self._port = self._server.sockets[0].getsockname()[1]  # a restart keeps the URL
        return self

    def stop(self) -> None:
        """Stop listening and drop kept-alive connections so clients see the server gone."""
        server, loop, self._server = self._server, self._loop, None
        if server is None or loop is None:
            return

        async def close() -> None:
            server.close()
            for transport in list(self._conns):
                transport.abort()
            await asyncio.sleep(0)  # let the aborts actually close the sockets

        asyncio.run_coroutine_threadsafe(close(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=10)
        loop.close()

    def __enter__(self) -> FakeLiveKit:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- recording and failure injection --------------------------------------------------

    @property
    def calls(self) -> list[RecordedCall]:
        """A snapshot of every recorded call, oldest first."""
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str, service: str | None = None) -> list[RecordedCall]:
        """Recorded calls of ``method`` (e.g. "SendData"), optionally of one service."""
        svc = _ALIASES.get(service, service) if service else None
        return [c for c in self.calls if c.method == method and (svc is None or c.service == svc)]

    def last_call(self, method: str, service: str | None = None) -> RecordedCall:
        """The latest call of ``method``; AssertionError if there was none."""
        found = self.calls_to(method, service)
        if not found:
            raise AssertionError(f"no call to {method} recorded (got {[c.method for c in self.calls]})")
        return found[-1]

    def fail(
        self,
        method: str,
        code: str = "internal",
        msg: str = "boom",
        status: int | None = None,
        times: int | None = None,
        service: str | None = None,
    ) -> None:
        """Make ``method`` answer a Twirp error; ``times=None`` until reset/clear_failures."""
        if not any(name.endswith("/" + method) for name in _ROUTES):
            raise ValueError(f"the fake does not serve {method!r}")
        svc = _ALIASES.get(service, service) if service else None
        with self._lock:
            self._failures[(svc, method)] = _Failure(code, msg, status or TWIRP_STATUS.get(code, 500), times)

    def clear_failures(self) -> None:
        """Remove every injected failure and bring the server back up."""
        with self._lock:
            self._failures.clear()
            self._down = False
            self._delay = 0.0

    def set_down(self, down: bool = True) -> None:
        """Simulate LiveKit unreachable: every request gets its connection dropped unanswered."""
        self._down = down

    def set_delay(self, seconds: float = 0.0) -> None:
        """Simulate a LiveKit that hangs: answer every request ``seconds`` late (0: at once)."""
        self._delay = seconds

    def reset(self) -> None:
        """Forget calls, state and failures (call between tests on a shared instance)."""
        with self._lock:
            self._calls.clear()
            self.clear_failures()
            self._clear_state()

    def _clear_state(self) -> None:
        with self._lock:
            self._rooms: dict[str, models.Room] = {}
            self._participants: dict[str, dict[str, models.ParticipantInfo]] = {}
            self._egresses: dict[str, eg.EgressInfo] = {}
            self._rules: dict[str, sip.SIPDispatchRuleInfo] = {}
            self._trunks: dict[str, sip.SIPInboundTrunkInfo] = {}
            self._dispatches: dict[str, ad.AgentDispatch] = {}
            self._stop_status: int | None = None
            #: The JWT claims of every browser that joined over the signalling socket (fake_signal).
            self.signal_joins: list[dict[str, Any]] = []

    # -- state helpers for tests ----------------------------------------------------------

    def add_room(self, name: str, metadata: str = "", age: float = 0.0) -> models.Room:
        """Create (or update the metadata of) a room as if someone had joined it; a new room
        was created ``age`` seconds ago (clean-ups of old rooms are tested without sleeping)."""
        with self._lock:
            room = self._rooms.get(name)
            if room is None:
                room = self._new_room(name)
                room.creation_time -= int(age)
                room.creation_time_ms -= int(age * 1000)
            room.metadata = metadata or room.metadata
            return _copy(room)

    def add_participant(
        self,
        room: str,
        identity: str,
        name: str = "",
        attributes: Mapping[str, str] | None = None,
        tracks: Iterable[models.TrackInfo | str] = (),
        metadata: str = "",
        permission: models.ParticipantPermission | None = None,
    ) -> models.ParticipantInfo:
        """Put a connected participant in ``room`` (created if needed); tracks as sources or TrackInfo."""
        now = time.time()
        info = models.ParticipantInfo(
            sid=_new_id("PA_"),
            identity=identity,
            name=name,
            metadata=metadata,
            state=models.ParticipantInfo.ACTIVE,
            joined_at=int(now),
            joined_at_ms=int(now * 1000),
            attributes=dict(attributes or {}),
            version=1,
            tracks=[_track(t) for t in tracks],
            kind=models.ParticipantInfo.STANDARD,
            permission=permission
            or models.ParticipantPermission(can_subscribe=True, can_publish=True, can_publish_data=True),
        )
        info.is_publisher = bool(info.tracks)
        with self._lock:
            if room not in self._rooms:
                self._new_room(room)
            self._participants.setdefault(room, {})[identity] = info
            return _copy(info)

    def drop_participant(self, room: str, identity: str) -> None:
        """The participant left (its signalling socket closed)."""
        with self._lock:
            self._participants.get(room, {}).pop(identity, None)

    def room(self, name: str) -> models.Room | None:
        """A copy of the stored room, or None."""
        with self._lock:
            found = self._rooms.get(name)
            return self._room_out(found) if found else None

    def participant(self, room: str, identity: str) -> models.ParticipantInfo | None:
        """A copy of the stored participant (to assert UpdateParticipant effects), or None."""
        with self._lock:
            found = self._participants.get(room, {}).get(identity)
            return _copy(found) if found else None

    def egress(self, egress_id: str) -> eg.EgressInfo | None:
        """A copy of the stored egress, or None."""
        with self._lock:
            found = self._egresses.get(egress_id)
            return _copy(found) if found else None

    def set_egress_status(self, egress_id: str, status: eg.EgressStatus) -> None:
        """Move an egress along (e.g. ``EgressStatus.EGRESS_ACTIVE``) as the egress service would."""
        with self._lock:
            self._egresses[egress_id].status = status
            self._egresses[egress_id].updated_at = time.time_ns()

    def set_stop_status(self, status: int | None) -> None:
        """Make StopEgress answer (and store) ``status`` instead of ``EGRESS_ENDING`` (e.g.
        ``EGRESS_ABORTED`` for an egress stopped before it recorded anything); None: back to normal."""
        with self._lock:
            self._stop_status = status

    def add_dispatch(self, room: str, agent_name: str, job_statuses: Iterable[int] = ()) -> ad.AgentDispatch:
        """Store an agent dispatch as if created earlier, with one job per ``JobStatus`` given
        (e.g. ``[JobStatus.JS_FAILED]`` for an agent that crashed)."""
        now = time.time_ns()
        info = ad.AgentDispatch(
            id=_new_id("AD_"), agent_name=agent_name, room=room, state=ad.AgentDispatchState(created_at=now)
        )
        for status in job_statuses:
            info.state.jobs.append(
                agent.Job(
                    id=_new_id("AJ_"), dispatch_id=info.id, agent_name=agent_name,
                    state=agent.JobState(status=cast(Any, status), started_at=now),
                )
            )  # fmt: skip
        with self._lock:
            self._dispatches[info.id] = info
            return _copy(info)

    def dispatches(self, room: str) -> list[ad.AgentDispatch]:
        """Copies of the agent dispatches currently stored for ``room``."""
        with self._lock:
            return [_copy(d) for d in self._dispatches.values() if d.room == room]

    # -- request pipeline (transport independent) -----------------------------------------

    def handle(
        self, http_method: str, path: str, content_type: str, auth: str | None, body: bytes
    ) -> tuple[int, bytes, str]:
        """Answer one Twirp request: ``(status, body, content type)``."""
        as_json = content_type.split(";")[0].strip() == "application/json"
        try:
            name = path.removeprefix("/twirp/livekit.")
            route = _ROUTES.get(name) if name != path and http_method == "POST" else None
            if route is None:
                raise _TwirpError("bad_route", f"no handler for {http_method} {path}")
            if not as_json and content_type.split(";")[0].strip() != "application/protobuf":
                raise _TwirpError("bad_route", f"unexpected Content-Type: {content_type!r}")
            claims = self._verify(auth)
            request = route.request_cls()
            try:
                if as_json:
                    json_format.Parse(body or b"{}", request, ignore_unknown_fields=True)
                else:
                    request.ParseFromString(body)
            except (DecodeError, json_format.ParseError) as exc:
                raise _TwirpError("malformed", f"failed to parse request: {exc}") from exc
            _check_grant(route.perm, request, claims)
            service, method = name.split("/")
            with self._lock:
                self._calls.append(RecordedCall(service, method, request, claims.get("video", {}), claims))
                key = next((k for k in ((service, method), (None, method)) if k in self._failures), None)
                if key is not None:
                    failure = self._failures[key]
                    if failure.remaining is not None:
                        failure.remaining -= 1
                        if failure.remaining <= 0:
                            del self._failures[key]
                    return self._error(failure.status, failure.code, failure.msg)
                response = route.handler(self, request)
        except _TwirpError as exc:
            return self._error(TWIRP_STATUS.get(exc.code, 500), exc.code, exc.msg)
        if as_json:
            text = json_format.MessageToJson(response, preserving_proto_field_name=True, indent=None)
            return 200, text.encode(), "application/json"
        return 200, response.SerializeToString(), "application/protobuf"

    @staticmethod
    def _error(status: int, code: str, msg: str) -> tuple[int, bytes, str]:
        return status, json.dumps({"code": code, "msg": msg}).encode(), "application/json"

    def _verify(self, auth: str | None) -> dict[str, Any]:
        """Check the bearer JWT as LiveKit does: HS256 with our secret, ``iss`` = our key."""
        if not auth or not auth.startswith("Bearer "):
            raise _TwirpError("unauthenticated", "no authorization header")
        key = (auth, self.api_key, self.api_secret)
        cached = self._verified.get(key)  # the SDK mints identical tokens within a second
        if cached is not None and cached.get("exp", 0) + 60 > time.time():
            return cached
        try:
            claims: dict[str, Any] = jwt.decode(
                auth[7:],
                self.api_secret,
                algorithms=["HS256"],
                issuer=self.api_key,
                leeway=60,
                options={"require": ["exp", "iss"]},
            )
        except jwt.PyJWTError as exc:
            raise _TwirpError("unauthenticated", f"invalid token: {exc}") from exc
        if len(self._verified) > 4096:
            self._verified.clear()
        self._verified[key] = claims
        return claims

    # -- RoomService ---------------------------------------------------------------------------

    def _new_room(self, name: str, metadata: str = "") -> models.Room:
        now = time.time()
        room = models.Room(
            sid=_new_id("RM_"),
            name=name,
            metadata=metadata,
            creation_time=int(now),
            creation_time_ms=int(now * 1000),
            empty_timeout=300,
            departure_timeout=20,
        )
        self._rooms[name] = room
        return room

    def _room_out(self, room: models.Room) -> models.Room:
        out: models.Room = _copy(room)
        people = self._participants.get(room.name, {}).values()
        out.num_participants = len(people)
        out.num_publishers = sum(1 for p in people if p.is_publisher)
        out.active_recording = any(
            e.room_name == room.name and e.status in _ACTIVE_EGRESS for e in self._egresses.values()
        )
        return out

    def _get_room(self, name: str) -> models.Room:
        if name not in self._rooms:
            raise _TwirpError("not_found", "requested room does not exist")
        return self._rooms[name]

    def _get_participant(self, room: str, identity: str) -> models.ParticipantInfo:
        found = self._participants.get(room, {}).get(identity)
        if found is None:
            raise _TwirpError("not_found", "participant not found")
        return found

    @_twirp("create", ("RoomService/CreateRoom", rm.CreateRoomRequest))
    def _create_room(self, req: rm.CreateRoomRequest) -> models.Room:
        room = self._rooms.get(req.name)  # LiveKit returns an existing room unchanged
        if room is None:
            room = self._new_room(req.name, req.metadata)
            room.empty_timeout = req.empty_timeout or room.empty_timeout
            room.departure_timeout = req.departure_timeout or room.departure_timeout
            room.max_participants = req.max_participants
        return self._room_out(room)

    @_twirp("list", ("RoomService/ListRooms", rm.ListRoomsRequest))
    def _list_rooms(self, req: rm.ListRoomsRequest) -> rm.ListRoomsResponse:
        rooms = [r for n, r in self._rooms.items() if not req.names or n in req.names]
        return rm.ListRoomsResponse(rooms=[self._room_out(r) for r in rooms])

    @_twirp("create", ("RoomService/DeleteRoom", rm.DeleteRoomRequest))
    def _delete_room(self, req: rm.DeleteRoomRequest) -> rm.DeleteRoomResponse:
        self._get_room(req.room)
        del self._rooms[req.room]
        self._participants.pop(req.room, None)
        self._dispatches = {k: d for k, d in self._dispatches.items() if d.room != req.room}
        return rm.DeleteRoomResponse()

    @_twirp("admin", ("RoomService/UpdateRoomMetadata", rm.UpdateRoomMetadataRequest))
    def _update_room_metadata(self, req: rm.UpdateRoomMetadataRequest) -> models.Room:
        room = self._get_room(req.room)
        room.metadata = req.metadata
        out = self._room_out(room)
        # LiveKit tells the browsers in the room (the frontend shows the recording state from it).
        self._to_browsers(
            req.room, (), lambda signal: signal.send(rtc.SignalResponse(room_update=rtc.RoomUpdate(room=out)))
        )
        return out

    @_twirp("admin", ("RoomService/ListParticipants", rm.ListParticipantsRequest))
    def _list_participants(self, req: rm.ListParticipantsRequest) -> rm.ListParticipantsResponse:
        people = [_copy(p) for p in self._participants.get(req.room, {}).values()]
        return rm.ListParticipantsResponse(participants=people)

    @_twirp("admin", ("RoomService/GetParticipant", rm.RoomParticipantIdentity))
    def _participant_get(self, req: rm.RoomParticipantIdentity) -> models.ParticipantInfo:
        return _copy(self._get_participant(req.room, req.identity))

    @_twirp("admin", ("RoomService/RemoveParticipant", rm.RoomParticipantIdentity))
    def _remove_participant(self, req: rm.RoomParticipantIdentity) -> rm.RemoveParticipantResponse:
        self._get_participant(req.room, req.identity)
        del self._participants[req.room][req.identity]
        return rm.RemoveParticipantResponse()

    @_twirp("admin", ("RoomService/MutePublishedTrack", rm.MuteRoomTrackRequest))
    def _mute_track(self, req: rm.MuteRoomTrackRequest) -> rm.MuteRoomTrackResponse:
        for track in self._get_participant(req.room, req.identity).tracks:
            if track.sid == req.track_sid:
                track.muted = req.muted
                return rm.MuteRoomTrackResponse(track=_copy(track))
        raise _TwirpError("not_found", "track not found")

    @_twirp("admin", ("RoomService/UpdateParticipant", rm.UpdateParticipantRequest))
    def _update_participant(self, req: rm.UpdateParticipantRequest) -> models.ParticipantInfo:
        info = self._get_participant(req.room, req.identity)
        info.metadata = req.metadata or info.metadata
        info.name = req.name or info.name
        if req.HasField("permission"):
            info.permission.CopyFrom(req.permission)
        for key, value in req.attributes.items():  # LiveKit merges; an empty value deletes
            if value:
                info.attributes[key] = value
            else:
                info.attributes.pop(key, None)
        info.version += 1
        return _copy(info)

    @_twirp("admin", ("RoomService/SendData", rm.SendDataRequest))
    def _send_data(self, req: rm.SendDataRequest) -> rm.SendDataResponse:
        if req.nonce and len(req.nonce) != 16:
            raise _TwirpError("invalid_argument", "nonce should be 16-bytes or not present")
        # Delivered, as LiveKit does, to the browsers in the room (or those named) over their data
        # channel: the frontend's lobby notification reaches the owner's page.
        packet = models.DataPacket(
            kind=req.kind,
            destination_identities=list(req.destination_identities),
            user=models.UserPacket(payload=req.data, topic=req.topic or None),
        )
        self._to_browsers(req.room, req.destination_identities, lambda signal: signal.deliver(packet))
        return rm.SendDataResponse()

    def _to_browsers(
        self, room: str, identities: Iterable[str], action: Callable[[SignalSocket], None]
    ) -> None:
        """``action`` on the loop thread for each browser in ``room`` (those named, if any)."""
        targets = set(identities)
        if self._loop is not None:
            for signal in list(self.signals):
                if signal.room == room and (not targets or signal.identity in targets):
                    self._loop.call_soon_threadsafe(action, signal)

    # -- Egress --------------------------------------------------------------------------------

    @_twirp(
        "record",
        ("Egress/StartRoomCompositeEgress", eg.RoomCompositeEgressRequest),
        ("Egress/StartTrackCompositeEgress", eg.TrackCompositeEgressRequest),
        ("Egress/StartParticipantEgress", eg.ParticipantEgressRequest),
        ("Egress/StartWebEgress", eg.WebEgressRequest),
    )
    def _start_egress(self, req: Any) -> eg.EgressInfo:
        room = self._rooms.get(req.room_name)
        info = eg.EgressInfo(
            egress_id=_new_id("EG_"),
            room_name=req.room_name,
            room_id=room.sid if room else "",
            status=eg.EGRESS_STARTING,
            updated_at=time.time_ns(),
        )
        oneof = next(f.name for f in _EGRESS_REQUEST.fields if f.message_type is req.DESCRIPTOR)
        getattr(info, oneof).CopyFrom(req)  # the request is echoed back, as LiveKit does
        self._egresses[info.egress_id] = info
        return _copy(info)

    @_twirp("record", ("Egress/ListEgress", eg.ListEgressRequest))
    def _list_egress(self, req: eg.ListEgressRequest) -> eg.ListEgressResponse:
        items = [
            _copy(e)
            for e in self._egresses.values()
            if (not req.room_name or e.room_name == req.room_name)
            and (not req.egress_id or e.egress_id == req.egress_id)
            and (not req.active or e.status in _ACTIVE_EGRESS)
        ]
        return eg.ListEgressResponse(items=items)

    @_twirp("record", ("Egress/StopEgress", eg.StopEgressRequest))
    def _stop_egress(self, req: eg.StopEgressRequest) -> eg.EgressInfo:
        info = self._egresses.get(req.egress_id)
        if info is None:
            raise _TwirpError("not_found", "egress does not exist")
        if info.status not in (eg.EGRESS_STARTING, eg.EGRESS_ACTIVE):
            raise _TwirpError(
                "failed_precondition",
                f"egress with status {eg.EgressStatus.Name(info.status)} cannot be stopped",
            )
        status = eg.EGRESS_ENDING if self._stop_status is None else self._stop_status
        info.status, info.updated_at = status, time.time_ns()  # type: ignore[assignment]
        return _copy(info)

    # -- SIP -------------------------------------------------------------------------------------

    @_twirp("sip", ("SIP/CreateSIPDispatchRule", sip.CreateSIPDispatchRuleRequest))
    def _create_rule(self, req: sip.CreateSIPDispatchRuleRequest) -> sip.SIPDispatchRuleInfo:
        info = sip.SIPDispatchRuleInfo()
        if req.HasField("dispatch_rule"):
            info.CopyFrom(req.dispatch_rule)
        else:  # deprecated flat fields
            for name in ("rule", "room_config"):
                if req.HasField(name):
                    getattr(info, name).CopyFrom(getattr(req, name))
            info.trunk_ids[:], info.inbound_numbers[:] = req.trunk_ids, req.inbound_numbers
            info.hide_phone_number, info.name, info.metadata, info.room_preset = (
                req.hide_phone_number,
                req.name,
                req.metadata,
                req.room_preset,
            )
            info.attributes.update(req.attributes)
        if any(_rule_key(r) == _rule_key(info) for r in self._rules.values()):
            raise _TwirpError(
                "already_exists", "Conflicting SIP Dispatch Rules: same Trunk+Number+PIN combination"
            )
        info.sip_dispatch_rule_id = _new_id("SDR_")
        self._rules[info.sip_dispatch_rule_id] = info
        return _copy(info)

    @_twirp("sip", ("SIP/ListSIPDispatchRule", sip.ListSIPDispatchRuleRequest))
    def _list_rules(self, req: sip.ListSIPDispatchRuleRequest) -> sip.ListSIPDispatchRuleResponse:
        items = [
            _copy(r)
            for r in self._rules.values()
            if (not req.dispatch_rule_ids or r.sip_dispatch_rule_id in req.dispatch_rule_ids)
            and (not req.trunk_ids or not r.trunk_ids or set(r.trunk_ids) & set(req.trunk_ids))
        ]
        return sip.ListSIPDispatchRuleResponse(items=items)

    @_twirp("sip", ("SIP/DeleteSIPDispatchRule", sip.DeleteSIPDispatchRuleRequest))
    def _delete_rule(self, req: sip.DeleteSIPDispatchRuleRequest) -> sip.SIPDispatchRuleInfo:
        if req.sip_dispatch_rule_id not in self._rules:
            raise _TwirpError("not_found", "SIP dispatch rule not found")
        return self._rules.pop(req.sip_dispatch_rule_id)

    @_twirp("sip", ("SIP/CreateSIPInboundTrunk", sip.CreateSIPInboundTrunkRequest))
    def _create_trunk(self, req: sip.CreateSIPInboundTrunkRequest) -> sip.SIPInboundTrunkInfo:
        info: sip.SIPInboundTrunkInfo = _copy(req.trunk)
        info.sip_trunk_id = _new_id("ST_")
        self._trunks[info.sip_trunk_id] = info
        return _copy(info)

    @_twirp("sip", ("SIP/ListSIPInboundTrunk", sip.ListSIPInboundTrunkRequest))
    def _list_trunks(self, req: sip.ListSIPInboundTrunkRequest) -> sip.ListSIPInboundTrunkResponse:
        items = [_copy(t) for i, t in self._trunks.items() if not req.trunk_ids or i in req.trunk_ids]
        return sip.ListSIPInboundTrunkResponse(items=items)

    @_twirp("sip", ("SIP/DeleteSIPTrunk", sip.DeleteSIPTrunkRequest))
    def _delete_trunk(self, req: sip.DeleteSIPTrunkRequest) -> sip.SIPTrunkInfo:
        trunk = self._trunks.pop(req.sip_trunk_id, None)
        if trunk is None:
            raise _TwirpError("not_found", "SIP trunk not found")
        return sip.SIPTrunkInfo(sip_trunk_id=trunk.sip_trunk_id, name=trunk.name, metadata=trunk.metadata)

    # -- AgentDispatchService -----------------------------------------------------------------

    @_twirp("admin", ("AgentDispatchService/CreateDispatch", ad.CreateAgentDispatchRequest))
    def _create_dispatch(self, req: ad.CreateAgentDispatchRequest) -> ad.AgentDispatch:
        info = ad.AgentDispatch(
            id=_new_id("AD_"),
            agent_name=req.agent_name,
            room=req.room,
            metadata=req.metadata,
            deployment=req.deployment,
            attributes=dict(req.attributes),
            restart_policy=req.restart_policy,
            state=ad.AgentDispatchState(created_at=time.time_ns()),
        )
        self._dispatches[info.id] = info
        return _copy(info)

    @_twirp("admin", ("AgentDispatchService/DeleteDispatch", ad.DeleteAgentDispatchRequest))
    def _delete_dispatch(self, req: ad.DeleteAgentDispatchRequest) -> ad.AgentDispatch:
        found = self._dispatches.get(req.dispatch_id)
        if found is None or found.room != req.room:
            raise _TwirpError("not_found", "dispatch not found")
        del self._dispatches[req.dispatch_id]
        found.state.deleted_at = time.time_ns()
        return found

    @_twirp("admin", ("AgentDispatchService/ListDispatch", ad.ListAgentDispatchRequest))
    def _list_dispatch(self, req: ad.ListAgentDispatchRequest) -> ad.ListAgentDispatchResponse:
        found = [
            _copy(d)
            for d in self._dispatches.values()
            if d.room == req.room and (not req.dispatch_id or d.id == req.dispatch_id)
        ]
        return ad.ListAgentDispatchResponse(agent_dispatches=found)


def _rule_key(rule: sip.SIPDispatchRuleInfo) -> tuple[Any, ...]:
    """What LiveKit refuses to have twice: the same trunks, numbers and PIN."""
    kind = rule.rule.WhichOneof("rule")
    pin = getattr(getattr(rule.rule, kind), "pin", "") if kind else ""
    return tuple(sorted(rule.trunk_ids)), tuple(sorted(rule.inbound_numbers)), pin


def _check_grant(perm: str, request: Any, claims: dict[str, Any]) -> None:
    """Enforce the grant LiveKit requires for the method (it answers ``unauthenticated``)."""
    video = claims.get("video") or {}
    ok = {
        "create": bool(video.get("roomCreate")),
        "list": bool(video.get("roomList")),
        "record": bool(video.get("roomRecord")),
        "sip": bool((claims.get("sip") or {}).get("admin")),
        "admin": bool(video.get("roomAdmin")) and video.get("room") == getattr(request, "room", None),
    }[perm]
    if not ok:
        raise _TwirpError("unauthenticated", "permissions denied")


class _Protocol(asyncio.Protocol):
    """Minimal HTTP/1.1 keep-alive server: the stdlib one spends more time parsing headers than
    the fake spends answering, and benchmarks go through here."""

    def __init__(self, fake: FakeLiveKit) -> None:
        self.fake, self.buf, self.continued = fake, b"", False
        self.transport: asyncio.Transport | None = None
        self.signal: SignalSocket | None = None  # once upgraded to LiveKit's signalling WebSocket

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.fake._conns.add(self.transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.fake._conns.discard(self.transport)  # type: ignore[arg-type]
        if self.signal is not None:
            self.signal.closed()

    def data_received(self, data: bytes) -> None:
        if self.signal is not None:
            self.signal.feed(data)
            return
        self.buf += data
        while self.transport is not None and (end := self.buf.find(b"\r\n\r\n")) >= 0:
            lines = self.buf[:end].decode("latin-1").split("\r\n")
            method, path, version = [*lines[0].split(" "), "", ""][:3]
            headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:])}
            size = end + 4 + int(headers.get("content-length") or 0)
            if len(self.buf) < size:
                if headers.get("expect", "").lower() == "100-continue" and not self.continued:
                    self.continued = True
                    self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                return
            body, self.buf, self.continued = self.buf[end + 4 : size], self.buf[size:], False
            if is_signal_upgrade(method, path, headers):  # a browser joining a room
                self.signal = SignalSocket(self.fake, self.transport, path, headers)
                return
            if self.fake._down:  # like a crashed server: the connection drops, nothing answered
                self.transport.abort()
                return
            status, payload, ctype = self.fake.handle(
                method, path, headers.get("content-type", ""), headers.get("authorization"), body
            )
            head = f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\nContent-Type: {ctype}\r\n"
            answer = f"{head}Content-Length: {len(payload)}\r\n\r\n".encode() + payload
            close = headers.get("connection", "").lower() == "close" or version == "HTTP/1.0"
            if self.fake._delay > 0:  # late, in order (a pipelined request waits for this one)
                asyncio.get_running_loop().call_later(self.fake._delay, self._answer, answer, close)
            else:
                self._answer(answer, close)

    def _answer(self, answer: bytes, close: bool) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(answer)
            if close:
                self.transport.close()

"""The signalling half of the fake LiveKit server: enough of ``/rtc`` for a browser to join.

A LiveKit client (livekit-client in the official frontend) opens a WebSocket on
``<url>/rtc/v1?access_token=<JWT>`` and waits for a ``SignalResponse{join}`` naming the room and
its own participant, attributes included: the frontend reads ``room_role`` there to show the
owner's tools (the lobby's waiting list). :class:`SignalSocket` checks the token as LiveKit does,
answers that join, keeps the socket alive (pongs) and puts the participant in the fake's room
until the socket closes. The publisher offer the client sends (in the join URL, then as
``offer`` requests) is answered by :mod:`meet_core.testing.fake_rtc` (aiortc, loopback only), its
trickled candidates applied: the peer connection comes up and the room reaches "Connected".
Tracks the client publishes are acknowledged (``track_published``) and their media dropped.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import hashlib
import json
import struct
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import jwt
from livekit.protocol import models, rtc

if TYPE_CHECKING:
    from collections.abc import Coroutine

    from meet_core.testing.fake_livekit import FakeLiveKit
    from meet_core.testing.fake_rtc import PublisherPeer

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_BINARY, _CLOSE, _PING, _PONG = 0x2, 0x8, 0x9, 0xA


def is_signal_upgrade(method: str, path: str, headers: dict[str, str]) -> bool:
    return method == "GET" and path.startswith("/rtc") and headers.get("upgrade", "").lower() == "websocket"


def _frame(opcode: int, payload: bytes) -> bytes:
    size = len(payload)
    if size < 126:
        head = struct.pack("!BB", 0x80 | opcode, size)
    elif size < 1 << 16:
        head = struct.pack("!BBH", 0x80 | opcode, 126, size)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 127, size)
    return head + payload


class SignalSocket:
    """One client's signalling WebSocket, fed the bytes its asyncio protocol receives."""

    def __init__(self, fake: FakeLiveKit, transport: asyncio.Transport, path: str, headers: dict[str, str]):
        self.fake, self.transport, self.buf = fake, transport, b""
        self.room = self.identity = ""
        self.peer: PublisherPeer | None = None
        self.tasks: set[asyncio.Task[None]] = set()
        key = headers.get("sec-websocket-key", "").encode()
        accept = base64.b64encode(hashlib.sha1(key + _GUID).digest())
        query = parse_qs(urlsplit(path).query)
        token = query.get("access_token", [""])[0]
        try:
            claims: dict[str, Any] = jwt.decode(
                token, fake.api_secret, algorithms=["HS256"], issuer=fake.api_key, leeway=60
            )
        except jwt.PyJWTError as exc:
            body = json.dumps({"code": "unauthenticated", "msg": str(exc)}).encode()
            transport.write(b"HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\n")
            transport.write(f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)
            transport.close()
            return
        transport.write(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n"
        )
        self.send(rtc.SignalResponse(join=self._join(claims)))
        fake.signals.add(self)
        join_request = _join_request(query.get("join_request", [""])[0])
        if join_request.HasField("publisher_offer"):
            self._offer(join_request.publisher_offer)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def _offer(self, offer: rtc.SessionDescription) -> None:
        if self.peer is None:
            from meet_core.testing.fake_rtc import PublisherPeer  # aiortc: only once a browser offers

            self.peer = PublisherPeer(self.send)
        self._spawn(self.peer.answer(offer))

    def _join(self, claims: dict[str, Any]) -> rtc.JoinResponse:
        grant = claims.get("video", {})
        self.room, self.identity = str(grant.get("room", "")), str(claims.get("sub", ""))
        participant = self.fake.add_participant(
            self.room,
            self.identity,
            name=str(claims.get("name", "")),
            # JSON null is a string's zero value to LiveKit (Go): "" (anonymous room_role).
            attributes={k: "" if v is None else str(v) for k, v in (claims.get("attributes") or {}).items()},
            metadata=str(claims.get("metadata", "")),
            permission=models.ParticipantPermission(
                can_subscribe=grant.get("canSubscribe", True),
                can_publish=grant.get("canPublish", True),
                can_publish_data=grant.get("canPublishData", True),
                can_update_metadata=grant.get("canUpdateOwnMetadata", False),
                # The frontend enables its microphone/camera/screen toggles from this list.
                can_publish_sources=[str(source).upper() for source in grant.get("canPublishSources") or []],
            ),
        )
        self.fake.signal_joins.append(dict(claims))
        room = self.fake.room(self.room) or models.Room(name=self.room)
        return rtc.JoinResponse(
            room=room,
            participant=participant,
            server_version="1.9.0",
            server_info=models.ServerInfo(edition=models.ServerInfo.Standard, version="1.9.0"),
            ping_interval=5,
            ping_timeout=20,
        )

    def send(self, message: rtc.SignalResponse) -> None:
        self.transport.write(_frame(_BINARY, message.SerializeToString()))

    def feed(self, data: bytes) -> None:
        """Client frames (masked): pings answered, a close closes, the rest is read and ignored."""
        self.buf += data
        while len(self.buf) >= 2:
            opcode, size, at = self.buf[0] & 0x0F, self.buf[1] & 0x7F, 2
            if size == 126:
                if len(self.buf) < 4:
                    return
                size, at = struct.unpack("!H", self.buf[2:4])[0], 4
            elif size == 127:
                if len(self.buf) < 10:
                    return
                size, at = struct.unpack("!Q", self.buf[2:10])[0], 10
            if len(self.buf) < at + 4 + size:
                return
            mask, payload = self.buf[at : at + 4], self.buf[at + 4 : at + 4 + size]
            self.buf = self.buf[at + 4 + size :]
            payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            if opcode == _CLOSE:
                self.transport.write(_frame(_CLOSE, payload[:2]))
                self.transport.close()
                return
            if opcode == _PING:
                self.transport.write(_frame(_PONG, payload))
            elif opcode == _BINARY:
                self._request(payload)

    def _request(self, payload: bytes) -> None:
        request = rtc.SignalRequest()
        request.ParseFromString(payload)
        kind = request.WhichOneof("message")
        if kind == "ping_req":
            pong = rtc.Pong(last_ping_timestamp=request.ping_req.timestamp, timestamp=int(time.time() * 1000))
            self.send(rtc.SignalResponse(pong_resp=pong))
        elif kind == "offer":
            self._offer(request.offer)
        elif kind == "trickle" and self.peer is not None:
            self._spawn(self.peer.trickle(request.trickle))
        elif kind == "add_track":
            self._track_published(request.add_track)
        elif kind == "leave":
            self.transport.close()

    def _track_published(self, add: rtc.AddTrackRequest) -> None:
        """LiveKit's acknowledgement of a track the client is about to publish."""
        track = models.TrackInfo(
            sid="TR_" + add.cid[-12:],
            type=add.type,
            name=add.name,
            source=add.source,
            muted=add.muted,
            width=add.width,
            height=add.height,
            mime_type="",
        )
        self.send(rtc.SignalResponse(track_published=rtc.TrackPublishedResponse(cid=add.cid, track=track)))

    def closed(self) -> None:
        """The socket is gone: the participant leaves the room."""
        if self.room and self.identity:
            self.fake.drop_participant(self.room, self.identity)
        self.fake.signals.discard(self)
        if self.peer is not None:
            self._spawn(self.peer.close())

    def deliver(self, packet: models.DataPacket) -> None:
        """A data packet sent through the API (``SendData``) to this browser, if its channel is up."""
        if self.peer is not None:
            self.peer.deliver(packet)


def _join_request(value: str) -> rtc.JoinRequest:
    """The client's ``join_request`` parameter: a base64url ``WrappedJoinRequest``."""
    request = rtc.JoinRequest()
    if value:
        wrapped = rtc.WrappedJoinRequest()
        wrapped.ParseFromString(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
        data = wrapped.join_request
        if wrapped.compression == rtc.WrappedJoinRequest.GZIP:
            data = gzip.decompress(data)
        request.ParseFromString(data)
    return request

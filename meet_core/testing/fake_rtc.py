"""The media half of the fake LiveKit's signalling: answer a browser's peer connection on loopback.

livekit-client (``/rtc/v1``, single peer connection) puts its publisher offer in the join URL and
counts the room "Connected" only once that peer connection is up. :class:`PublisherPeer` answers
it with an aiortc ``RTCPeerConnection`` (no ICE servers, host candidates on 127.0.0.1 only, all in
the answer's SDP), applies the client's trickled candidates and accepts its data channels
(``_reliable``, ``_lossy``). Media is received and dropped. Imported only when a signalling
socket brings an offer, so the rest of the suite never loads aiortc.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

import aioice.ice
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaBlackhole
from aiortc.sdp import candidate_from_sdp
from livekit.protocol import models, rtc

logger = logging.getLogger(__name__)


def _loopback_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    """Nothing but 127.0.0.1: the fake never offers a candidate off loopback."""
    return ["127.0.0.1"] if use_ipv4 else []


aioice.ice.get_host_addresses = _loopback_addresses  # type: ignore[assignment]


class PublisherPeer:
    """The server end of the client's publisher peer connection, answering each of its offers."""

    def __init__(self, send: Callable[[rtc.SignalResponse], None]) -> None:
        self.send = send
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.channels: list[Any] = []
        self._sink = MediaBlackhole()
        self._lock = asyncio.Lock()
        self.pc.on("datachannel", self.channels.append)
        self.pc.on("track", self._sink.addTrack)

    async def answer(self, offer: rtc.SessionDescription) -> None:
        """Answer ``offer`` (the first one or a renegotiation), its id echoed as LiveKit does."""
        async with self._lock:
            try:
                await self.pc.setRemoteDescription(RTCSessionDescription(sdp=offer.sdp, type=offer.type))
                await self.pc.setLocalDescription(await self.pc.createAnswer())
            except Exception:  # a bad offer: the client times out, the test shows why in the log
                logger.exception("fake LiveKit could not answer the offer")
                return
            await self._sink.start()
            answer = rtc.SessionDescription(type="answer", sdp=self.pc.localDescription.sdp, id=offer.id)
            self.send(rtc.SignalResponse(answer=answer))

    async def trickle(self, trickle: rtc.TrickleRequest) -> None:
        """A candidate the client found after its offer (``candidateInit`` is its JSON)."""
        init = json.loads(trickle.candidateInit or "{}")
        line = str(init.get("candidate") or "")
        if not line:
            return
        candidate = candidate_from_sdp(line.removeprefix("candidate:"))
        candidate.sdpMid, candidate.sdpMLineIndex = init.get("sdpMid"), init.get("sdpMLineIndex")
        async with self._lock:  # after the offer it belongs to
            try:
                await self.pc.addIceCandidate(candidate)
            except Exception:
                logger.debug("fake LiveKit ignored candidate %s", line, exc_info=True)

    def deliver(self, packet: models.DataPacket) -> None:
        """``packet`` on the client's data channel of its kind (``_reliable`` or ``_lossy``)."""
        label = "_lossy" if packet.kind == models.DataPacket.LOSSY else "_reliable"
        for channel in self.channels:
            if channel.label == label and channel.readyState == "open":
                channel.send(packet.SerializeToString())
                return
        logger.warning("fake LiveKit: no open %s channel for a data packet", label)

    async def close(self) -> None:
        await self._sink.stop()
        await self.pc.close()

"""Lobby state in Valkey: every change is one atomic Lua script, every call one round trip.

Keys of a room (the ``{<room id>}`` hash tag keeps a room's keys in one cluster slot)::

    lobby:<LOBBY_KEY_PREFIX>:{<room>}:p:<pid>   hash status, username, color, since (ms); TTL per status
    lobby:<LOBBY_KEY_PREFIX>:{<room>}:waiting   sorted set pid -> expiry (ms) of the waiting ones
    lobby:<LOBBY_KEY_PREFIX>:{<room>}:all       sorted set pid -> expiry (ms) of every entry, to
                                                clear a room without KEYS/SCAN

The poll also counts the request against ``REQUEST_ENTRY_THROTTLE_RATES`` and, for an
anonymous caller, ``REQUEST_ENTRY_ADDRESS_THROTTLE_RATES`` (the core's throttle, inside the
same script): a waiting participant's poll is one round trip in all.

Why scripts: a poll refreshes a waiting entry only if it is still waiting, and an admin's
decision overwrites the status whatever it is, each atomically; so an accept racing a poll
can never be lost, on one worker or many. Times come from the Valkey server (``TIME``), so
workers on several hosts agree without synchronised clocks.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any, Literal

import msgspec
from livekit import api

from meet_core.api import THROTTLE_LUA, PipelinedValkey, Script, Throttle, throttled
from meet_lobby.settings import LobbySettings

log = logging.getLogger("meet_lobby")

Status = Literal["waiting", "accepted", "denied"]

_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

# Keep ``key`` (the room's index of all entries) covering ``pid`` until ``now + ttl``.
_INDEX = """
local function index(key, pid, now, ttl)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  redis.call('ZADD', key, 'GT', now + ttl, pid)
  local left = redis.call('PTTL', key)
  if left < ttl then redis.call('PEXPIRE', key, ttl) end
end
"""

# KEYS: participant, waiting, all, then one throttle key per hit. ARGV: pid, username, color,
# waiting ttl (ms), then each hit's period (s) and limit. Counts the request against its
# throttles first (the core's ``over_limit``: one round trip for all). Returns {-1, wait}
# when throttled, else {created (0|1), status, username, color}.
POLL = Script.of(
    THROTTLE_LUA
    + """
for i = 4, #KEYS do
  local wait = over_limit(KEYS[i], ARGV[2 * i - 3], ARGV[2 * i - 2])
  if wait then return {-1, wait} end
end
"""
    + _NOW
    + _INDEX
    + """
local ttl = tonumber(ARGV[4])
local e = redis.call('HMGET', KEYS[1], 'status', 'username', 'color')
local s = e[1]
if e[2] and e[3] then
  if s == 'waiting' then
    redis.call('PEXPIRE', KEYS[1], ttl)
    redis.call('ZADD', KEYS[2], now + ttl, ARGV[1])
    redis.call('PEXPIRE', KEYS[2], ttl)
    return {0, s, e[2], e[3]}
  elseif s == 'accepted' or s == 'denied' then
    return {0, s, e[2], e[3]}
  end
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'status', 'waiting', 'username', ARGV[2], 'color', ARGV[3], 'since', now)
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('ZADD', KEYS[2], now + ttl, ARGV[1])
redis.call('PEXPIRE', KEYS[2], ttl)
index(KEYS[3], ARGV[1], now, ttl)
return {1, 'waiting', ARGV[2], ARGV[3]}
"""
)

# KEYS: participant, waiting, all. ARGV: pid, new status, ttl (ms).
# Returns 1 when updated, 0 when there is no entry (a corrupt one is deleted first).
DECIDE = Script.of(
    _NOW
    + _INDEX
    + """
local e = redis.call('HMGET', KEYS[1], 'status', 'username', 'color')
local s = e[1]
if not (e[2] and e[3] and (s == 'waiting' or s == 'accepted' or s == 'denied')) then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
  return 0
end
local ttl = tonumber(ARGV[3])
redis.call('HSET', KEYS[1], 'status', ARGV[2], 'until', now + ttl)
redis.call('HDEL', KEYS[1], 'sid')
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('ZREM', KEYS[2], ARGV[1])
index(KEYS[3], ARGV[1], now, ttl)
return 1
"""
)

# KEYS: waiting. ARGV: participant key prefix. Returns flat {pid, username, color, since, ...}.
LIST_WAITING = Script.of(
    _NOW
    + """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local out = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local e = redis.call('HMGET', ARGV[1] .. id, 'status', 'username', 'color', 'since')
  if e[1] == 'waiting' and e[2] and e[3] then
    table.insert(out, id)
    table.insert(out, e[2])
    table.insert(out, e[3])
    table.insert(out, e[4] or '0')
  else
    redis.call('ZREM', KEYS[1], id)
  end
end
return out
"""
)

# KEYS: participant. ARGV: LiveKit participant sid. An admitted participant (re)joined the
# meeting: remember this connection and give the admission back its full deadline.
JOINED = Script.of("""
if redis.call('HGET', KEYS[1], 'status') ~= 'accepted' then return 0 end
if ARGV[1] ~= '' then redis.call('HSET', KEYS[1], 'sid', ARGV[1]) end
local deadline = tonumber(redis.call('HGET', KEYS[1], 'until') or '0')
if deadline and deadline > 0 then redis.call('PEXPIREAT', KEYS[1], deadline) end
return 1
""")

# KEYS: participant. ARGV: grace (ms), LiveKit participant sid. The admission of a participant
# who left lasts the grace period only; a departure of an older connection (LiveKit may report
# it after the new one joined) is ignored.
LEFT = Script.of("""
if redis.call('HGET', KEYS[1], 'status') ~= 'accepted' then return 0 end
local current = redis.call('HGET', KEYS[1], 'sid')
if current and ARGV[2] ~= '' and current ~= ARGV[2] then return 0 end
local grace = tonumber(ARGV[1])
if grace <= 0 then
  redis.call('DEL', KEYS[1])
  return 1
end
local left = redis.call('PTTL', KEYS[1])
if left < 0 or left > grace then redis.call('PEXPIRE', KEYS[1], grace) end
return 1
""")

# KEYS: participant, waiting, all. ARGV: pid. Deletes the participant's entry.
FORGET = Script.of("""
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
""")

# KEYS: waiting, all. ARGV: participant key prefix. Deletes every entry of the room.
CLEAR_ROOM = Script.of("""
local n = 0
for _, key in ipairs(KEYS) do
  for _, id in ipairs(redis.call('ZRANGE', key, 0, -1)) do
    n = n + redis.call('DEL', ARGV[1] .. id)
  end
end
redis.call('DEL', KEYS[1], KEYS[2])
return n
""")


class Entry(msgspec.Struct, frozen=True):
    """A lobby participant as the API shows it."""

    id: str
    username: str
    status: Status
    color: str


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


class LobbyService:
    """The lobby of one application: its Valkey scripts, settings and LiveKit client."""

    def __init__(self, settings: LobbySettings, valkey: PipelinedValkey, livekit: api.LiveKitAPI) -> None:
        self.settings = settings
        self.valkey = valkey
        self.livekit = livekit
        self._notification = json.dumps({"type": settings.lobby_notification_type}).encode()

    # ---------------------------------------------------------------------------- keys

    def _room(self, room_id: str) -> str:
        return f"lobby:{self.settings.lobby_key_prefix}:{{{room_id}}}:"

    def _keys(self, room_id: str, pid: str) -> list[str]:
        base = self._room(room_id)
        return [f"{base}p:{pid}", f"{base}waiting", f"{base}all"]

    # ------------------------------------------------------------------------ state

    async def get(self, room_id: str, pid: str) -> Entry | None:
        """The stored entry, or None (absent or unreadable); does not touch its TTL."""
        key = self._keys(room_id, pid)[0]
        values: list[Any] = await self.valkey.execute("HMGET", key, "status", "username", "color")
        status, username, color = values
        if status is None or username is None or color is None:
            return None
        status_text = _text(status)
        if status_text not in ("waiting", "accepted", "denied"):
            return None
        return Entry(id=pid, username=_text(username), status=status_text, color=_text(color))  # type: ignore[arg-type]

    async def poll(
        self, room_id: str, pid: str, username: str, color: str, hits: tuple[Throttle, ...]
    ) -> tuple[bool, Entry]:
        """Queue ``pid`` (True when it was not already known) or refresh its waiting entry.

        ``hits`` are counted in the same script, first: 429 (nothing changed) when one is
        over its rate.
        """
        result = await self.valkey.run_script(
            POLL,
            [*self._keys(room_id, pid), *(hit.key for hit in hits)],
            [
                pid,
                username,
                color,
                _ms(self.settings.lobby_waiting_timeout),
                *(arg for hit in hits for arg in (hit.period, hit.limit)),
            ],
        )
        if int(result[0]) < 0:
            raise throttled(int(result[1]))
        created, status, stored_name, stored_color = result
        entry = Entry(id=pid, username=_text(stored_name), status=_text(status), color=_text(stored_color))  # type: ignore[arg-type]
        return bool(int(created)), entry

    async def decide(self, room_id: str, pid: str, accept: bool) -> bool:
        """Admit or refuse ``pid`` whatever its current status; False when it has no entry."""
        s = self.settings
        status, ttl = ("accepted", s.lobby_accepted_timeout) if accept else ("denied", s.lobby_denied_timeout)
        return bool(
            int(await self.valkey.run_script(DECIDE, self._keys(room_id, pid), [pid, status, _ms(ttl)]))
        )

    async def waiting(self, room_id: str) -> list[Entry]:
        """The waiting participants of a room, in arrival order."""
        base = self._room(room_id)
        flat = await self.valkey.run_script(LIST_WAITING, [f"{base}waiting"], [f"{base}p:"])
        rows = [flat[i : i + 4] for i in range(0, len(flat), 4)]
        rows.sort(key=lambda row: int(row[3]))
        return [
            Entry(id=_text(pid), username=_text(name), status="waiting", color=_text(color))
            for pid, name, color, _ in rows
        ]

    async def forget(self, room_id: str, pid: str) -> None:
        """Delete ``pid``'s entry (a participant removed by a room administrator)."""
        await self.valkey.run_script(FORGET, self._keys(room_id, pid), [pid])

    async def participant_joined(self, room_id: str, pid: str, sid: str) -> None:
        """An admitted participant is in the meeting: restore the admission's full deadline."""
        await self.valkey.run_script(JOINED, self._keys(room_id, pid)[:1], [sid])

    async def participant_left(self, room_id: str, pid: str, sid: str) -> None:
        """Shorten ``pid``'s admission to ``LOBBY_REJOIN_TIMEOUT`` (0: forget it now)."""
        grace = self.settings.lobby_rejoin_timeout
        await self.valkey.run_script(LEFT, self._keys(room_id, pid)[:1], [round(grace * 1000), sid])

    async def clear_room(self, room_id: str) -> None:
        """Delete every entry of a room (the meeting is over)."""
        base = self._room(room_id)
        await self.valkey.run_script(CLEAR_ROOM, [f"{base}waiting", f"{base}all"], [f"{base}p:"])

    async def count_waiting(self, client: Any) -> int:
        """Participants waiting in every room (``meet_lobby_waiting_participants``, read at each
        scrape): the live members of each room's waiting set, found by ``SCAN`` (cost grows with
        the number of keys, once per scrape, never on a request)."""
        now_ms = int(time.time() * 1000)
        total = 0
        keys: list[Any] = []
        pattern = f"lobby:{self.settings.lobby_key_prefix}:*:waiting"
        async for key in client.scan_iter(match=pattern, count=1000):
            keys.append(key)
            if len(keys) >= 500:
                total += await _count_live(client, keys, now_ms)
                keys = []
        return total + (await _count_live(client, keys, now_ms) if keys else 0)

    # ----------------------------------------------------------------------- LiveKit

    async def notify_waiting(self, room_name: str) -> None:
        """Tell a live room that someone waits; best-effort, bounded, errors only logged."""
        try:
            async with asyncio.timeout(self.settings.lobby_notification_timeout):
                found = await self.livekit.room.list_rooms(api.ListRoomsRequest(names=[room_name]))
                if not found.rooms:
                    return
                await self.livekit.room.send_data(
                    api.SendDataRequest(
                        room=room_name, data=self._notification, kind=api.DataPacket.Kind.RELIABLE
                    )
                )
        except Exception as exc:  # the participant queues whatever LiveKit does
            log.warning("lobby notification to room %s failed: %r", room_name, exc)


async def _count_live(client: Any, keys: list[Any], now_ms: int) -> int:
    """The members of the waiting sets ``keys`` whose deadline is not past, in one round trip."""
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.zcount(key, now_ms, "+inf")
    return sum(int(n) for n in await pipe.execute())

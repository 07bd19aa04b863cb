"""Load benchmark of the lobby plugin (see bench/README.md, section "Lobby").

Starts a private Valkey, a fake LiveKit (in its own process), a database (SQLite, or PostgreSQL
with ``--database postgres``) with M trusted rooms (one admin each) and ``meet serve`` with the
lobby plugin, then:

1. ``throughput``: C clients send request-entry back to back for T seconds (each keeps its
   lobby cookie, so after the first call every request is a poll); prints requests/s and
   latency percentiles.
2. ``capacity``: N waiting participants (arriving 500 per second) each poll request-entry every
   second across the M rooms while each room's admin polls waiting-participants every second;
   N grows step by step and the largest N whose p99 stays under the target (100 ms) is reported.
   With ``--wrk`` the load comes from two wrk processes instead of this process's asyncio
   client (which, beyond N = 1,000, takes the CPU the server needs): after a creation pass (the
   N participants join the lobby, not measured), one wrk keeps N connections each sending a
   poll about once per second, another the M admins' lists (see ``capacity_wrk``).

Run from the repository root::

    /work/venv/bin/python bench/lobby.py --workers 2 --rooms 50 --duration 10
    /work/venv/bin/python bench/lobby.py --database postgres --wrk   # a throwaway cluster
    /work/venv/bin/python bench/lobby.py --only capacity --wrk --duration 8 --steps 1000,2000,5000
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import aiohttp  # only to wait for the server to start

ROOT = Path(__file__).resolve().parents[1]
WARMUP = 2.0  # seconds of each capacity step not measured once everybody has arrived
ARRIVALS_PER_SECOND = 500  # participants join the lobby at this pace, then everybody polls
# wrk capacity mode: the server's LOBBY_WAITING_TIMEOUT (s), so that the entries of the creation
# pass outlive it and the start of the measured phase (only the number given to PEXPIRE changes)
WRK_WAITING_TIMEOUT = 60
CREATION_TASKS = 32  # concurrent connections of the creation pass
# Participants' requests/s below this fraction of the expected rate (``expected_rate``): some
# connections stalled and the load was not applied.
WRK_MIN_RATE = 0.8
sys.path[:0] = [str(ROOT), str(ROOT / "plugins" / "lobby"), str(ROOT / "bench")]

from run import ensure_database, postgres_cluster  # noqa: E402 (bench/run.py, beside this file)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


LIVEKIT_SECRET = "bench-secret-that-is-long-enough-for-hs256"


def _fake_livekit_process(port: int) -> subprocess.Popen[bytes]:
    """The fake LiveKit in a process of its own (in this one, it would slow the load clients).

    The server notifies it of every new waiting participant (ListRooms, then SendData).
    """
    code = (
        "import time; from meet_core.testing import FakeLiveKit; "
        f"FakeLiveKit(api_secret={LIVEKIT_SECRET!r}, port={port}).start(); time.sleep(10**9)"
    )
    process = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return process
        time.sleep(0.1)
    process.kill()
    raise SystemExit("the fake LiveKit did not start")


class Setup:
    """Valkey, fake LiveKit, database with rooms and admin sessions, and the server process."""

    def __init__(
        self,
        workers: int,
        rooms: int,
        throttle: str,
        database_url: str | None = None,
        waiting_timeout: float | None = None,
    ) -> None:
        self.workers, self.room_count, self.throttle = workers, rooms, throttle
        self.database_url = database_url
        self.waiting_timeout = waiting_timeout  # LOBBY_WAITING_TIMEOUT; None: the default (3 s)
        self.database = (database_url or "sqlite").split(":")[0].split("+")[0]
        self.tmp = Path(tempfile.mkdtemp(prefix="meet-bench-lobby-"))
        self.rooms: list[str] = []
        self.admins: list[tuple[str, str]] = []  # (session id, csrf) per room
        self.process: subprocess.Popen[bytes] | None = None

    async def start(self) -> str:
        import valkey
        from msgspec import json as msgspec_json

        from meet_core.app import create_app
        from meet_core.identity.sessions import SessionData, new_secret
        from meet_core.testing import ValkeyTestServer, factories
        from meet_core.testing.harness import create_schema
        from meet_lobby import LobbyPlugin

        self.valkey = ValkeyTestServer()
        self.valkey.start()
        self.livekit_port = _free_port()
        self.livekit = _fake_livekit_process(self.livekit_port)
        env = {
            "DATABASE_URL": self.database_url or f"sqlite+aiosqlite:///{self.tmp}/meet.sqlite3",
            "REDIS_URL": self.valkey.url,
            "LIVEKIT_API_URL": f"http://127.0.0.1:{self.livekit_port}",
            "LIVEKIT_API_KEY": "devkey",
            "LIVEKIT_API_SECRET": LIVEKIT_SECRET,
            "MEET_DATA_DIR": str(self.tmp),
            "REQUEST_ENTRY_THROTTLE_RATES": self.throttle,
        }
        if self.waiting_timeout is not None:
            env["LOBBY_WAITING_TIMEOUT"] = str(self.waiting_timeout)
        app = create_app(env=env, plugins=[LobbyPlugin])
        await create_schema(app)
        client = valkey.Valkey.from_url(self.valkey.url)
        for index in range(self.room_count):
            admin = await factories.create_user(app)
            room = await factories.create_room(
                app, f"bench-{index}", access_level="trusted", accesses=[(admin, "owner")]
            )
            self.rooms.append(str(room.id))
            csrf = new_secret()
            session_id = f"bench-admin-{index}"
            data = SessionData(user_id=str(admin.id), csrf=csrf)
            client.set(f"session:{session_id}", msgspec_json.encode(data), ex=86400)
            self.admins.append((session_id, csrf))
        client.close()
        await app.state.db_config.get_engine().dispose()

        site = self.tmp / "site"
        info = site / "meet_plugin_lobby-0.1.0.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text("Metadata-Version: 2.1\nName: meet-plugin-lobby\nVersion: 0.1.0\n")
        (info / "entry_points.txt").write_text("[meet.plugins]\nlobby = meet_lobby.plugin:LobbyPlugin\n")
        port = _free_port()
        process_env = {
            **os.environ,
            **env,
            "MEET_PLUGINS": "lobby",
            "MEET_LOG_LEVEL": "ERROR",
            "MEET_ENV_FILE": str(self.tmp / "none.env"),
            "PYTHONPATH": os.pathsep.join([str(site), str(ROOT), str(ROOT / "plugins" / "lobby")]),
        }
        command = [sys.executable, "-m", "meet_core.cli", "serve", "--port", str(port)]
        command += ["--workers", str(self.workers)]
        log = (self.tmp / "server.log").open("wb")
        self.process = subprocess.Popen(  # noqa: ASYNC220 (start-up, once)
            command, env=process_env, cwd=self.tmp, stdout=log, stderr=log
        )
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        async with aiohttp.ClientSession() as session:
            while True:
                if self.process.poll() is not None:
                    raise SystemExit((self.tmp / "server.log").read_text()[-3000:])
                try:
                    async with session.get(f"{url}/__lbheartbeat__") as response:
                        if response.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit("the server did not start")
                await asyncio.sleep(0.2)
        self.url, self.port = url, port
        return url

    def clear_lobby(self) -> int:
        """Delete every lobby key (entries left by the throughput part, say); returns how many."""
        import valkey

        client = valkey.Valkey.from_url(self.valkey.url)
        try:
            keys = list(client.scan_iter(match="lobby:*", count=1000))
            return cast(int, client.delete(*keys)) if keys else 0  # a sync client: an int
        finally:
            client.close()

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.livekit.terminate()
        self.livekit.wait(timeout=15)
        self.valkey.stop()


class Stats:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.errors: dict[str, int] = {}

    def record(self, started: float, status: int | str) -> None:
        self.latencies.append(time.perf_counter() - started)
        if status != 200:
            self.errors[str(status)] = self.errors.get(str(status), 0) + 1

    def summary(self, seconds: float) -> str:
        ms = [x * 1000 for x in self.latencies]
        return (
            f"{len(ms) / seconds:8.0f} req/s  p50 {percentile(ms, 0.5):6.1f} ms  "
            f"p99 {percentile(ms, 0.99):6.1f} ms  max {max(ms, default=0):6.1f} ms  errors {self.errors or 0}"
        )


class _ResponseReader(asyncio.Protocol):
    """Collects one HTTP/1.1 response at a time (Content-Length bodies): a Protocol, not
    streams, so that the load generator takes as little of the shared CPU as it can."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.waiter: asyncio.Future[int] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is no asyncio.Transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0 or self.waiter is None or self.waiter.done():
            return
        head = self.buffer[:end]
        marker = head.lower().find(b"content-length:")
        length = int(head[marker + 15 : head.find(b"\r\n", marker)]) if marker >= 0 else 0
        if len(self.buffer) >= end + 4 + length:
            self.buffer = self.buffer[end + 4 + length :]
            self.waiter.set_result(int(head[9:12]))

    def connection_lost(self, exc: Exception | None) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc or ConnectionResetError("closed by the server"))


class Connection:
    """A minimal HTTP/1.1 keep-alive client (aiohttp would cost more CPU than the server)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.protocol: _ResponseReader | None = None

    async def call(self, raw: bytes, stats: Stats) -> None:
        started = time.perf_counter()
        try:
            loop = asyncio.get_running_loop()
            if self.protocol is None:
                _, self.protocol = await loop.create_connection(_ResponseReader, "127.0.0.1", self.port)
            assert self.protocol.transport is not None
            self.protocol.waiter = loop.create_future()
            self.protocol.transport.write(raw)
            stats.record(started, await self.protocol.waiter)
        except OSError as exc:
            stats.record(started, type(exc).__name__)
            await self.close()

    async def close(self) -> None:
        if self.protocol is not None and self.protocol.transport is not None:
            self.protocol.transport.close()
        self.protocol = None


def _request(method: str, path: str, cookies: str, body: bytes = b"", extra: str = "") -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookies}\r\n{extra}"
    if body:
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return head.encode() + b"\r\n" + body


def request_entry(setup: Setup, index: int) -> bytes:
    """A participant's poll: its own lobby id (a UUID cookie, as the server would set it)."""
    room = setup.rooms[index % len(setup.rooms)]
    pid = uuid.UUID(int=index + 1)
    body = json.dumps({"username": f"participant {index}"}).encode()
    return _request("POST", f"/api/v1.0/rooms/{room}/request-entry/", f"lobbyParticipantId={pid}", body)


def waiting_participants(setup: Setup, index: int) -> bytes:
    session_id, csrf = setup.admins[index]
    path = f"/api/v1.0/rooms/{setup.rooms[index]}/waiting-participants/"
    return _request("GET", path, f"sessionid={session_id}; csrftoken={csrf}")


async def throughput(setup: Setup, clients: int, seconds: float) -> Stats:
    """``clients`` participants posting request-entry back to back (polls after the first)."""
    stats = Stats()
    stop = time.monotonic() + seconds

    async def participant(index: int) -> None:
        connection, raw = Connection(setup.port), request_entry(setup, index)
        while time.monotonic() < stop:
            await connection.call(raw, stats)
        await connection.close()

    await asyncio.gather(*(participant(i) for i in range(clients)))
    return stats


WRK_SCRIPT = """
-- request-entry polls of PARTICIPANTS participants (lobby cookies), round robin per thread
local room, participants = "%s", %d
local body = '{"username": "participant"}'
local counter = 0
request = function()
  counter = counter + 1
  local pid = string.format("00000000-0000-4000-8000-%%012d", counter %% participants + 1)
  return wrk.format("POST", "/api/v1.0/rooms/" .. room .. "/request-entry/",
    {["Content-Type"] = "application/json", ["Cookie"] = "lobbyParticipantId=" .. pid}, body)
end
"""


def _wrk(setup: Setup, clients: int, seconds: float, path: str, script: Path | None = None) -> WrkResult:
    """One closed-loop wrk run (``--latency``), parsed by :func:`parse_wrk`."""
    command = ["wrk", "-t", "2", "-c", str(clients), "-d", f"{int(seconds)}s", "--latency"]
    command += ["-s", str(script)] if script else []
    output = subprocess.run([*command, setup.url + path], capture_output=True, text=True, check=False).stdout
    return parse_wrk(output)


def throughput_wrk(setup: Setup, clients: int, seconds: float) -> str:
    """The same polls with wrk (its own process, far less client CPU than this asyncio client),
    then the heartbeat with the same connections: the framework's floor, for a ratio that
    compares across machines and days (as ``bench/run.py`` prints)."""
    script = setup.tmp / "request-entry.lua"
    script.write_text(WRK_SCRIPT % (setup.rooms[0], clients))
    polls = _wrk(setup, clients, seconds, "", script)
    heartbeat = _wrk(setup, clients, seconds, "/__lbheartbeat__")
    ratio = polls.rps / heartbeat.rps
    return (
        f"{polls.summary()}\n    heartbeat, wrk, same connections: {heartbeat.summary()}  (ratio {ratio:.2f})"
    )


async def capacity_step(setup: Setup, participants: int, seconds: float) -> tuple[Stats, Stats]:
    """``participants`` polling every second, plus one admin per room listing every second.

    Participants arrive at ``ARRIVALS_PER_SECOND`` (a real lobby fills over minutes; 5,000
    newcomers in the same second would measure the arrival burst, each newcomer costing a
    LiveKit notification); ``seconds`` are measured once all are in and ``WARMUP`` has passed.
    """
    polls, lists = Stats(), Stats()
    ramp = participants / ARRIVALS_PER_SECOND
    warmup = time.monotonic() + ramp + WARMUP
    stop = warmup + seconds

    async def every_second(raw: bytes, stats: Stats) -> None:
        connection = Connection(setup.port)
        await asyncio.sleep(random.random() * max(ramp, 1.0))  # arrivals, spread
        while time.monotonic() < stop:
            tick = time.monotonic()
            await connection.call(raw, stats if tick > warmup else Stats())
            await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - tick)))
        await connection.close()

    await asyncio.gather(
        *(every_second(request_entry(setup, i), polls) for i in range(participants)),
        *(every_second(waiting_participants(setup, i), lists) for i in range(len(setup.rooms))),
    )
    return polls, lists


# wrk capacity mode ------------------------------------------------------------------------------

# Each connection sends one of the requests of ``requests_file`` (raw HTTP/1.1, separated by NUL
# bytes), about once per second: a header generated per run sets requests_file, threads and
# connections (per thread). Thread ``id`` takes every threads-th request and cycles through them,
# so with as many connections as requests each request goes out about once per second.
WRK_POLL_LUA = r"""
local created = {}

function setup(thread)  -- main Lua state, once per thread, before that thread's init()
  thread:set("id", #created)
  table.insert(created, thread)
end

local mine, turn, first_delays = {}, 0, 0
unexpected = 0  -- non-200 responses of this thread (a global: read by done() through thread:get)

function init(args)
  math.randomseed(os.time() + 7919 * (id + 1))
  local file = assert(io.open(requests_file, "rb"))
  local data = file:read("*a")
  file:close()
  local index, position = 0, 1
  while position <= #data do
    local stop = string.find(data, "\0", position, true) or (#data + 1)
    if index % threads == id then mine[#mine + 1] = string.sub(data, position, stop - 1) end
    index, position = index + 1, stop + 1
  end
end

-- wrk calls delay() before every request, the first one of each connection included: those
-- first delays are spread over [0, 1000) ms so that the first polls are no burst.
function delay()
  if first_delays < connections then
    first_delays = first_delays + 1
    return math.random(0, 999)
  end
  return 1000
end

function request()
  turn = turn % #mine + 1
  return mine[turn]
end

function response(status, headers, body)
  if status ~= 200 then unexpected = unexpected + 1 end
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(created) do total = total + thread:get("unexpected") end
  io.write(string.format("non-200 responses: %d\n", total))
end
"""

WRK_TIME_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def wrk_ms(text: str) -> float:
    """A wrk duration (``850.00us``, ``45.12ms``, ``1.20s``, ``2.00m``) in milliseconds."""
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if match is None:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(match[1]) * WRK_TIME_UNITS[match[2]]


@dataclass
class WrkResult:
    rps: float
    mean: float  # ms
    p50: float
    p99: float
    max: float
    requests: int
    errors: dict[str, int] = field(default_factory=dict)  # only the non-zero counts

    def summary(self, expected: int | None = None) -> str:
        rate = f" ({self.rps / expected:4.2f} N)" if expected else ""
        return (
            f"{self.rps:8.0f} req/s{rate}  p50 {self.p50:6.1f} ms  p99 {self.p99:6.1f} ms  "
            f"max {self.max:6.1f} ms  errors {self.errors or 0}"
        )


def parse_wrk(output: str) -> WrkResult:
    """Requests/s, latencies and error counts from wrk's report (``--latency``, WRK_POLL_LUA)."""

    def find(pattern: str) -> re.Match[str] | None:
        return re.search(pattern, output, re.MULTILINE)

    rps, total = find(r"^Requests/sec:\s+([\d.]+)"), find(r"^\s*(\d+) requests in ")
    latency = find(r"^[ \t]+Latency[ \t]+(\S+)[ \t]+(\S+)[ \t]+(\S+)")
    p50, p99 = find(r"^[ \t]+50%[ \t]+(\S+)"), find(r"^[ \t]+99%[ \t]+(\S+)")
    if not (rps and total and latency and p50 and p99):
        raise SystemExit(f"unexpected wrk output:\n{output}")
    errors: dict[str, int] = {}
    if sockets := find(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)"):
        for name, value in zip(("connect", "read", "write", "timeout"), sockets.groups(), strict=True):
            errors[name] = int(value)
    if status := find(r"Non-2xx or 3xx responses: (\d+)"):  # wrk counts the statuses > 399
        errors["non-2xx"] = int(status[1])
    if unexpected := find(r"^non-200 responses: (\d+)"):  # WRK_POLL_LUA's done()
        errors["non-200"] = int(unexpected[1])
    return WrkResult(
        rps=float(rps[1]),
        mean=wrk_ms(latency[1]),
        p50=wrk_ms(p50[1]),
        p99=wrk_ms(p99[1]),
        max=wrk_ms(latency[3]),
        requests=int(total[1]),
        errors={name: count for name, count in errors.items() if count},
    )


async def create_participants(setup: Setup, participants: int) -> tuple[Stats, float]:
    """The creation pass: each participant joins its room's lobby once (its first request-entry)."""
    stats, started = Stats(), time.perf_counter()

    async def joiner(first: int) -> None:
        connection = Connection(setup.port)
        for index in range(first, participants, CREATION_TASKS):
            await connection.call(request_entry(setup, index), stats)
        await connection.close()

    await asyncio.gather(*(joiner(i) for i in range(min(CREATION_TASKS, participants))))
    return stats, time.perf_counter() - started


async def run_wrk_poll(
    setup: Setup, name: str, requests: list[bytes], threads: int, seconds: float
) -> asyncio.subprocess.Process:
    """Start wrk with one connection per request, each sending its share about once a second."""
    threads = max(1, min(threads, len(requests)))
    data = setup.tmp / f"{name}.requests"
    data.write_bytes(b"\0".join(requests))
    script = setup.tmp / f"{name}.lua"
    header = f"requests_file, threads, connections = {json.dumps(str(data))}, {threads}, "
    script.write_text(f"{header}{len(requests) // threads}\n{WRK_POLL_LUA}")
    command = ["wrk", "-t", str(threads), "-c", str(len(requests)), "-d", f"{max(1, round(seconds))}s"]
    command += ["--latency", "--timeout", "10s", "-s", str(script), setup.url]
    return await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )


async def established_connections(port: int) -> int:
    """Established client connections to ``port`` (``ss``), to check that the load is there."""
    process = await asyncio.create_subprocess_exec(
        "ss", "-Htn", "state", "established", f"( dport = :{port} )", stdout=asyncio.subprocess.PIPE
    )
    out, _ = await process.communicate()
    return len(out.splitlines())


def listen_overflows() -> int | None:
    """The kernel's count of connections dropped by a full accept queue (TcpExt ListenOverflows).

    ``--backlog 16384`` is capped by ``net.core.somaxconn``; wrk opens its N connections at once.
    """
    with contextlib.suppress(OSError, ValueError, StopIteration):
        lines = [line.split() for line in Path("/proc/net/netstat").read_text().splitlines()]
        names, values = (line for line in lines if line[0] == "TcpExt:")
        return int(values[names.index("ListenOverflows")])
    return None


def expected_rate(participants: int, seconds: float, latency: float) -> float:
    """Polls a second that N connections complete in ``seconds`` with a mean ``latency`` (s).

    Each waits a random [0, 1) s, then answer after answer ``latency`` + 1 s of delay(); the
    request still in flight at the end is not counted (half a cycle lost on average).
    """
    completed = max(0.0, (seconds - 0.5 - latency) / (1 + latency) + 0.5)
    return participants * completed / seconds


@dataclass
class WrkStep:
    polls: WrkResult
    lists: WrkResult
    connections: int  # established connections to the server, sampled mid-run

    def failures(self, participants: int, rooms: int, seconds: float, target: float) -> list[str]:
        """Why the step does not pass (empty: it passes)."""
        polls, lists = self.polls, self.lists
        expected = expected_rate(participants, seconds, polls.mean / 1000)
        return [
            *([f"polls p99 {polls.p99:.1f} ms"] if polls.p99 >= target else []),
            *([f"admins p99 {lists.p99:.1f} ms"] if lists.p99 >= target else []),
            *([f"polls errors {polls.errors}"] if polls.errors else []),
            *([f"admins errors {lists.errors}"] if lists.errors else []),
            *([f"{self.connections} connections"] if self.connections < participants + rooms else []),
            *(
                [f"polls at {polls.rps:.0f} req/s, {expected:.0f} expected"]
                if polls.rps < WRK_MIN_RATE * expected
                else []
            ),
        ]


async def capacity_step_wrk(
    setup: Setup, participants: int, seconds: float, label: str = "", floor: bool = False
) -> WrkStep:
    """``participants`` polls a second (one wrk, N connections) and the M admins' (another wrk).

    The creation pass comes first, not measured (each newcomer costs a LiveKit notification,
    sent after the response); the measured phase then only sees polls of known participants.
    ``floor``: each participant asks for the heartbeat instead of polling (no creation pass),
    the same connections and pacing: what serving N connections a second costs by itself.
    """
    if floor:
        raw_requests = [_request("GET", "/__lbheartbeat__", "")] * participants
    else:
        created, took = await create_participants(setup, participants)
        print(
            f"N={participants:5d} {label}creation pass: {took:4.1f} s, "
            f"{len(created.latencies) / took:5.0f} req/s, errors {created.errors or 0}",
            flush=True,
        )
        await asyncio.sleep(1.0)  # the newcomers' notifications run after their responses
        raw_requests = [request_entry(setup, i) for i in range(participants)]
    rooms = len(setup.rooms)
    overflows = listen_overflows()
    polls = await run_wrk_poll(setup, "participants", raw_requests, 2, seconds)
    lists = await run_wrk_poll(
        setup, "admins", [waiting_participants(setup, i) for i in range(rooms)], 1, seconds
    )
    await asyncio.sleep(seconds / 2)
    connections = await established_connections(setup.port)
    results = []
    for process in (polls, lists):
        out, err = await process.communicate()
        if process.returncode:
            raise SystemExit(f"wrk failed ({process.returncode}): {err.decode()}{out.decode()}")
        results.append(parse_wrk(out.decode()))
    after = listen_overflows()
    dropped = "?" if overflows is None or after is None else after - overflows
    print(
        f"        connections open mid-run: {connections} (expected {participants + rooms}), "
        f"accept-queue overflows: {dropped}",
        flush=True,
    )
    return WrkStep(results[0], results[1], connections)


async def capacity_wrk(
    setup: Setup, steps: list[int], seconds: float, target: float, floor: bool = False
) -> int:
    """Capacity steps with wrk; returns the largest N that passed (0: none)."""
    best = 0
    removed = setup.clear_lobby()  # e.g. the throughput part's participants, still waiting
    if removed:
        print(f"capacity (wrk): {removed} lobby keys of the previous part deleted")
    # A fresh server's first seconds (each worker's first database connections and queries) are
    # not the steady state: a short round at the first step's N first, not counted.
    warm = await capacity_step_wrk(setup, steps[0], WARMUP, label="warm-up, ", floor=floor)
    print(f"        warm-up, not counted: polls p99 {warm.polls.p99:.1f} ms, admins {warm.lists.p99:.1f} ms")
    for n in steps:
        step = await capacity_step_wrk(setup, n, seconds, floor=floor)
        print(f"N={n:5d} polls:  {step.polls.summary(n)}")
        print(f"        admins: {step.lists.summary()}", flush=True)
        failures = step.failures(n, len(setup.rooms), round(seconds), target)
        if failures:
            print(f"        step failed: {', '.join(failures)}")
            break
        best = n
    return best


def raise_open_files_limit() -> int:
    """The soft RLIMIT_NOFILE raised to the hard limit (wrk and the server inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
    if soft != resource.RLIM_INFINITY and soft < target:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    parser.add_argument("--rooms", type=int, default=50, help="rooms (one polling admin each)")
    parser.add_argument("--duration", type=float, default=10, help="seconds per measurement")
    parser.add_argument("--clients", type=int, default=64, help="concurrent clients of the throughput run")
    parser.add_argument("--steps", default="250,500,1000,1500,2000,3000,4000,5000", help="N values to try")
    parser.add_argument("--p99", type=float, default=100.0, help="target p99 in ms")
    parser.add_argument("--only", choices=["throughput", "capacity"], default=None)
    parser.add_argument(
        "--wrk",
        action="store_true",
        help="throughput: also measured with wrk; capacity: driven by wrk instead of asyncio",
    )
    parser.add_argument(
        "--floor",
        action="store_true",
        help="capacity with --wrk: participants ask for the heartbeat instead (the framework's floor)",
    )
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--database-url", help="an empty PostgreSQL database to use instead")
    args = parser.parse_args()

    with contextlib.ExitStack() as stack:
        database_url = args.database_url
        if database_url is None and args.database == "postgres":
            database_url = stack.enter_context(postgres_cluster())
            await ensure_database(database_url)
        await run(args, database_url)


async def run(args: argparse.Namespace, database_url: str | None) -> None:
    capacity_with_wrk = args.wrk and args.only in (None, "capacity")
    if capacity_with_wrk and not shutil.which("wrk"):
        raise SystemExit("--wrk: wrk not found (apt-get install wrk)")
    setup = Setup(
        args.workers,
        args.rooms,
        throttle="100000000/minute",
        database_url=database_url,
        waiting_timeout=WRK_WAITING_TIMEOUT if capacity_with_wrk else None,
    )
    files = raise_open_files_limit()
    print(
        f"starting: {args.workers} worker(s), {args.rooms} rooms, {os.cpu_count()} CPUs, {setup.database}, "
        f"open files {files}"
        + (f", LOBBY_WAITING_TIMEOUT={WRK_WAITING_TIMEOUT}" if capacity_with_wrk else "")
    )
    await setup.start()
    try:
        if args.only in (None, "throughput"):
            await throughput(setup, args.clients, 2)  # warm-up
            stats = await throughput(setup, args.clients, args.duration)
            print(f"request-entry alone, {args.clients} clients: {stats.summary(args.duration)}")
            if args.wrk and shutil.which("wrk"):
                throughput_wrk(setup, args.clients, 2)  # warm-up
                print(f"request-entry alone, wrk, {args.clients} connections: ", end="")
                print(throughput_wrk(setup, args.clients, args.duration), flush=True)
        steps = [int(x) for x in args.steps.split(",")]
        if capacity_with_wrk:
            best = await capacity_wrk(setup, steps, args.duration, args.p99, floor=args.floor)
            print(f"largest N with p99 < {args.p99:.0f} ms: {best}")
        elif args.only in (None, "capacity"):
            best = 0
            for n in steps:
                polls, lists = await capacity_step(setup, n, args.duration)
                measured = args.duration
                p99 = percentile([x * 1000 for x in polls.latencies + lists.latencies], 0.99)
                print(f"N={n:5d} polls: {polls.summary(measured)}")
                print(f"        admins: {lists.summary(measured)}")
                if p99 >= args.p99 or polls.errors or lists.errors:
                    break
                best = n
            print(f"largest N with p99 < {args.p99:.0f} ms: {best}")
    finally:
        setup.stop()


if __name__ == "__main__":
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(main())

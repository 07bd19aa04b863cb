"""Load benchmark of the join path against ``meet serve`` on loopback.

    python bench/run.py                       # SQLite, 2 workers, 64 connections, 10 s per scenario
    python bench/run.py --database postgres   # a throwaway PostgreSQL cluster (scripts/postgres.sh)
    python bench/run.py --database-url postgresql://meet@127.0.0.1:5432/meet

It seeds a database (a public room, a room whose owner has 10 co-members, a logged-in
session in Valkey), starts ``python -m meet_core.cli serve --workers N``, then runs each
scenario with a small asyncio HTTP/1.1 keep-alive client (no third-party load tool needed)
and prints requests/s and latency percentiles. ``--wrk`` also runs the GET scenarios with
``wrk`` when it is installed (less client CPU on small machines).

Scenarios: ``heartbeat`` (GET /__lbheartbeat__: the framework's floor), ``config`` (GET
/config/), ``anonymous`` (GET a public room, with a token),
``authenticated`` (GET a room as its owner: session, role, accesses, token), ``me`` (GET
/users/me/ with a session), ``list`` (GET /rooms/ as a user with 20 rooms), ``webhook`` (POST
a signed ``participant_joined`` LiveKit webhook, a fresh event id each time), ``create``
(POST /rooms/ with a fresh name each time). With ``--wrk``, every scenario runs with wrk
too (Lua scripts for the POSTs). The summary table adds the peak RSS of each granian worker
(VmHWM, sampled from /proc during the run) and the cold start: from spawning ``meet serve``
to the first 200 of ``GET /api/v1.0/config/`` (polled every 20 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PUBLIC_ROOM = "bench-public"
ADMIN_ROOM = "bench-admin"
LIST_ROOMS = 20  # rooms of the ``list`` scenario's user (owner of each, 2 members each)
WEBHOOK = "/api/v1.0/rooms/webhooks-livekit/"
#: One cluster folder per run (or MEET_BENCH_PG_DIR): benches side by side never share one.
POSTGRES_DIR = os.environ.get("MEET_BENCH_PG_DIR", f"/tmp/meet-bench-postgres-{os.getpid()}")
API_KEY = "devkey"
API_SECRET = "bench-secret-that-is-long-enough-for-hs256"


# ----------------------------------------------------------------------------- environment


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def postgres_cluster() -> Iterator[str]:
    """A throwaway cluster from scripts/postgres.sh, with a fresh ``meet`` database."""
    env = {**os.environ, "MEET_PG_DIR": POSTGRES_DIR, "MEET_PG_PORT": str(free_port())}
    script = str(ROOT / "scripts" / "postgres.sh")
    url = subprocess.run(
        [script, "start"], env=env, check=True, capture_output=True, text=True
    ).stdout.strip()
    try:
        yield url
    finally:
        subprocess.run([script, "stop"], env=env, check=False)


@contextlib.contextmanager
def bench_environment(
    stack: contextlib.ExitStack, workdir: Path, database: str, database_url: str | None = None
) -> Iterator[dict[str, str]]:
    """The server's environment for a benchmark: a private Valkey, and ``database_url`` or else
    a throwaway PostgreSQL cluster (``database == "postgres"``) or SQLite in ``workdir``; the
    services stop with ``stack``. Shared by this script and ``bench/inprocess.py``."""
    from meet_core.cache import PrivateValkey

    valkey = PrivateValkey(str(workdir))
    redis_url = valkey.start()
    stack.callback(valkey.stop)
    if database_url is None:
        if database == "postgres":
            database_url = stack.enter_context(postgres_cluster())
        else:
            database_url = f"sqlite:///{workdir}/meet.sqlite3"
    if database_url.startswith("postgres"):
        asyncio.run(ensure_database(database_url))
    yield {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "MEET_DATA_DIR": str(workdir),
        "LIVEKIT_API_URL": "http://127.0.0.1:7880",
        "LIVEKIT_API_KEY": API_KEY,
        "LIVEKIT_API_SECRET": API_SECRET,
        "MEET_LOG_LEVEL": "WARNING",
    }


async def ensure_database(url: str) -> None:
    """CREATE DATABASE for a PostgreSQL URL when it does not exist yet."""
    import asyncpg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    conn = await asyncpg.connect(
        user=parsed.username,
        password=parsed.password,
        host=parsed.host or parsed.query.get("host"),  # ?host=/run/postgresql: a Unix socket
        port=parsed.port or parsed.query.get("port"),
        database="postgres",
    )
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", parsed.database)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{parsed.database}"')
    finally:
        await conn.close()


@dataclass
class Seed:
    session_cookie: str
    csrf: str
    list_cookie: str  # the session of a user with LIST_ROOMS rooms
    admin_room_id: str


async def seed(env: dict[str, str]) -> Seed:
    """Schema, rows and a logged-in session, written with the app's own models."""
    import valkey.asyncio as valkey
    from sqlalchemy import delete
    from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

    from meet_core.db import CORE_MODEL_MODULES, import_models, metadata
    from meet_core.identity.sessions import SessionData, new_secret, store_session
    from meet_core.rooms.models import ResourceAccess, Room
    from meet_core.settings import CoreSettings, load_section
    from meet_core.users.models import User

    errors: list[str] = []
    core = load_section(CoreSettings, env, errors)
    assert core is not None, errors
    import_models(CORE_MODEL_MODULES)
    engine = create_async_engine(core.build_database_url())
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
        await conn.execute(delete(ResourceAccess))
        await conn.execute(delete(Room))
        await conn.execute(delete(User))
    async with async_sessionmaker(engine, expire_on_commit=False)() as session:
        owner = User(sub="bench-owner", email="owner@bench.test", full_name="Bench Owner")
        others = [User(sub=f"bench-{i}", email=f"u{i}@bench.test", full_name=f"User {i}") for i in range(10)]
        session.add_all([owner, *others])
        public = Room(name=PUBLIC_ROOM, slug=PUBLIC_ROOM, access_level="public", configuration={})
        admin = Room(name=ADMIN_ROOM, slug=ADMIN_ROOM, access_level="restricted", configuration={})
        session.add_all([public, admin])
        await session.flush()
        session.add(ResourceAccess(resource_id=admin.id, user_id=owner.id, role="owner"))
        session.add_all(ResourceAccess(resource_id=admin.id, user_id=o.id, role="member") for o in others)
        lister = User(sub="bench-lister", email="lister@bench.test", full_name="Bench Lister")
        session.add(lister)
        rooms = [
            Room(name=f"list-{i:02}", slug=f"list-{i:02}", access_level="trusted") for i in range(LIST_ROOMS)
        ]
        session.add_all(rooms)
        await session.flush()
        for i, room in enumerate(rooms):
            session.add(ResourceAccess(resource_id=room.id, user_id=lister.id, role="owner"))
            session.add_all(
                ResourceAccess(resource_id=room.id, user_id=others[(i + k) % 10].id, role="member")
                for k in (0, 1)
            )
        await session.commit()
        owner_id, lister_id, admin_id = owner.id, lister.id, admin.id
    await engine.dispose()
    client = valkey.Valkey.from_url(env["REDIS_URL"])
    data = SessionData(user_id=str(owner_id), csrf=new_secret())
    session_id = await store_session(client, None, data, 3600)
    list_session = await store_session(
        client, None, SessionData(user_id=str(lister_id), csrf=new_secret()), 3600
    )
    await client.aclose()
    return Seed(
        session_cookie=session_id, csrf=data.csrf or "", list_cookie=list_session, admin_room_id=str(admin_id)
    )


def signed_webhook(room_id: str) -> tuple[str, bytes]:
    """A ``participant_joined`` event as LiveKit sends it: a fresh event id, signed over the body.

    Real deliveries each carry their own id (only retries repeat one), so every request goes
    the whole way: signature, Valkey de-duplication (SET NX), the plugins' hooks.
    """
    import base64
    import hashlib

    import jwt

    body = json.dumps(
        {
            "event": "participant_joined",
            "id": f"EV_{uuid.uuid4().hex}",
            "createdAt": str(int(time.time())),
            "room": {"sid": "RM_bench", "name": room_id},
            "participant": {"sid": f"PA_{uuid.uuid4().hex[:12]}", "identity": str(uuid.uuid4())},
        },
        separators=(",", ":"),
    ).encode()
    now = int(time.time())
    claims = {
        "iss": API_KEY,
        "nbf": now - 60,
        "exp": now + 3600,
        "sha256": base64.b64encode(hashlib.sha256(body).digest()).decode(),
    }
    return jwt.encode(claims, API_SECRET, algorithm="HS256"), body


@dataclass
class Server:
    pid: int
    cold_start: float  # seconds from spawn to the first 200 of GET /api/v1.0/config/


@contextlib.contextmanager
def server(env: dict[str, str], port: int, workers: int) -> Iterator[Server]:
    """``meet serve`` in its own process group, ready when ``GET /api/v1.0/config/`` answers 200."""
    command = [sys.executable, "-m", "meet_core.cli", "serve", "--port", str(port), "--workers", str(workers)]
    log = open(Path(env["MEET_DATA_DIR"]) / "server.log", "w")  # noqa: SIM115
    process = subprocess.Popen(
        command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    spawned = time.monotonic()
    try:
        deadline = spawned + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"server exited: see {log.name}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                    sock.sendall(b"GET /api/v1.0/config/ HTTP/1.1\r\nHost: bench\r\n\r\n")
                    if sock.recv(16).startswith(b"HTTP/1.1 200"):
                        break
            except OSError:
                pass
            time.sleep(0.02)
        else:
            raise RuntimeError("server did not start")
        yield Server(pid=process.pid, cold_start=time.monotonic() - spawned)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (granian's workers and their children), from /proc."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                stat = (entry / "stat").read_text()
                ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
                parents.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        children = parents.get(todo.pop(), [])
        found += children
        todo += children
    return found


def memory_kib(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a process in KiB; (0, 0) once it is gone."""
    values = {"VmRSS:": 0, "VmHWM:": 0}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            name, _, rest = line.partition("\t")
            if name in values:
                values[name] = int(rest.split()[0])
    return values["VmRSS:"], values["VmHWM:"]


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes so far (their threads included), from /proc."""
    ticks = 0
    for pid in pids:
        with contextlib.suppress(OSError, ValueError, IndexError):
            stat = Path(f"/proc/{pid}/stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def postgres_pids(data_dir: str = POSTGRES_DIR) -> list[int]:
    """The postmaster of the bench cluster and its backends (empty for another database)."""
    with contextlib.suppress(OSError, ValueError):
        postmaster = int(Path(data_dir, "postmaster.pid").read_text().split()[0])
        return [postmaster, *descendants(postmaster)]
    return []


def valkey_pids(workdir: Path) -> list[int]:
    """The bench's private valkey-server (the one listening in ``workdir``), from /proc."""
    socket_path = str((workdir / "valkey").resolve()).encode()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                cmdline = (entry / "cmdline").read_bytes()
                if b"valkey-server" in cmdline and socket_path in cmdline:
                    found.append(int(entry.name))
    return found


class MemorySampler:
    """Peak RSS of the server's processes: VmHWM (the kernel's own peak), plus VmRSS every 0.5 s."""

    def __init__(self, root: int) -> None:
        import threading

        self.root = root
        self.peak: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        for pid in [self.root, *descendants(self.root)]:
            rss, hwm = memory_kib(pid)
            self.peak[pid] = max(self.peak.get(pid, 0), rss, hwm)

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            self._sample()

    def __enter__(self) -> MemorySampler:
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def workers_mib(self) -> list[float]:
        """The peak of each granian worker (the root process, ``meet serve``, left out)."""
        return [kib / 1024 for pid, kib in sorted(self.peak.items()) if pid != self.root]


# ---------------------------------------------------------------------------- load client


@dataclass
class Result:
    name: str
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    elapsed: float = 0.0

    def summary(self) -> Figures | None:
        lat = sorted(self.latencies)
        if not lat:
            return None

        def pct(p: float) -> float:
            return lat[min(len(lat) - 1, int(len(lat) * p))] * 1000

        return Figures(self.name, len(lat) / self.elapsed, pct(0.50), pct(0.99), self.errors, self.statuses)

    def row(self) -> str:
        figures = self.summary()
        if figures is None:
            return f"{self.name:<14} no successful request ({self.errors} errors, {self.statuses})"
        return (
            f"{self.name:<14} {figures.rps:>9.0f} req/s   "
            f"p50 {figures.p50:6.2f} ms   p99 {figures.p99:6.2f} ms   "
            f"mean {statistics.fmean(self.latencies) * 1000:6.2f} ms   errors {self.errors}"
            + (f" {self.statuses}" if self.errors else "")
        )


@dataclass
class Figures:
    """One scenario's outcome, from either client."""

    name: str
    rps: float
    p50: float  # ms
    p99: float  # ms
    errors: int = 0  # answers other than the expected status (wrk: non-2xx/3xx, socket errors)
    statuses: dict[Any, int] = field(default_factory=dict)  # status (or class: "5xx") -> answers
    worker_cpu: float = float("nan")  # µs of the workers' CPU per answered request
    database_cpu: float = float("nan")  # µs of PostgreSQL's CPU per answered request (bench cluster)
    valkey_cpu: float = float("nan")  # µs of the private Valkey's CPU per answered request


async def _connection(
    port: int,
    make_request: Callable[[], bytes],
    result: Result,
    stop_at: float,
    measure_from: float,
    expected: int,
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while True:
            now = time.perf_counter()
            if now >= stop_at:
                return
            writer.write(make_request())
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
                    break
            if length:
                await reader.readexactly(length)
            done = time.perf_counter()
            if now >= measure_from:
                result.statuses[status] = result.statuses.get(status, 0) + 1
                if status == expected:
                    result.latencies.append(done - now)
                else:
                    result.errors += 1
    finally:
        writer.close()


async def run_scenario(
    name: str, port: int, make_request: Callable[[], bytes], expected: int, connections: int, duration: float,
    warmup: float,
) -> Result:  # fmt: skip
    result = Result(name)
    start = time.perf_counter()
    measure_from = start + warmup
    stop_at = measure_from + duration
    await asyncio.gather(
        *(
            _connection(port, make_request, result, stop_at, measure_from, expected)
            for _ in range(connections)
        )
    )
    result.elapsed = duration
    return result


def requests(seed: Seed) -> dict[str, tuple[Callable[[], bytes], int]]:
    """Scenario name -> (request bytes factory, expected status)."""
    host = b"Host: 127.0.0.1\r\n"
    cookie = f"Cookie: sessionid={seed.session_cookie}; csrftoken={seed.csrf}\r\n".encode()
    heartbeat = b"GET /__lbheartbeat__ HTTP/1.1\r\n" + host + b"\r\n"
    config = b"GET /api/v1.0/config/ HTTP/1.1\r\n" + host + b"\r\n"
    anonymous = f"GET /api/v1.0/rooms/{PUBLIC_ROOM}/?username=Bench HTTP/1.1\r\n".encode() + host + b"\r\n"
    authenticated = f"GET /api/v1.0/rooms/{ADMIN_ROOM}/ HTTP/1.1\r\n".encode() + host + cookie + b"\r\n"
    me = b"GET /api/v1.0/users/me/ HTTP/1.1\r\n" + host + cookie + b"\r\n"
    listing = (
        b"GET /api/v1.0/rooms/ HTTP/1.1\r\n" + host + f"Cookie: sessionid={seed.list_cookie}\r\n\r\n".encode()
    )
    create_head = (
        b"POST /api/v1.0/rooms/ HTTP/1.1\r\n" + host + cookie
        + f"X-CSRFToken: {seed.csrf}\r\nContent-Type: application/json\r\n".encode()
    )  # fmt: skip

    def create() -> bytes:
        body = json.dumps({"name": f"bench-{uuid.uuid4().hex[:20]}"}).encode()
        return create_head + f"Content-Length: {len(body)}\r\n\r\n".encode() + body

    def webhook() -> bytes:
        token, body = signed_webhook(seed.admin_room_id)
        head = f"POST {WEBHOOK} HTTP/1.1\r\nAuthorization: {token}\r\nContent-Type: application/json\r\n"
        return head.encode() + host + f"Content-Length: {len(body)}\r\n\r\n".encode() + body

    return {
        "heartbeat": (lambda: heartbeat, 200),
        "config": (lambda: config, 200),
        "anonymous": (lambda: anonymous, 200),
        "authenticated": (lambda: authenticated, 200),
        "me": (lambda: me, 200),
        "list": (lambda: listing, 200),
        "webhook": (webhook, 200),
        "create": (create, 201),
    }


#: wrk's Lua helpers: count answers by status class per thread, and report them at the end.
_LUA_COMMON = """
local threads = {}
local counter = 0
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end
s2, s4, s5 = 0, 0, 0
function response(status, headers, body)
  if status >= 500 then s5 = s5 + 1 elseif status >= 400 then s4 = s4 + 1 else s2 = s2 + 1 end
end
function done(summary, latency, requests)
  local a, b, c = 0, 0, 0
  for _, t in ipairs(threads) do a = a + t:get("s2"); b = b + t:get("s4"); c = c + t:get("s5") end
  io.write(string.format("statuses 2xx=%d 4xx=%d 5xx=%d\\n", a, b, c))
end
"""


def wrk_script(name: str, seed: Seed, workdir: Path, count: int, label: str = "run") -> Path | None:
    """A Lua script for the POST scenarios (None for plain GETs).

    ``create``: a fresh room name per request (a per-run prefix, the thread and a counter).
    ``webhook``: ``count`` pre-signed events (wrk's Lua has no HMAC), each thread cycling
    through its share; past the end, repeated ids are answered by the de-duplication. Each
    ``label`` (the warm-up, the run) has events of its own: the run repeats none of the warm-up's.
    The requests are formatted once, in ``init``: wrk shares the server's two cores, and
    formatting each one in ``request()`` cost it ~4 µs more per webhook.
    """
    path = workdir / f"{name}-{label}.lua"
    if name == "create":
        prefix = uuid.uuid4().hex[:8]
        headers = (
            f'["Cookie"]="sessionid={seed.session_cookie}; csrftoken={seed.csrf}", '
            f'["X-CSRFToken"]="{seed.csrf}", ["Content-Type"]="application/json"'
        )
        path.write_text(
            _LUA_COMMON
            + f"""
local n = 0
function request()
  n = n + 1
  local body = string.format('{{"name":"wrk-{prefix}-%d-%d"}}', tid, n)
  return wrk.format("POST", "/api/v1.0/rooms/", {{{headers}}}, body)
end
"""
        )
        return path
    if name == "webhook":
        events = workdir / f"webhooks-{label}.txt"
        if path.exists():
            return path
        with events.open("w") as out:
            for _ in range(count):
                token, body = signed_webhook(seed.admin_room_id)
                out.write(f"{token}\t{body.decode()}\n")
        path.write_text(
            _LUA_COMMON
            + f"""
local requests = {{}}
local i = 0
function init(args)
  local k = 0
  for line in io.lines("{events}") do
    if k % 2 == tid then
      local tab = string.find(line, "\\t", 1, true)
      local headers = {{["Authorization"]=string.sub(line, 1, tab - 1), ["Content-Type"]="application/json"}}
      table.insert(requests, wrk.format("POST", "{WEBHOOK}", headers, string.sub(line, tab + 1)))
    end
    k = k + 1
  end
end
function request()
  i = i % #requests + 1
  return requests[i]
end
"""
        )
        return path
    return None


def run_wrk(
    name: str, port: int, raw: bytes, connections: int, duration: float, script: Path | None = None
) -> Figures | None:
    """The scenario with wrk (``--latency``; 2 threads); None when wrk's output is unreadable."""
    command = ["wrk", "-t", "2", "-c", str(connections), "-d", f"{int(duration)}s", "--latency"]
    if script is not None:
        command += ["-s", str(script)]
    lines = raw.decode().split("\r\n")
    path = lines[0].split(" ")[1]
    if script is None:
        for header in lines[1:]:
            if header and not header.startswith("Host:"):
                command += ["-H", header]
    output = subprocess.run(
        [*command, f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True, check=False
    ).stdout
    found = [line.split() for line in output.splitlines()]
    rps = next((float(words[1]) for words in found if words[:1] == ["Requests/sec:"]), None)
    pcts = {words[0]: _ms(words[1]) for words in found if words[:1] in (["50%"], ["99%"])}
    errors = 0
    for words in found:
        if words[:2] == ["Non-2xx", "or"]:
            errors += int(words[-1])
        elif words[:2] == ["Socket", "errors:"]:
            errors += sum(int(w.strip(",")) for w in words[3::2])
    statuses = {}
    for words in found:
        if words[:1] == ["statuses"]:
            statuses = {k: int(v) for k, v in (w.split("=") for w in words[1:])}
    if rps is None:
        print(output, file=sys.stderr)
        return None
    return Figures(name, rps, pcts.get("50%", float("nan")), pcts.get("99%", float("nan")), errors, statuses)


def _ms(text: str) -> float:
    """wrk's duration (``812.00us``, ``1.20ms``, ``2.01s``) in milliseconds."""
    for unit, scale in (("us", 0.001), ("ms", 1.0), ("s", 1000.0)):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * scale
    return float(text)


def print_ratios(rates: dict[str, float]) -> None:
    """Each scenario's requests/s as a fraction of the heartbeat's, measured in the same run."""
    floor = rates.get("heartbeat")
    if floor:
        shares = ", ".join(
            f"{name} {rate / floor:.2f}" for name, rate in rates.items() if name != "heartbeat"
        )
        print(f"ratio to heartbeat (same run): {shares}", flush=True)


def print_table(client: str, figures: list[Figures], sampler: MemorySampler, started: Server) -> None:
    """The one summary table (markdown): every scenario, its ratio, RSS per worker, start-up."""
    floor = next((f.rps for f in figures if f.name == "heartbeat"), None)
    print(
        f"\n| Scenario ({client}) | req/s | p50 | p99 | ratio to heartbeat | errors "
        "| worker CPU/req | PostgreSQL CPU/req | Valkey CPU/req | CPU ratio |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    floor_cpu = next((f.worker_cpu for f in figures if f.name == "heartbeat"), float("nan"))
    for f in figures:
        ratio = f"{f.rps / floor:.2f}" if floor else "-"
        errors = str(f.errors) + (f" {f.statuses}" if f.statuses and f.errors else "")
        cpu_ratio = floor_cpu / (f.worker_cpu + f.database_cpu + f.valkey_cpu)
        cpu = f"{f.worker_cpu:.0f} µs | {f.database_cpu:.0f} µs | {f.valkey_cpu:.0f} µs | {cpu_ratio:.2f}"
        print(f"| {f.name} | {f.rps:,.0f} | {f.p50:.1f} ms | {f.p99:.1f} ms | {ratio} | {errors} | {cpu} |")
    workers = ", ".join(f"{mib:.0f}" for mib in sampler.workers_mib())
    print(f"| peak RSS per worker (VmHWM) | {workers} MiB | | | | | | | | |")
    print(
        f"| cold start (spawn → first 200 of /config/) | {started.cold_start:.2f} s | | | | | | | | |",
        flush=True,
    )


# ------------------------------------------------------------------------------------ main


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--database-url", help="use this database instead (it is emptied of users and rooms)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument(
        "--scenarios", default="heartbeat,config,anonymous,authenticated,me,list,webhook,create"
    )
    parser.add_argument("--plugins", help="MEET_PLUGINS for the server (default: the installed defaults)")
    parser.add_argument("--wrk", action="store_true", help="also run every scenario with wrk")
    parser.add_argument("--wrk-only", action="store_true", help="run every scenario with wrk only")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="meet-bench-"))
    with contextlib.ExitStack() as stack:
        env = stack.enter_context(bench_environment(stack, workdir, args.database, args.database_url))
        database_url = env["DATABASE_URL"]
        if args.plugins is not None:
            env["MEET_PLUGINS"] = args.plugins
        seeded = asyncio.run(seed(env))
        port = free_port()
        started = stack.enter_context(server(env, port, args.workers))
        sampler = stack.enter_context(MemorySampler(started.pid))
        scenarios = requests(seeded)
        print(
            f"database={database_url.split(':')[0]} workers={args.workers} connections={args.connections} "
            f"duration={args.duration}s python={sys.version.split()[0]} cold start {started.cold_start:.2f} s"
        )
        try:
            import uvloop

            runner: Callable[[Any], Any] = uvloop.run
        except ImportError:
            runner = asyncio.run
        names = args.scenarios.split(",")
        table: list[Figures] = []
        for name in [] if args.wrk_only else names:
            make, expected = scenarios[name]
            result = runner(
                run_scenario(name, port, make, expected, args.connections, args.duration, args.warmup)
            )
            print(result.row(), flush=True)
            if (summary := result.summary()) is not None:
                table.append(summary)
        print_ratios({f.name: f.rps for f in table})
        if table:
            print_table("run.py", table, sampler, started)
        if (args.wrk or args.wrk_only) and shutil.which("wrk"):
            print("wrk:")
            table = []
            for name in names:
                raw = scenarios[name][0]()
                if args.warmup:
                    events = int(20_000 * (max(1, args.warmup) + 1))
                    script = wrk_script(name, seeded, workdir, events, "warmup")
                    run_wrk(name, port, raw, args.connections, max(1, args.warmup), script)
                events = int(20_000 * (args.duration + 1))
                script = wrk_script(name, seeded, workdir, events)  # fresh room names for ``create``
                workers, database, valkey = descendants(started.pid), postgres_pids(), valkey_pids(workdir)
                before = cpu_seconds(workers), cpu_seconds(database), cpu_seconds(valkey)
                figures = run_wrk(name, port, raw, args.connections, args.duration, script)
                if figures is not None:
                    answered = figures.rps * int(args.duration)
                    if answered:
                        figures.worker_cpu = (cpu_seconds(workers) - before[0]) / answered * 1e6
                        figures.database_cpu = (cpu_seconds(database) - before[1]) / answered * 1e6
                        figures.valkey_cpu = (cpu_seconds(valkey) - before[2]) / answered * 1e6
                    print(
                        f"{name:<14} {figures.rps:>9.0f} req/s   p50 {figures.p50:6.2f} ms   "
                        f"p99 {figures.p99:6.2f} ms   CPU/request: workers {figures.worker_cpu:5.0f} µs, "
                        f"PostgreSQL {figures.database_cpu:5.0f} µs, Valkey {figures.valkey_cpu:5.0f} µs   "
                        f"errors {figures.errors} {figures.statuses or ''}",
                        flush=True,
                    )
                    table.append(figures)
            print_ratios({f.name: f.rps for f in table})
            print_table("wrk", table, sampler, started)
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()

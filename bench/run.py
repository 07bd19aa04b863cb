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
``authenticated`` (GET a room as its owner: session, role, accesses, token), ``create``
(POST /rooms/ with a fresh name each time).
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
    env = {**os.environ, "MEET_PG_DIR": "/tmp/meet-bench-postgres", "MEET_PG_PORT": str(free_port())}
    script = str(ROOT / "scripts" / "postgres.sh")
    url = subprocess.run(
        [script, "start"], env=env, check=True, capture_output=True, text=True
    ).stdout.strip()
    try:
        yield url
    finally:
        subprocess.run([script, "stop"], env=env, check=False)


async def ensure_database(url: str) -> None:
    """CREATE DATABASE for a PostgreSQL URL when it does not exist yet."""
    import asyncpg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    conn = await asyncpg.connect(
        user=parsed.username,
        password=parsed.password,
        host=parsed.host,
        port=parsed.port,
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
        await session.commit()
        owner_id = owner.id
    await engine.dispose()
    client = valkey.Valkey.from_url(env["REDIS_URL"])
    data = SessionData(user_id=str(owner_id), csrf=new_secret())
    session_id = await store_session(client, None, data, 3600)
    await client.aclose()
    return Seed(session_cookie=session_id, csrf=data.csrf or "")


@contextlib.contextmanager
def server(env: dict[str, str], port: int, workers: int) -> Iterator[None]:
    """``meet serve`` in its own process group, ready when /__lbheartbeat__ answers."""
    command = [sys.executable, "-m", "meet_core.cli", "serve", "--port", str(port), "--workers", str(workers)]
    log = open(Path(env["MEET_DATA_DIR"]) / "server.log", "w")  # noqa: SIM115
    process = subprocess.Popen(
        command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 60
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
            time.sleep(0.3)
        else:
            raise RuntimeError("server did not start")
        yield
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


# ---------------------------------------------------------------------------- load client


@dataclass
class Result:
    name: str
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    elapsed: float = 0.0

    def row(self) -> str:
        lat = sorted(self.latencies)
        if not lat:
            return f"{self.name:<14} no successful request ({self.errors} errors, {self.statuses})"

        def pct(p: float) -> float:
            return lat[min(len(lat) - 1, int(len(lat) * p))] * 1000

        rps = len(lat) / self.elapsed
        return (
            f"{self.name:<14} {rps:>9.0f} req/s   p50 {pct(0.50):6.2f} ms   p99 {pct(0.99):6.2f} ms   "
            f"mean {statistics.fmean(lat) * 1000:6.2f} ms   errors {self.errors}"
            + (f" {self.statuses}" if self.errors else "")
        )


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
    create_head = (
        b"POST /api/v1.0/rooms/ HTTP/1.1\r\n" + host + cookie
        + f"X-CSRFToken: {seed.csrf}\r\nContent-Type: application/json\r\n".encode()
    )  # fmt: skip

    def create() -> bytes:
        body = json.dumps({"name": f"bench-{uuid.uuid4().hex[:20]}"}).encode()
        return create_head + f"Content-Length: {len(body)}\r\n\r\n".encode() + body

    return {
        "heartbeat": (lambda: heartbeat, 200),
        "config": (lambda: config, 200),
        "anonymous": (lambda: anonymous, 200),
        "authenticated": (lambda: authenticated, 200),
        "create": (create, 201),
    }


def run_wrk(name: str, port: int, raw: bytes, connections: int, duration: float) -> str:
    """The same GET with wrk (``--latency``), when wrk is installed."""
    lines = raw.decode().split("\r\n")
    path = lines[0].split(" ")[1]
    headers = [h for h in lines[1:] if h and not h.startswith("Host:")]
    command = ["wrk", "-t", "2", "-c", str(connections), "-d", f"{int(duration)}s", "--latency"]
    for header in headers:
        command += ["-H", header]
    output = subprocess.run(
        [*command, f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True, check=False
    ).stdout
    rps = next((line.split()[1] for line in output.splitlines() if line.startswith("Requests/sec")), "?")
    pcts = {
        line.split()[0]: line.split()[1]
        for line in output.splitlines()
        if line.strip().startswith(("50%", "99%"))
    }
    errors = next(
        (line.strip() for line in output.splitlines() if "Non-2xx" in line or "Socket errors" in line), ""
    )
    p50, p99 = pcts.get("50%", "?"), pcts.get("99%", "?")
    return f"{name:<14} {rps:>9} req/s   p50 {p50:>8}   p99 {p99:>8}   {errors}"


def print_ratios(rates: dict[str, float]) -> None:
    """Each scenario's requests/s as a fraction of the heartbeat's, measured in the same run."""
    floor = rates.get("heartbeat")
    if floor:
        shares = ", ".join(
            f"{name} {rate / floor:.2f}" for name, rate in rates.items() if name != "heartbeat"
        )
        print(f"ratio to heartbeat (same run): {shares}", flush=True)


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
    parser.add_argument("--scenarios", default="heartbeat,config,anonymous,authenticated,create")
    parser.add_argument("--plugins", help="MEET_PLUGINS for the server (default: the installed defaults)")
    parser.add_argument("--wrk", action="store_true", help="also run the GET scenarios with wrk")
    parser.add_argument("--wrk-only", action="store_true", help="run the GET scenarios with wrk only")
    args = parser.parse_args()

    from meet_core.cache import PrivateValkey

    workdir = Path(tempfile.mkdtemp(prefix="meet-bench-"))
    valkey = PrivateValkey(str(workdir))
    with contextlib.ExitStack() as stack:
        redis_url = valkey.start()
        stack.callback(valkey.stop)
        if args.database_url:
            database_url = args.database_url
        elif args.database == "postgres":
            database_url = stack.enter_context(postgres_cluster())
        else:
            database_url = f"sqlite:///{workdir}/meet.sqlite3"
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "MEET_DATA_DIR": str(workdir),
            "LIVEKIT_API_URL": "http://127.0.0.1:7880",
            "LIVEKIT_API_KEY": API_KEY,
            "LIVEKIT_API_SECRET": API_SECRET,
            "MEET_LOG_LEVEL": "WARNING",
        }
        if args.plugins is not None:
            env["MEET_PLUGINS"] = args.plugins
        if database_url.startswith("postgres"):
            asyncio.run(ensure_database(database_url))
        seeded = asyncio.run(seed(env))
        port = free_port()
        stack.enter_context(server(env, port, args.workers))
        scenarios = requests(seeded)
        print(
            f"database={database_url.split(':')[0]} workers={args.workers} connections={args.connections} "
            f"duration={args.duration}s python={sys.version.split()[0]}"
        )
        try:
            import uvloop

            runner: Callable[[Any], Any] = uvloop.run
        except ImportError:
            runner = asyncio.run
        names = args.scenarios.split(",")
        rates: dict[str, float] = {}
        for name in [] if args.wrk_only else names:
            make, expected = scenarios[name]
            result = runner(
                run_scenario(name, port, make, expected, args.connections, args.duration, args.warmup)
            )
            print(result.row(), flush=True)
            rates[name] = len(result.latencies) / result.elapsed
        print_ratios(rates)
        if (args.wrk or args.wrk_only) and shutil.which("wrk"):
            print("wrk:")
            rates = {}
            for name in names:
                if name != "create":
                    run_wrk(name, port, scenarios[name][0](), args.connections, 1)  # warm-up
                    line = run_wrk(name, port, scenarios[name][0](), args.connections, args.duration)
                    print(line, flush=True)
                    with contextlib.suppress(ValueError):
                        rates[name] = float(line.split()[1])
            print_ratios(rates)
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()

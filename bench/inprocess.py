"""In-process cost of each ``bench/run.py`` scenario: the ASGI app called directly, no HTTP.

    python bench/inprocess.py --database postgres                  # µs of CPU per request
    python bench/inprocess.py --database postgres --profile authenticated --top 40   # cProfile

It seeds the same database as ``bench/run.py`` (a private Valkey, SQLite or a throwaway
PostgreSQL cluster), builds the application with ``create_app``, runs its lifespan, then
calls it N times per scenario with a minimal ASGI driver: what is left is the server's own
work (no HTTP parsing, no load generator), the figure to cut.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run


def scope_of(raw: bytes) -> tuple[dict[str, Any], bytes]:
    """An ASGI HTTP scope and body from a raw HTTP/1.1 request."""
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    method, target, _ = lines[0].split(b" ")
    path, _, query = target.partition(b"?")
    headers = [(k.strip().lower(), v.strip()) for k, _, v in (line.partition(b":") for line in lines[1:])]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method.decode(),
        "scheme": "http",
        "path": path.decode(),
        "raw_path": path,
        "query_string": query,
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    return scope, body


async def call(app: Any, raw: bytes) -> int:
    """One request through the app; its status."""
    scope, body = scope_of(raw)
    status = 0
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


def prebuilt(make: Any, count: int) -> list[bytes]:
    """``count`` requests built before any clock starts: the webhook's factory signs each event
    (PyJWT), work that is the bench's, not the server's."""
    return [make() for _ in range(count)]


async def measure(app: Any, requests: list[bytes], expected: int, concurrency: int = 1) -> float:
    """Mean CPU µs per request (process time: the database's share is not counted).

    ``concurrency`` requests at a time: their Valkey calls then share writes as under load
    (one at a time, each call is a write and a read of its own, ~35 µs of system time).
    """
    warmup, timed = requests[:20], requests[20:]
    for raw in warmup:
        status = await call(app, raw)
        assert status == expected, (status, expected)
    start = time.process_time()
    if concurrency > 1:
        for i in range(0, len(timed), concurrency):
            await asyncio.gather(*[call(app, raw) for raw in timed[i : i + concurrency]])
    else:
        for raw in timed:
            await call(app, raw)
    return (time.process_time() - start) / len(timed) * 1e6


async def main_async(args: argparse.Namespace, env: dict[str, str]) -> None:
    from meet_core.app import create_app

    seeded = await run.seed(env)
    os.environ.update(env)
    app = create_app()
    scenarios = run.requests(seeded)
    async with app.lifespan():
        names = args.scenarios.split(",")
        if args.profile:
            make, expected = scenarios[args.profile]
            await measure(app, prebuilt(make, 50), expected)
            requests = prebuilt(make, 20 + args.count)
            profiler = cProfile.Profile(time.process_time)  # CPU, not the waits on the peers
            profiler.enable()
            await measure(app, requests, expected, args.concurrency)
            profiler.disable()
            stats = pstats.Stats(profiler).sort_stats(args.sort)
            stats.print_stats(args.top)
            return
        for name in names:
            make, expected = scenarios[name]
            # The best of ``--repeat`` batches: on a shared machine, the others' load only adds.
            cost = min(
                [
                    await measure(app, prebuilt(make, 20 + args.count), expected, args.concurrency)
                    for _ in range(args.repeat)
                ]
            )
            print(f"{name:<14} {cost:8.0f} µs of CPU per request", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--scenarios", default="heartbeat,anonymous,authenticated,me,list,webhook,create")
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=1, help="requests in flight at a time")
    parser.add_argument("--repeat", type=int, default=1, help="batches of --count; the best is shown")
    parser.add_argument("--profile", help="profile this scenario with cProfile instead")
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument("--top", type=int, default=50)
    parser.add_argument("--plugins", default="lobby")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="meet-profile-"))
    with contextlib.ExitStack() as stack:
        env = stack.enter_context(run.bench_environment(stack, workdir, args.database))
        env["MEET_PLUGINS"] = args.plugins
        asyncio.run(main_async(args, env))


if __name__ == "__main__":
    main()

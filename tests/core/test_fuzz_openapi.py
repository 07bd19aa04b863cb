"""Schemathesis fuzzes every operation of our OpenAPI schema against a real server: no 500 allowed.

It runs as a logged-in user (session cookie and CSRF header) so that authenticated routes are
reached too, with the lobby and subtitles plugins enabled when they are installed.
"""

from __future__ import annotations

import asyncio
import datetime
import importlib.util
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from aiosmtpd.controller import Controller
from livekit import api

from meet_core.testing.fake_livekit import FakeLiveKit
from meet_core.testing.server import ServerProcess

pytestmark = pytest.mark.slow


#: No 500, and every answer in the status codes, media types and shapes the document gives.
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"


def _plugins() -> str:
    names = [name for name in ("lobby", "subtitles") if importlib.util.find_spec(f"meet_{name}")]
    return ",".join(names)


class Seed(NamedTuple):
    session_id: str
    csrf: str
    user_id: str
    room_id: str
    doomed_room_id: str
    access_id: str


def _seed(database_url: str, redis_url: str) -> Seed:
    """Schema, a user owning two rooms, and a logged-in session for them."""
    import valkey.asyncio as valkey
    from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

    from meet_core.db import CORE_MODEL_MODULES, import_models, metadata
    from meet_core.identity.sessions import SessionData, store_session
    from meet_core.rooms.models import ResourceAccess, Room
    from meet_core.users.models import User

    async def run() -> Seed:
        import_models(CORE_MODEL_MODULES)
        engine = create_async_engine(database_url)
        async with engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
        async with async_sessionmaker(engine, expire_on_commit=False)() as session:
            user = User(sub="fuzzer", email="fuzzer@example.com", full_name="Fuzzer")
            room = Room(name="fuzz room", slug="fuzz-room", access_level="restricted", configuration={})
            doomed = Room(name="doomed room", slug="doomed-room", access_level="public", configuration={})
            session.add_all([user, room, doomed])
            await session.flush()
            access = ResourceAccess(resource_id=room.id, user_id=user.id, role="owner")
            session.add_all([access, ResourceAccess(resource_id=doomed.id, user_id=user.id, role="owner")])
            await session.commit()
        await engine.dispose()
        client = valkey.Valkey.from_url(redis_url)
        data = SessionData(user_id=str(user.id), csrf="fuzz-csrf-token-0123456789")
        session_id = await store_session(client, None, data, 3600)
        await client.aclose()
        return Seed(session_id, data.csrf or "", str(user.id), str(room.id), str(doomed.id), str(access.id))

    return asyncio.run(run())


def _config(seed: Seed, livekit: FakeLiveKit) -> str:
    """Path parameters naming the seeded objects, so that bodies reach validation and beyond.

    Rooms are named by id (a rename changes the slug); ``DELETE rooms/{id}/`` gets a room of
    its own, since it succeeds. The routes authenticated by a LiveKit token get one for the
    room, of a participant connected to it (the fuzzer is connected too, as role changes
    require).
    """
    livekit.add_participant(seed.room_id, "fuzzer")
    livekit.add_participant(seed.room_id, "fuzz-guest")
    grants = api.VideoGrants(room=seed.room_id, room_join=True)
    token = api.AccessToken(livekit.api_key, livekit.api_secret).with_identity("fuzz-guest")
    bearer = token.with_ttl(datetime.timedelta(hours=1)).with_grants(grants).to_jwt()
    return f"""
[parameters]
room_key = "{seed.room_id}"
user_id = "{seed.user_id}"
access_id = "{seed.access_id}"

[[operations]]
include-method = "DELETE"
include-path = "/api/v1.0/rooms/{{room_key}}"
parameters = {{ room_key = "{seed.doomed_room_id}" }}

[[operations]]
include-path-regex = "/(rename|toggle-hand|start-subtitle|stop-subtitle)$"
headers = {{ Authorization = "Bearer {bearer}" }}
"""


def test_schemathesis_finds_no_server_error(meet_env, livekit: FakeLiveKit, tmp_path: Path) -> None:
    schemathesis = shutil.which("schemathesis") or str(Path(sys.executable).parent / "schemathesis")
    if not os.path.exists(schemathesis):
        pytest.fail("schemathesis is a test dependency: pip install -e '.[test]'")
    env = dict(meet_env)
    env["MEET_PLUGINS"] = _plugins()
    seed = _seed(env["DATABASE_URL"], env["REDIS_URL"])
    config = tmp_path / "schemathesis.toml"
    config.write_text(_config(seed, livekit))
    with _smtp_server() as smtp, ServerProcess({**env, **smtp}, log_path=tmp_path / "server.log") as server:
        done = subprocess.run(
            [
                schemathesis,
                "--config-file",
                str(config),
                "run",
                f"{server.url}/api/v1.0/swagger.json",
                "--checks",
                CHECKS,
                "--phases",
                "examples,coverage,fuzzing",
                # About 3,000 cases, 40-60 s on two cores.
                "--max-examples",
                "60",
                # NUL characters are generated too: every body refuses them with a 400.
                "--generation-allow-x00",
                "true",
                "--seed",
                "1",
                "--request-timeout",
                "10",
                # One worker: hypothesis describes strategies with ``ast.parse``, which Python
                # 3.11 breaks on in concurrent threads ("AST constructor recursion depth").
                "--workers",
                "1",
                "--generation-deterministic",
                "-H",
                f"Cookie: sessionid={seed.session_id}; csrftoken={seed.csrf}",
                "-H",
                f"X-CSRFToken: {seed.csrf}",
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
    output = done.stdout + done.stderr
    print(output[-3000:])  # the summary: operations and test cases, for the record (pytest -s)
    assert done.returncode == 0, (
        output[-6000:] + "\n--- server log ---\n" + (tmp_path / "server.log").read_text()[-4000:]
    )
    # The seeded ids were used: the room of DELETE went, the one every other operation used stayed.
    rooms = _rooms_left(env["DATABASE_URL"])
    assert seed.room_id in rooms and seed.doomed_room_id not in rooms


class _AcceptAll:
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return "250 OK"


@contextmanager
def _smtp_server() -> Iterator[dict[str, str]]:
    """A loopback SMTP server taking every message, so that invitations are sent: its settings."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    controller = Controller(_AcceptAll(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield {"EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(port)}
    finally:
        controller.stop()


def _rooms_left(database_url: str) -> set[str]:
    from sqlalchemy import select
    from sqlalchemy.ext.asyncio import create_async_engine

    from meet_core.rooms.models import Room

    async def run() -> set[str]:
        engine = create_async_engine(database_url)
        async with engine.connect() as connection:
            found = {str(key) for key in (await connection.scalars(select(Room.id))).all()}
        await engine.dispose()
        return found

    return asyncio.run(run())

"""Schemathesis fuzzes every operation of our OpenAPI schema against a real server: no 500 allowed.

It runs as a logged-in user (session cookie and CSRF header) so that authenticated routes are
reached too, with the lobby and subtitles plugins enabled when they are installed.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from meet_core.testing.server import ServerProcess

pytestmark = pytest.mark.slow


def _plugins() -> str:
    names = [name for name in ("lobby", "subtitles") if importlib.util.find_spec(f"meet_{name}")]
    return ",".join(names)


def _seed(database_url: str, redis_url: str) -> tuple[str, str]:
    """Schema, a user with a room, and a logged-in session for them: (session id, csrf)."""
    import valkey.asyncio as valkey
    from sqlalchemy.ext.asyncio import create_async_engine

    from meet_core.db import CORE_MODEL_MODULES, import_models, metadata
    from meet_core.identity.sessions import SessionData, store_session
    from meet_core.rooms.models import ResourceAccess, Room
    from meet_core.users.models import User

    async def run() -> tuple[str, str]:
        import_models(CORE_MODEL_MODULES)
        engine = create_async_engine(database_url)
        async with engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
        from sqlalchemy.ext.asyncio import async_sessionmaker

        async with async_sessionmaker(engine, expire_on_commit=False)() as session:
            user = User(sub="fuzzer", email="fuzzer@example.com", full_name="Fuzzer")
            room = Room(name="fuzz room", slug="fuzz-room", access_level="public", configuration={})
            session.add_all([user, room])
            await session.flush()
            session.add(ResourceAccess(resource_id=room.id, user_id=user.id, role="owner"))
            await session.commit()
        await engine.dispose()
        client = valkey.Valkey.from_url(redis_url)
        data = SessionData(user_id=str(user.id), csrf="fuzz-csrf-token-0123456789")
        session_id = await store_session(client, None, data, 3600)
        await client.aclose()
        return session_id, data.csrf or ""

    return asyncio.run(run())


def test_schemathesis_finds_no_server_error(meet_env, tmp_path: Path) -> None:
    schemathesis = shutil.which("schemathesis") or str(Path(sys.executable).parent / "schemathesis")
    if not os.path.exists(schemathesis):
        pytest.fail("schemathesis is a test dependency: pip install -e '.[test]'")
    env = dict(meet_env)
    env["MEET_PLUGINS"] = _plugins()
    session_id, csrf = _seed(env["DATABASE_URL"], env["REDIS_URL"])
    with ServerProcess(env, log_path=tmp_path / "server.log") as server:
        done = subprocess.run(
            [
                schemathesis,
                "run",
                f"{server.url}/api/v1.0/swagger.json",
                "--checks",
                "not_a_server_error",
                "--max-examples",
                "15",
                "--seed",
                "1",
                "--request-timeout",
                "10",
                "--workers",
                "2",
                "--generation-deterministic",
                "-H",
                f"Cookie: sessionid={session_id}; csrftoken={csrf}",
                "-H",
                f"X-CSRFToken: {csrf}",
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
    output = done.stdout + done.stderr
    assert done.returncode == 0, (
        output[-6000:] + "\n--- server log ---\n" + (tmp_path / "server.log").read_text()[-4000:]
    )

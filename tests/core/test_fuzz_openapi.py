"""Schemathesis fuzzes every operation of our OpenAPI schema against a real server: no 500 allowed.

It runs as a logged-in user (session cookie and CSRF header) so that authenticated routes are
reached too, with every plugin enabled, each configured to reach its logic: the files and
recording plugins on a real S3 (moto), telephony with a phone number and roomkit, the external
API with its applications and add-ons, the recording hooks with their bearer tokens.
"""

from __future__ import annotations

import asyncio
import base64
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


#: Every plugin of the repository (all installed by ``make install``); the last four have tables.
PLUGINS = ("lobby", "subtitles", "telephony", "files", "external_api", "recording")
BUCKET = "meet-media-storage"
ROOMKIT_TOKEN = "fuzz-roomkit-token-0123456789"
STORAGE_EVENT_TOKEN = "fuzz-storage-event-token-0123456789"
SUMMARY_WEBHOOK_TOKEN = "fuzz-summary-webhook-token-0123456789"
#: A 1x1 PNG, uploaded for the seeded file: ``upload-ended`` accepts it (once, then 400).
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
#: What each plugin needs to start and to get past its "not configured" answers.
PLUGIN_ENV = {
    "ROOM_TELEPHONY_PHONE_NUMBER": "+33 1 23 45 67 89",
    "ROOM_TELEPHONY_DEFAULT_COUNTRY": "FR",
    "ROOMKIT_ENABLED": "true",
    "ROOMKIT_SERVER_TO_SERVER_API_TOKEN": ROOMKIT_TOKEN,
    "APPLICATION_ENABLED": "true",
    "APPLICATION_JWT_SECRET_KEY": "fuzz-application-signing-key-0123456789abcdef",
    "ADDONS_ENABLED": "true",
    "ADDONS_TOKEN_SECRET_KEY": "fuzz-addons-signing-key-0123456789abcdef",
    "ADDONS_CSRF_SECRET": "fuzz-addons-csrf-secret-0123456789abcdef",
    "RECORDING_STORAGE_EVENT_ENABLE": "true",
    "RECORDING_STORAGE_EVENT_TOKEN": STORAGE_EVENT_TOKEN,
    "SUMMARY_SERVICE_WEBHOOK_API_TOKEN": SUMMARY_WEBHOOK_TOKEN,
}


def _plugins() -> str:
    missing = [name for name in PLUGINS if not importlib.util.find_spec(f"meet_{name}")]
    if missing:
        pytest.fail(f"plugins not installed (make install): {missing}")
    return ",".join(PLUGINS)


class Seed(NamedTuple):
    session_id: str
    csrf: str
    user_id: str
    room_id: str
    doomed_room_id: str
    access_id: str
    file_id: str
    doomed_file_id: str
    recording_id: str
    doomed_recording_id: str
    #: An application's token for the user: the external API's rooms answer it beyond 401.
    application_token: str


def _seed(database_url: str, redis_url: str) -> Seed:
    """Schema, a user owning two rooms, files and recordings (one of each to delete), an
    application, and a logged-in session for the user."""
    import valkey.asyncio as valkey
    from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

    from meet_core.db import CORE_MODEL_MODULES, import_models, metadata
    from meet_core.identity.sessions import SessionData, store_session
    from meet_core.rooms.models import ResourceAccess, Room
    from meet_core.users.models import User
    from meet_external_api.applications import create_application, draw
    from meet_external_api.settings import ExternalApiSettings
    from meet_external_api.tokens import application_token
    from meet_files.models import File
    from meet_recording.models import Recording, RecordingAccess

    async def run() -> Seed:
        import_models([*CORE_MODEL_MODULES, *(f"meet_{name}.models" for name in PLUGINS[2:])])
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
            files = [
                File(type="background_image", title=name, filename=f"{name}.png", creator_id=user.id)
                for name in ("beach", "doomed")
            ]
            recordings = [Recording(room_id=room.id, status="saved") for _ in range(2)]
            session.add_all([*files, *recordings])
            await session.flush()
            owners = [RecordingAccess(recording_id=r.id, user_id=user.id, role="owner") for r in recordings]
            session.add_all(owners)
            scopes = ["rooms:create", "rooms:list", "rooms:retrieve"]
            application = await create_application(
                session, "fuzz", scopes=scopes, domains=[], active=True, client_id_length=40, secret=draw(64)
            )
            await session.commit()
        config = ExternalApiSettings(
            application_enabled=True, application_jwt_secret_key=PLUGIN_ENV["APPLICATION_JWT_SECRET_KEY"]
        )
        token = application_token(config, user.id, application.client_id, scopes)
        await engine.dispose()
        client = valkey.Valkey.from_url(redis_url)
        data = SessionData(user_id=str(user.id), csrf="fuzz-csrf-token-0123456789")
        session_id = await store_session(client, None, data, 3600)
        await client.aclose()
        return Seed(
            session_id, data.csrf or "", str(user.id), str(room.id), str(doomed.id), str(access.id),
            str(files[0].id), str(files[1].id), str(recordings[0].id), str(recordings[1].id), token,
        )  # fmt: skip

    return asyncio.run(run())


def _config(seed: Seed, livekit: FakeLiveKit) -> str:
    """Path parameters naming the seeded objects, so that bodies reach validation and beyond.

    Rooms are named by id (a rename changes the slug); ``DELETE rooms/{id}/`` gets a room of
    its own, since it succeeds, as do the DELETEs of files and recordings. The external API's
    rooms get the application's token, the bearer-authenticated hooks their tokens. The routes
    authenticated by a LiveKit token get one for the room, of a participant connected to it
    (the fuzzer is connected too, as role changes require).
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
file_id = "{seed.file_id}"
key = "{seed.recording_id}"
room_id = "{seed.room_id}"

[[operations]]
include-name = "DELETE /api/v1.0/rooms/{{room_key}}"
parameters = {{ room_key = "{seed.doomed_room_id}" }}

[[operations]]
include-name = "DELETE /api/v1.0/files/{{file_id}}"
parameters = {{ file_id = "{seed.doomed_file_id}" }}

[[operations]]
include-name = "DELETE /api/v1.0/recordings/{{key}}"
parameters = {{ key = "{seed.doomed_recording_id}" }}

[[operations]]
include-path-regex = "^/external-api/v1.0/rooms"
headers = {{ Authorization = "Bearer {seed.application_token}" }}

[[operations]]
include-path-regex = "/(rename|toggle-hand|start-subtitle|stop-subtitle)$"
headers = {{ Authorization = "Bearer {bearer}" }}

[[operations]]
include-path = "/api/v1.0/roomkit/join"
headers = {{ Authorization = "Bearer {ROOMKIT_TOKEN}" }}

[[operations]]
include-path = "/api/v1.0/recordings/storage-hook"
headers = {{ Authorization = "Bearer {STORAGE_EVENT_TOKEN}" }}

[[operations]]
include-path = "/api/v1.0/recordings/external-process-hook"
headers = {{ Authorization = "Bearer {SUMMARY_WEBHOOK_TOKEN}" }}
"""


def test_schemathesis_finds_no_server_error(meet_env, livekit: FakeLiveKit, s3: Any, tmp_path: Path) -> None:
    schemathesis = shutil.which("schemathesis") or str(Path(sys.executable).parent / "schemathesis")
    if not os.path.exists(schemathesis):
        pytest.fail("schemathesis is a test dependency: pip install -e '.[test]'")
    env = dict(meet_env)
    env["MEET_PLUGINS"] = _plugins()
    s3.create_bucket(BUCKET)
    env.update({**s3.env(BUCKET), **PLUGIN_ENV})
    seed = _seed(env["DATABASE_URL"], env["REDIS_URL"])
    upload = f"tmp/files/{seed.file_id}.png"
    s3.client().put_object(Bucket=BUCKET, Key=upload, Body=PNG, ContentType="image/png")
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
                # 55 operations, about 2,800 cases, 20-40 s on two cores.
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
    from meet_core.rooms.models import Room
    from meet_files.models import File
    from meet_recording.models import Recording

    rooms = _ids_left(env["DATABASE_URL"], Room)
    assert seed.room_id in rooms and seed.doomed_room_id not in rooms
    files = _ids_left(env["DATABASE_URL"], File, File.deleted_at.is_(None))
    assert files == {seed.file_id}
    assert _ids_left(env["DATABASE_URL"], File, File.upload_state == "ready") == {seed.file_id}
    recordings = _ids_left(env["DATABASE_URL"], Recording)
    assert seed.recording_id in recordings and seed.doomed_recording_id not in recordings


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


def _ids_left(database_url: str, model: Any, *where: Any) -> set[str]:
    """Ids of the rows of ``model`` (matching ``where``) after the run."""
    from sqlalchemy import select
    from sqlalchemy.ext.asyncio import create_async_engine

    async def run() -> set[str]:
        engine = create_async_engine(database_url)
        async with engine.connect() as connection:
            found = {str(key) for key in (await connection.scalars(select(model.id).where(*where))).all()}
        await engine.dispose()
        return found

    return asyncio.run(run())

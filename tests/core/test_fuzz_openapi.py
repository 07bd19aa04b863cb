"""Schemathesis fuzzes every operation of our OpenAPI schema against a real server: no 500 allowed.

It runs as a logged-in user (session cookie and CSRF header) so that authenticated routes are
reached too, with every plugin enabled, each configured to reach its logic: the files and
recording plugins on a real S3 (moto), telephony with a phone number and roomkit, the external
API with its applications and add-ons, the recording hooks with their bearer tokens.

The run has a fixed budget (:data:`MAX_EXAMPLES` cases per operation and phase, :data:`WALL_TIME`
seconds in all) and leaves a report, ``build/fuzz-report.json`` and ``build/fuzz-report.md``:
operations of the OpenAPI document covered, cases sent, 5xx and schema violations, by operation
(its summary line is printed at the end of the pytest run; docs/security.md records a run).
A second test checks that every route of every plugin is in that document, or is one of the
:data:`HIDDEN` routes, justified, and sweeps those with hostile requests.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import datetime
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

import httpx
import pytest
from aiosmtpd.controller import Controller
from livekit import api

from meet_core.testing.fake_livekit import FakeLiveKit
from meet_core.testing.server import ServerProcess

pytestmark = pytest.mark.slow


#: No 500, and every answer in the status codes, media types and shapes the document gives.
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"


#: The budget: cases per operation and phase (``--max-examples``), and the wall time of the
#: whole run in seconds (beyond it the run is killed and the test fails). About 2,800 cases:
#: 20-75 s on two cores with SQLite, up to 230 s with PostgreSQL on a machine under load.
MAX_EXAMPLES = 60
WALL_TIME = 300
#: Checks that a response breaks the document (status code, media type or body shape).
SCHEMA_CHECKS = frozenset(CHECKS.split(",")) - {"not_a_server_error"}
REPORT_DIR = Path(__file__).resolve().parents[2] / "build"

#: Operations that no generated case gets a 2xx from, and why: each is still sent its cases (its
#: authentication, validation and lookups are fuzzed), its success paths are tested elsewhere.
NO_SUCCESS = {
    "DELETE /api/v1.0/resource-accesses/{access_id}": "the seeded access is the room's last owner's: 403",
    "GET /api/v1.0/addons/sessions/poll": "needs the addonsSid cookie of an init: 401",
    "POST /api/v1.0/addons/sessions/exchange": "needs a live transit token of an init: 400",
    "GET /api/v1.0/files/media-auth": "needs the proxy's X-Original-URL of a ready file: 403",
    "GET /api/v1.0/recordings/media-auth": "needs the proxy's X-Original-URL of a saved recording: 403",
    "POST /api/v1.0/files": "extension, type and id rarely agree in random bodies: 400",
    "POST /api/v1.0/recordings/storage-hook": "needs an S3 event naming a recording's object: 400/403",
    "POST /api/v1.0/resource-accesses": "random user and room ids name nobody: 400",
    "PUT /api/v1.0/resource-accesses/{access_id}": "random user and room ids name nobody: 400",
    "POST /api/v1.0/roomkit/join": "needs the PIN of a room with telephony: 400",
    "POST /api/v1.0/rooms/webhooks-livekit": "needs LiveKit's signature of the very body: 401",
    "POST /api/v1.0/rooms/{room_key}/enter": "needs a participant waiting in the lobby: 400/404",
    "POST /api/v1.0/rooms/{room_key}/mute-participant": "random identities and tracks are in no meeting: 404",
    "POST /api/v1.0/rooms/{room_key}/remove-participant": "random identities are in no meeting: 404",
    "POST /api/v1.0/rooms/{room_key}/update-participant": "random identities are in no meeting: 404",
    "POST /api/v1.0/rooms/{room_key}/update-participant-role": "random identities are in no meeting: 404",
    "POST /api/v1.0/rooms/{room_key}/start-recording": "needs a mode and options that agree: 400",
    "POST /api/v1.0/rooms/{room_key}/stop-recording": "needs a recording in progress: 404",
    "POST /external-api/v1.0/application/token": "needs an application's client id and secret: 400",
    "PUT /api/v1.0/users/{user_id}": "needs a valid timezone and language together: 400",
}

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
    # A core flag: the connection test's route is fuzzed beyond its "not enabled" 404.
    "CONNECTION_TEST_ENABLED": "true",
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


def test_schemathesis_finds_no_server_error(
    meet_env, empty_database: str, livekit: FakeLiveKit, s3: Any, tmp_path: Path, record_property: Any
) -> None:
    schemathesis = shutil.which("schemathesis") or str(Path(sys.executable).parent / "schemathesis")
    if not os.path.exists(schemathesis):
        pytest.fail("schemathesis is a test dependency: pip install -e '.[test]'")
    # A database of its own: the run leaves its rows, which no other test should count.
    env = {**meet_env, "DATABASE_URL": empty_database}
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
                "--max-examples",
                str(MAX_EXAMPLES),
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
                "--report",
                "json,ndjson",
                "--report-json-path",
                str(tmp_path / "run.json"),
                "--report-ndjson-path",
                str(tmp_path / "events.ndjson"),
                "--generation-deterministic",
                "-H",
                f"Cookie: sessionid={seed.session_id}; csrftoken={seed.csrf}",
                "-H",
                f"X-CSRFToken: {seed.csrf}",
            ],
            capture_output=True,
            text=True,
            timeout=WALL_TIME,
        )
        document = httpx.get(f"{server.url}/api/v1.0/swagger.json", timeout=10).json()
    output = done.stdout + done.stderr
    failure = output[-6000:] + "\n--- server log ---\n" + (tmp_path / "server.log").read_text()[-4000:]
    report = fuzz_report(tmp_path / "events.ndjson", tmp_path / "run.json", document)
    record_property("summary", write_report(report))
    assert report["server_errors"] == 0, failure
    assert report["schema_violations"] == 0, failure
    assert report["operations"]["not_covered"] == {}, failure
    assert done.returncode == 0, failure
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


# ------------------------------------------------------------------------------------ the report


def _operations(document: dict[str, Any]) -> list[str]:
    """The labels schemathesis gives the document's operations: ``METHOD /path``."""
    methods = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
    return sorted(
        f"{m.upper()} {path}" for path, item in document["paths"].items() for m in item if m in methods
    )


def fuzz_report(events: Path, run: Path, document: dict[str, Any]) -> dict[str, Any]:
    """Figures of a run, from schemathesis' NDJSON events and JSON report, by operation.

    A case is one request sent; a 5xx is a case answered 500-599; a schema violation is a case
    failing a check other than ``not_a_server_error`` (status code, media type or body shape
    not in the document). An operation is covered when it was sent cases.
    """
    by_operation: dict[str, dict[str, Any]] = {
        label: {"cases": 0, "statuses": collections.Counter(), "server_errors": 0, "schema_violations": 0}
        for label in _operations(document)
    }
    for line in events.read_text().splitlines() if events.exists() else []:
        event = json.loads(line)
        recorder = event.get("ScenarioFinished", {}).get("recorder", {})
        if "interactions" not in recorder:
            continue
        entry = by_operation.setdefault(
            recorder["label"],
            {"cases": 0, "statuses": collections.Counter(), "server_errors": 0, "schema_violations": 0},
        )
        own_method = recorder["label"].split(" ", 1)[0]
        for case_id, interaction in recorder["interactions"].items():
            status = (interaction.get("response") or {}).get("status_code")
            entry["cases"] += 1
            entry["statuses"][f"{interaction['request']['method']} {status}"] += 1
            if isinstance(status, int) and status >= 500:
                entry["server_errors"] += 1
            failed = {c["name"] for c in recorder["checks"].get(case_id, []) if c["status"] == "failure"}
            if failed & SCHEMA_CHECKS:
                entry["schema_violations"] += 1
        entry["succeeded"] = entry.get("succeeded", False) or any(
            key.startswith(f"{own_method} 2") for key in entry["statuses"]
        )
    summary = json.loads(run.read_text()) if run.exists() else {}
    not_covered = {label: "no case was sent" for label, entry in by_operation.items() if not entry["cases"]}
    never = sorted(
        label for label, entry in by_operation.items() if entry["cases"] and not entry.get("succeeded")
    )
    return {
        "command": summary.get("command", ""),
        "schemathesis": summary.get("schemathesis_version", ""),
        "seed": summary.get("seed"),
        "budget": {"max_examples_per_operation_and_phase": MAX_EXAMPLES, "wall_time_s": WALL_TIME},
        "running_time_s": round(summary.get("running_time", 0.0), 1),
        "operations": {
            "in_document": len(_operations(document)),
            "covered": len(by_operation) - len(not_covered),
            "not_covered": not_covered,
            "never_2xx": {label: NO_SUCCESS.get(label, "not explained yet (NO_SUCCESS)") for label in never},
        },
        "cases": sum(entry["cases"] for entry in by_operation.values()),
        "server_errors": sum(entry["server_errors"] for entry in by_operation.values()),
        "schema_violations": sum(entry["schema_violations"] for entry in by_operation.values()),
        "by_operation": {
            label: {**entry, "statuses": dict(sorted(entry["statuses"].items()))}
            for label, entry in sorted(by_operation.items())
        },
    }


def write_report(report: dict[str, Any]) -> str:
    """Write ``build/fuzz-report.json`` and ``.md``; return the one-line summary."""
    operations = report["operations"]
    line = (
        f"fuzz (schemathesis {report['schemathesis']}): {operations['covered']}/{operations['in_document']} "
        f"operations covered, {report['cases']} cases, {report['server_errors']} 5xx, "
        f"{report['schema_violations']} schema violations, {report['running_time_s']} s "
        f"(budget {MAX_EXAMPLES} cases per operation and phase, {WALL_TIME} s) -> build/fuzz-report.md"
    )
    rows = [
        f"| `{label}` | {e['cases']} | {e['server_errors']} | {e['schema_violations']} | "
        + ", ".join(f"{k}: {v}" for k, v in e["statuses"].items())
        + " |"
        for label, e in report["by_operation"].items()
    ]
    uncovered = [f"- `{label}`: {why}" for label, why in operations["not_covered"].items()] or ["- none"]
    never = [f"- `{label}`: {why}" for label, why in operations["never_2xx"].items()] or ["- none"]
    markdown = "\n".join(
        [
            "# Fuzz report (schemathesis)",
            "",
            line,
            "",
            f"Command: `{report['command']}`",
            "",
            "## Operations not covered",
            *uncovered,
            "",
            "## Operations no case got a 2xx from (their other answers are still checked)",
            *never,
            "",
            "## By operation",
            "",
            "| Operation | Cases | 5xx | Schema violations | Answers (method status: count) |",
            "|---|---:|---:|---:|---|",
            *rows,
            "",
        ]
    )
    REPORT_DIR.mkdir(exist_ok=True)
    (REPORT_DIR / "fuzz-report.json").write_text(json.dumps(report, indent=1) + "\n")
    (REPORT_DIR / "fuzz-report.md").write_text(markdown)
    return line


# -------------------------------------------------------------------- routes outside the document

#: The routes the OpenAPI document leaves out, and why; the keys are ``METHOD path`` (``*`` for
#: any). A new hidden route fails :func:`test_every_route_is_documented_or_justified` until it
#: is added here; :func:`test_hidden_routes_survive_hostile_requests` sweeps them all.
HIDDEN = {
    "OPTIONS *": "the Allow list of every path (meet_core/http/options.py), not an operation; "
    "tests/core/test_openapi_document.py checks it and the fuzzer sends OPTIONS to every path",
    "GET /__heartbeat__": "Dockerflow probe for the orchestrator, not the API (tests/core/test_smoke.py)",
    "GET /__lbheartbeat__": "Dockerflow probe for the load balancer, not the API",
    "GET /__version__": "Dockerflow build description, not the API",
    "GET /api/v1.0/swagger.json": "the OpenAPI document itself",
    "GET /api/v1.0/swagger": "the Swagger UI page (Litestar's), HTML",
    "GET /api/v1.0/swagger/{path}": "the Swagger UI's files (Litestar's)",
    "GET /api/v1.0/swagger/openapi.json": "the OpenAPI document, as Litestar serves it",
    "GET /api/v1.0/swagger/oauth2-redirect.html": "the Swagger UI's OAuth2 page (Litestar's), HTML",
    "GET /api/v1.0/authenticate": "OIDC login, a browser redirect (tests/identity/test_login.py)",
    "GET /api/v1.0/callback": "OIDC callback, a browser redirect (tests/identity/test_login.py)",
    "GET /api/v1.0/logout": "OIDC logout, a browser redirect (tests/identity/test_logout.py)",
    "POST /api/v1.0/logout": "OIDC logout, a browser form (tests/identity/test_logout.py)",
    "GET /api/v1.0/logout-callback": "OIDC logout callback, a redirect (tests/identity/test_logout.py)",
    "POST /api/v1.0/backchannel-logout": "the identity provider's logout token, form-encoded "
    "(tests/identity/test_backchannel.py)",
    "* /api/v1.0/users": "unrouted methods: 401, then 405, as the old system (tests/users)",
    "* /api/v1.0/users/{user_id}": "unrouted methods: 401, then 405, as the old system (tests/users)",
    "* /api/v1.0/recordings/{key}": "unrouted methods: 405 (plugins/recording/tests)",
    "* /external-api/v1.0/rooms": "unrouted update and delete: 401, then 405 (plugins/external_api/tests)",
    "* /external-api/v1.0/rooms/{room_id}": "unrouted update and delete: 401, then 405 "
    "(plugins/external_api/tests)",
}


#: A route of each plugin (subtitles, files, telephony, external API, recording, lobby).
PLUGIN_PATHS = (
    "/api/v1.0/rooms/{room_key}/start-subtitle",
    "/api/v1.0/files",
    "/api/v1.0/roomkit/join",
    "/external-api/v1.0/rooms",
    "/api/v1.0/recordings",
    "/api/v1.0/rooms/{room_key}/enter",
)


def _matches(key: str, method: str, path: str) -> bool:
    key_method, key_path = key.split(" ", 1)
    return key_method in ("*", method) and key_path in ("*", path)


def _justification(method: str, path: str) -> str | None:
    return next((why for key, why in HIDDEN.items() if _matches(key, method, path)), None)


def _routes(app: Any) -> list[tuple[str, str, bool]]:
    """Every (method, path, in the schema) the application serves."""
    from litestar.routes import HTTPRoute

    found = []
    for route in app.routes:
        assert isinstance(route, HTTPRoute), route  # no websocket or ASGI mount escapes the check
        for handler in route.route_handlers:
            for method in sorted(handler.http_methods):
                found.append((method, route.path_format.rstrip("/") or "/", handler.include_in_schema))
    return found


@pytest.fixture
async def every_plugin(meet_app: Any, s3: Any) -> Any:
    """The app with the six plugins, configured as for the fuzz run."""
    _plugins()
    s3.create_bucket(BUCKET)
    env = {"MEET_PLUGINS": ",".join(PLUGINS), **s3.env(BUCKET), **PLUGIN_ENV}
    return await meet_app(env=env, plugins=None)


async def test_every_route_is_documented_or_justified(every_plugin: Any) -> None:
    response = await every_plugin.client.get("/api/v1.0/swagger.json")
    documented = {tuple(label.split(" ", 1)) for label in _operations(response.json())}
    served = _routes(every_plugin.app)
    paths = {path for _, path, _ in served}
    assert set(PLUGIN_PATHS) <= paths  # the six plugins did register their routes
    undocumented = [
        f"{method} {path}"
        for method, path, _ in served
        if (method, path) not in documented and not _justification(method, path)
    ]
    assert undocumented == [], "document these routes, or justify them in HIDDEN"
    # Every documented operation is served, and a justified route is not documented after all.
    assert documented <= {(method, path) for method, path, _ in served}
    hidden = {(method, path) for method, path, _ in served if (method, path) not in documented}
    stale = [
        key
        for key in HIDDEN
        if not any(_justification(m, p) for m, p in hidden if key.endswith(p) or "*" in key)
    ]
    assert stale == []


#: Hostile requests for the hidden routes: no credentials, forged ones, garbage everywhere.
HOSTILE: list[dict[str, Any]] = [
    {},
    {
        "params": {
            "state": "\x00" * 3,
            "code": "x" * 5000,
            "next": "//evil.example",
            "returnTo": "javascript:1",
        }
    },
    {"headers": {"Cookie": "sessionid=forged; csrftoken=forged", "X-CSRFToken": "forged"}},
    {"headers": {"Authorization": "Bearer not-a-jwt"}},
    {"headers": {"Content-Type": "application/json"}, "content": b'{"a": [[[[[[[[[[[[[[[[[[["'},
    {"headers": {"Content-Type": "application/x-www-form-urlencoded"}, "content": b"logout_token=a.b.c&%zz"},
    {"headers": {"Content-Type": "multipart/form-data; boundary=x"}, "content": b"--x\r\nbroken"},
]


async def test_hidden_routes_survive_hostile_requests(every_plugin: Any) -> None:
    """The routes the fuzzer does not see get a fixed hostile set: never a 5xx."""
    hidden = sorted(
        {(method, path) for method, path, in_schema in _routes(every_plugin.app) if not in_schema}
        | {(m, p) for m, p, _ in _routes(every_plugin.app) if p.startswith("/api/v1.0/swagger")}
    )
    sent = 0
    for method, path in hidden:
        url = path.replace("{path}", "..%2f..%2fetc%2fpasswd").replace("{user_id}", "not-a-uuid")
        url = url.replace("{key}", "x" * 300).replace("{room_id}", "00000000-0000-0000-0000-000000000000")
        for request in HOSTILE:
            response = await every_plugin.client.request(method, url, **request)
            assert response.status_code < 500, (method, url, request, response.text)
            sent += 1
    assert sent >= 7 * 40  # every hidden route got the set (about 90 of them, OPTIONS included)

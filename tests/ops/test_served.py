"""Real ``meet serve`` processes: two workers' metrics aggregated, JSON request logs with their
request id, and Sentry receiving an unhandled error (a loopback server stands in for Sentry)."""

from __future__ import annotations

import gzip
import json
import os
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from meet_core.testing.server import ServerProcess, free_port

pytestmark = pytest.mark.slow

CONFIG = "/api/v1.0/config/"


@pytest.fixture
def migrated_env(meet_env: dict[str, str], empty_database: str) -> dict[str, str]:
    """The test environment on an empty database, where ``meet serve --migrate`` runs the real
    migrations (the worker's usual PostgreSQL database already has the tables)."""
    return {**meet_env, "DATABASE_URL": empty_database}


def served_env(migrated_env: dict[str, str], tmp_path: Path, **extra: str) -> dict[str, str]:
    return {**migrated_env, "MEET_PLUGINS": "", "MEET_ENV_FILE": str(tmp_path / "none.env"), **extra}


def total_requests(text: str, route: str = "/api/v1.0/config") -> float:
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "meet_http_requests_total" and sample.labels["route"] == route
    )


def test_two_workers_aggregated(migrated_env, tmp_path):
    """Any worker answers the scrape with every worker's counts (PROMETHEUS_MULTIPROC_DIR)."""
    folder = tmp_path / "prometheus"
    folder.mkdir()
    env = served_env(migrated_env, tmp_path, METRICS_ENABLED="true", PROMETHEUS_MULTIPROC_DIR=str(folder))
    with ServerProcess(env, workers=2, migrate=True, log_path=tmp_path / "serve.log") as server:
        for _ in range(40):  # a new connection each: the workers share them
            assert httpx.get(server.url + CONFIG).status_code == 200
        writers = {path.name.rsplit("_", 1)[1] for path in folder.glob("counter_*.db")}
        assert len(writers) == 2, writers  # both workers served and recorded
        for _ in range(6):
            assert total_requests(httpx.get(server.url + "/metrics").text) == 40


def test_json_logs_with_request_ids_and_served_metrics(migrated_env, tmp_path):
    """LOG_FORMAT=json: every line is JSON, one per request; X-Request-ID passed through or made.
    Two workers without PROMETHEUS_MULTIPROC_DIR: ``meet serve`` makes (and removes) its own."""
    log_path = tmp_path / "serve.log"
    env = served_env(migrated_env, tmp_path, LOG_FORMAT="json", METRICS_ENABLED="true")
    with ServerProcess(env, workers=2, migrate=True, log_path=log_path) as server:
        given = httpx.get(server.url + CONFIG + "?token=hidden", headers={"X-Request-ID": "edge-42.a:b_c"})
        refused = httpx.get(server.url + CONFIG, headers={"X-Request-ID": 'no spaces or quotes"'})
        made = httpx.get(f"{server.url}/api/v1.0/rooms/some-room/")
        assert given.headers["x-request-id"] == "edge-42.a:b_c"
        assert refused.headers["x-request-id"] != 'no spaces or quotes"'
        assert len(refused.headers["x-request-id"]) == 32
        assert made.headers["x-request-id"] and made.status_code in (200, 404)
        for _ in range(10):
            assert total_requests(httpx.get(server.url + "/metrics").text) == 2
        time.sleep(0.5)
    lines = [line for line in log_path.read_text().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line, granian's included, is JSON
    access = [r for r in records if r["logger"] == "meet_core.access"]
    by_id = {r["request_id"]: r for r in access}
    first = by_id["edge-42.a:b_c"]
    assert first["method"] == "GET" and first["status"] == 200
    assert first["route"] == "/api/v1.0/config" and first["path"] == CONFIG
    assert isinstance(first["duration_ms"], float)
    assert "hidden" not in json.dumps(access)  # no query string
    assert by_id[refused.headers["x-request-id"]]["route"] == "/api/v1.0/config"
    assert by_id[made.headers["x-request-id"]]["route"] == "/api/v1.0/rooms/{room_key}"
    assert len([r for r in access if r["route"] not in ("/metrics", "/__lbheartbeat__")]) == 3


# ------------------------------------------------------------------------------------ Sentry

PROBE = """
from typing import Any

from litestar import Request, get

from meet_core.api import hookimpl, permission_denied


@get("/api/v1.0/probe/{thing:str}/boom")
async def boom(thing: str, request: Request[Any, Any, Any]) -> None:
    user_email = request.query_params.get("email")  # a local variable Sentry must not send
    raise RuntimeError(f"probe failure {len(user_email)}")


@get("/api/v1.0/probe/refused")
async def refused() -> None:
    raise permission_denied()


class ProbePlugin:
    name = "sentry_probe"

    @hookimpl
    def meet_route_handlers(self, settings: Any) -> list[Any]:
        return [boom, refused]
"""


def _probe_distribution(site: Path) -> None:
    """A test-only plugin with routes that fail, installed by entry point for the server."""
    site.mkdir()
    (site / "sentry_probe.py").write_text(PROBE)
    info = site / "sentry_probe-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: sentry-probe\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text("[meet.plugins]\nsentry_probe = sentry_probe:ProbePlugin\n")


class _Sentry(BaseHTTPRequestHandler):
    received: list[bytes]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        self.received.append(body)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def sentry_server() -> Iterator[tuple[str, list[bytes]]]:
    received: list[bytes] = []
    handler = type("Handler", (_Sentry,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://public@127.0.0.1:{server.server_address[1]}/1", received
    finally:
        server.shutdown()
        server.server_close()


def _events(received: list[bytes]) -> list[dict[str, Any]]:
    """The ``event`` items of the envelopes received (header line, then item header + payload)."""
    events = []
    for envelope in received:
        lines = envelope.split(b"\n")
        for header, payload in zip(lines[1::2], lines[2::2], strict=False):
            if json.loads(header).get("type") == "event":
                events.append(json.loads(payload))
    return events


def test_sentry_gets_unhandled_errors_with_route_and_no_personal_data(migrated_env, tmp_path, sentry_server):
    dsn, received = sentry_server
    site = tmp_path / "site"
    _probe_distribution(site)
    env = served_env(
        migrated_env,
        tmp_path,
        MEET_PLUGINS="sentry_probe",
        SENTRY_DSN=dsn,
        SENTRY_ENVIRONMENT="test-env",
        PYTHONPATH=os.pathsep.join([str(site), *(p for p in sys.path if p)]),
    )
    with ServerProcess(env, migrate=True, log_path=tmp_path / "serve.log") as server:
        secrets = {
            "Cookie": "sessionid=cookie-secret-1",
            "Authorization": "Bearer header-secret-2",
            "X-Forwarded-For": "203.0.113.77",
        }
        assert httpx.get(server.url + "/api/v1.0/probe/refused", headers=secrets).status_code == 403
        response = httpx.get(
            server.url + "/api/v1.0/probe/widget/boom?email=alice%40example.com", headers=secrets
        )
        assert response.status_code == 500
        deadline = time.monotonic() + 15
        while not _events(received) and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1)  # anything else (a 403 wrongly reported) would have come by now
    events = _events(received)
    assert len(events) == 1, events  # the handled 403 is not sent
    [event] = events
    assert event["transaction"] == "/api/v1.0/probe/{thing}/boom"
    assert event["tags"]["route"] == "/api/v1.0/probe/{thing}/boom"
    assert event["environment"] == "test-env"
    assert event["exception"]["values"][-1]["type"] == "RuntimeError"
    assert event["request"] == {"method": "GET", "url": "/api/v1.0/probe/widget/boom"}
    assert "user" not in event
    everything = b"".join(received).decode()
    for secret in ("cookie-secret-1", "header-secret-2", "203.0.113.77", "alice@example.com", "alice%40"):
        assert secret not in everything, secret

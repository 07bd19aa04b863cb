"""A built frontend served beside the API (``MEET_FRONTEND_DIST``, ``meet serve --frontend``).

Over HTTP, without a browser: the SPA fallback, content types and caching, the API never
shadowed, nothing outside the folder reachable. ``tests/browser/`` loads the real frontend.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

from meet_core.cli import main
from meet_core.settings import Settings, SettingsError
from meet_core.testing.server import ServerProcess

API = "/api/v1.0"
INDEX = b"<!doctype html><html><body><div id=root></div></body></html>"
SCRIPT = b"console.log('meet');"


def make_dist(root: Path) -> Path:
    """A small dist/ as Vite lays it out, and a secret beside it that must stay unreachable."""
    dist = root / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_bytes(INDEX)
    (dist / "assets" / "index-C8XvoIGE.js").write_bytes(SCRIPT)
    (dist / "assets" / "index-C8XvoIGE.css").write_bytes(b"body{}")
    (dist / "assets" / "font-latin-wght-normal-BcXVPD7q.woff2").write_bytes(b"wOF2")
    (dist / "favicon.ico").write_bytes(b"\x00\x00\x01\x00")
    (dist / "manifest.webmanifest").write_bytes(b"{}")
    (root / "secret.txt").write_bytes(b"secret")
    (dist / "leak.txt").symlink_to(root / "secret.txt")
    return dist


@pytest.fixture
async def meet(meet_app, tmp_path):
    return await meet_app(env={"MEET_FRONTEND_DIST": str(make_dist(tmp_path))})


async def test_pages_of_the_application_are_index_html(meet):
    pages = ("/", "/abc-defg-hij", "/recording/9b4e2f4e-8f1a-4d7e-9f6e-2f9e0d5a1c3b", "/sdk/create-popup")
    for path in pages:
        response = await meet.client.get(path)
        assert response.status_code == 200, path
        assert response.content == INDEX
        assert response.headers["content-type"] == "text/html; charset=utf-8"
        assert response.headers["cache-control"] == "no-cache"
    index = await meet.client.get("/index.html")
    assert index.content == INDEX and index.headers["cache-control"] == "no-cache"


async def test_files_have_their_type_and_hashed_assets_are_cached_for_good(meet):
    forever = "public, max-age=31536000, immutable"
    expected = {
        "/assets/index-C8XvoIGE.js": ("text/javascript; charset=utf-8", forever),
        "/assets/index-C8XvoIGE.css": ("text/css; charset=utf-8", forever),
        "/assets/font-latin-wght-normal-BcXVPD7q.woff2": ("font/woff2", forever),
        "/favicon.ico": ("image/x-icon", "no-cache"),
        "/manifest.webmanifest": ("application/manifest+json", "no-cache"),
    }
    for path, (kind, cache) in expected.items():
        response = await meet.client.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-type"] == kind, path
        assert response.headers["cache-control"] == cache, path
        assert response.headers["x-content-type-options"] == "nosniff"
    script = await meet.client.get("/assets/index-C8XvoIGE.js")
    assert script.content == SCRIPT and script.headers["content-length"] == str(len(SCRIPT))


async def test_a_missing_file_is_a_404_not_the_page(meet):
    for path in ("/assets/index-Missing0.js", "/robots.txt", "/leak.txt"):
        response = await meet.client.get(path)
        assert response.status_code == 404, path
        assert b"<html" not in response.content and b"secret" not in response.content


async def test_revalidation_and_head(meet):
    first = await meet.client.get("/")
    again = await meet.client.get("/", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    changed = await meet.client.get("/", headers={"If-None-Match": '"other"'})
    assert changed.status_code == 200 and changed.content == INDEX
    head = await meet.client.head("/assets/index-C8XvoIGE.js")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(SCRIPT))


async def test_the_api_and_the_probes_are_never_shadowed(meet):
    config = await meet.client.get(f"{API}/config/")
    assert config.status_code == 200 and "livekit" in config.json()
    for path in (f"{API}/no-such-thing/", "/api/other", "/api", "/media/recordings/x.mp4"):
        response = await meet.client.get(path)
        assert response.status_code == 404, path
        assert response.json() == {"detail": "Not found."}, path
    assert (await meet.client.get("/__lbheartbeat__")).status_code == 200
    assert (await meet.client.get("/__version__")).json()["version"]
    # Other methods are the application's: the frontend's files are read-only.
    post = await meet.client.post("/abc-defg-hij", json={})
    assert post.status_code in (404, 405) and "detail" in post.json()


async def test_without_a_frontend_the_server_is_the_api_only(meet_app):
    meet = await meet_app()
    for path in ("/", "/abc-defg-hij", "/index.html"):
        response = await meet.client.get(path)
        assert response.status_code == 404 and response.json() == {"detail": "Not found."}


def test_a_folder_without_index_html_stops_start_up(tmp_path):
    with pytest.raises(SettingsError, match="MEET_FRONTEND_DIST"):
        Settings.from_env({"MEET_FRONTEND_DIST": str(tmp_path)})
    result = CliRunner().invoke(main, ["serve", "--frontend", str(tmp_path / "missing")])
    assert result.exit_code == 2 and "does not exist" in result.output


def _raw_get(port: int, target: str) -> bytes:
    """A request line sent as written: no client normalises the ``..`` away."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_meet_serve_sends_the_files_and_nothing_outside(meet_env, empty_database, tmp_path):
    """The real server (granian sends the files itself, ``http.response.pathsend``), migrating
    an empty database of its own."""
    dist = make_dist(tmp_path)
    env = {**meet_env, "DATABASE_URL": empty_database, "MEET_FRONTEND_DIST": str(dist), "MEET_PLUGINS": ""}
    with ServerProcess(env, migrate=True, log_path=tmp_path / "server.log") as server:
        script = _raw_get(server.port, "/assets/index-C8XvoIGE.js")
        assert script.startswith(b"HTTP/1.1 200") and script.endswith(SCRIPT)
        assert b"content-type: text/javascript; charset=utf-8" in script.lower()
        page = _raw_get(server.port, "/abc-defg-hij?x=1")
        assert page.startswith(b"HTTP/1.1 200") and page.endswith(INDEX)
        for target in ("/../secret.txt", "/assets/../../secret.txt", "/%2e%2e/secret.txt", "/leak.txt"):
            response = _raw_get(server.port, target)
            assert b"secret" not in response.split(b"\r\n\r\n", 1)[1], target
            assert not response.startswith(b"HTTP/1.1 200") or response.endswith(INDEX), target

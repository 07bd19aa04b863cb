"""Scale-out: two ``meet serve`` processes sharing one database and one Valkey.

A participant asks on server A, an administrator admits them on server B, the participant's
next poll on A is accepted with a token whose identity is the lobby id.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from meet_lobby import LobbyPlugin

ROOT = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _lobby_distribution(site: Path) -> None:
    """Make the source-tree plugin discoverable by entry point in the server processes."""
    info = site / "meet_plugin_lobby-0.1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: meet-plugin-lobby\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text("[meet.plugins]\nlobby = meet_lobby.plugin:LobbyPlugin\n")


@pytest.fixture
def servers(meet_env: dict[str, str], tmp_path: Path) -> Iterator[tuple[str, str, dict[str, str]]]:
    site = tmp_path / "site"
    _lobby_distribution(site)
    env = {
        **os.environ,
        **meet_env,
        "MEET_PLUGINS": "lobby",
        "MEET_ENV_FILE": str(tmp_path / "none.env"),
        "PYTHONPATH": os.pathsep.join([str(site), str(ROOT), str(ROOT / "plugins" / "lobby")]),
    }
    processes, urls, logs = [], [], []
    try:
        for index in range(2):
            port = _free_port()
            logs.append(tmp_path / f"server-{index}.log")
            with logs[-1].open("wb") as log:
                processes.append(
                    subprocess.Popen(
                        [
                            sys.executable,
                            "-m",
                            "meet_core.cli",
                            "serve",
                            "--port",
                            str(port),
                            "--workers",
                            "1",
                        ],
                        env=env,
                        cwd=tmp_path,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    )
                )
            urls.append(f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + 60
        for url, process, log_path in zip(urls, processes, logs, strict=True):
            while True:
                if process.poll() is not None:
                    raise AssertionError(f"server exited: {log_path.read_text()[-3000:]}")
                try:
                    if httpx.get(f"{url}/__lbheartbeat__", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise AssertionError(f"{url} did not start")
                time.sleep(0.1)
        yield urls[0], urls[1], meet_env
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


async def test_request_on_one_server_accept_on_the_other(servers, meet_app, livekit):
    url_a, url_b, _ = servers
    # Rows and the admin's session through the database and Valkey the servers use (meet_env).
    meet = await meet_app(plugins=[LobbyPlugin])
    admin = await meet.create_user()
    room = await meet.create_room(access_level="trusted", accesses=[(admin, "owner")])
    session_id, csrf = await meet.new_session(admin)
    await _scenario(url_a, url_b, session_id, csrf, room, livekit)


async def _scenario(url_a: str, url_b: str, session_id: str, csrf: str, room: Any, livekit: Any) -> None:
    async with (
        httpx.AsyncClient(base_url=url_a) as participant,
        httpx.AsyncClient(
            base_url=url_b,
            cookies={"sessionid": session_id, "csrftoken": csrf},
            headers={"X-CSRFToken": csrf},
        ) as admin_client,
    ):
        response = await participant.post(
            f"/api/v1.0/rooms/{room.id}/request-entry/", json={"username": "Alice"}
        )
        assert response.status_code == 200, response.text
        pid = response.json()["id"]
        assert response.json()["status"] == "waiting"

        response = await admin_client.get(f"/api/v1.0/rooms/{room.id}/waiting-participants/")
        assert response.status_code == 200, response.text
        assert [p["id"] for p in response.json()["participants"]] == [pid]
        response = await admin_client.post(
            f"/api/v1.0/rooms/{room.id}/enter/", json={"participant_id": pid, "allow_entry": True}
        )
        assert (response.status_code, response.json()) == (200, {"message": "Participant was updated."})

        response = await participant.post(
            f"/api/v1.0/rooms/{room.id}/request-entry/", json={"username": "Alice"}
        )
        body = response.json()
        assert body["status"] == "accepted" and body["id"] == pid
        claims = jwt.decode(body["livekit"]["token"], options={"verify_signature": False})
        assert claims["sub"] == pid and claims["video"]["room"] == str(room.id)
        assert body["livekit"]["url"] == livekit.url

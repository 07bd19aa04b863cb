"""An existing deployment's environment file, unchanged (issue #19, item 5).

``production_env/`` holds the three files of Meet's production example (``hosts``,
``common``, ``postgresql``), filled in. They are loaded as deployments do (a shell that
sources them with ``set -a``, or a ``.env`` file) and the server starts and serves on them:
``DJANGO_ALLOWED_HOSTS`` is enforced, the JSON list the shell unquotes still reads as a list.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from meet_core.app import load_settings
from meet_core.settings import Settings, read_environment

FILES = Path(__file__).parent / "production_env"
ORDER = ("hosts", "common", "postgresql")
MEET_HOST = "meet.domain.tld"


def sourced_by_a_shell() -> dict[str, str]:
    """The environment a process started by ``set -a; . hosts; . common; . postgresql`` gets."""
    script = "set -a; " + " ".join(f". ./{name};" for name in ORDER) + " exec env -0"
    output = subprocess.run(
        ["env", "-i", "sh", "-c", script], cwd=FILES, check=True, capture_output=True
    ).stdout.decode()
    pairs = (item.partition("=") for item in output.split("\0") if item)
    return {key: value for key, _, value in pairs if key not in ("PWD", "SHLVL", "_")}


def read_as_dotenv(tmp_path: Path) -> dict[str, str]:
    """The same files as one ``.env`` file, read by the server's own loader."""
    env_file = tmp_path / ".env"
    env_file.write_text("\n".join((FILES / name).read_text() for name in ORDER))
    return {key: value for key, value in read_environment(env_file).items() if key in _file_keys()}


def _file_keys() -> set[str]:
    keys = set()
    for name in ORDER:
        for line in (FILES / name).read_text().splitlines():
            if line and not line.startswith("#") and "=" in line:
                keys.add(line.split("=", 1)[0])
    return keys


@pytest.fixture(params=["shell", "dotenv"])
def production_env(request: Any, tmp_path: Path) -> dict[str, str]:
    return sourced_by_a_shell() if request.param == "shell" else read_as_dotenv(tmp_path)


def test_the_settings_read_as_the_old_system_read_them(production_env) -> None:
    settings, _ = load_settings(production_env, plugins=())
    core = settings.core
    assert core.allowed_hosts == [MEET_HOST]
    assert core.oidc_redirect_allowed_hosts == [f"https://{MEET_HOST}"]
    assert core.email_brand_name == "La Suite Numérique"
    assert core.oidc_rp_scopes == "openid email"
    assert core.allow_unregistered_rooms is False
    assert core.login_redirect_url == f"https://{MEET_HOST}"
    # No DB_ENGINE in the file: the old system's default engine, PostgreSQL.
    assert core.build_database_url() == "postgresql+asyncpg://meet:test-only-db-password@postgresql:5432/meet"
    assert production_env["OIDC_REDIRECT_ALLOWED_HOSTS"] in (
        f"[https://{MEET_HOST}]",  # sourced by a shell: quotes dropped, once a start-up failure
        f'["https://{MEET_HOST}"]',  # read as a .env file
    )


async def test_the_server_starts_and_serves_the_allowed_host_only(meet_app, production_env) -> None:
    # The test's database and Valkey stand in for the file's PostgreSQL host (DATABASE_URL,
    # set by the fixture, takes precedence over DB_*); everything else is the file's.
    meet = await meet_app(env=production_env)
    response = await meet.client.get("/api/v1.0/config/", headers={"Host": MEET_HOST})
    assert response.status_code == 200
    assert isinstance(response.json(), dict)
    for host in ("evil.example", "testserver.local", f"{MEET_HOST}.evil.example"):
        response = await meet.client.get("/api/v1.0/config/", headers={"Host": host})
        assert (response.status_code, response.json()) == (400, {"detail": "Invalid host header."}), host


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://a.tld,https://b.tld", ["https://a.tld", "https://b.tld"]),  # ListValue's form
        (" https://a.tld , https://b.tld ", ["https://a.tld", "https://b.tld"]),
        ('["https://a.tld", "https://b.tld"]', ["https://a.tld", "https://b.tld"]),  # JSON
        (
            "[https://a.tld, https://b.tld]",
            ["https://a.tld", "https://b.tld"],
        ),  # JSON once a shell unquoted it
        ("['https://a.tld']", ["https://a.tld"]),
        ("", []),
        ("[]", []),
    ],
)
def test_list_settings_accept_every_form_the_old_system_did(raw: str, expected: list[str]) -> None:
    assert (
        Settings.from_env({"OIDC_REDIRECT_ALLOWED_HOSTS": raw}).core.oidc_redirect_allowed_hosts == expected
    )

"""config/compose.yaml, the Containerfile and config/nginx.conf agree with the server (Docker is
not available here): services, settings names and values, ports, and every URL pointing at the
server (LiveKit's webhook, MinIO's bucket event, nginx's proxies) is one of its routes."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from meet_core.app import create_app, load_settings
from meet_core.plugins.manager import installed_entry_points
from meet_core.settings.sources import describe

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "config"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((CONFIG / "compose.yaml").read_text())


def server_env(compose: dict[str, Any], tmp_path: Path) -> dict[str, str]:
    env = {k: str(v) for k, v in compose["services"]["meet"]["environment"].items()}
    return {**env, "MEET_ENV_FILE": str(tmp_path / "none.env"), "MEET_DATA_DIR": str(tmp_path)}


def route_paths(env: dict[str, str]) -> set[str]:
    app = create_app(env=env, plugins=None)  # the installed plugins, as MEET_PLUGINS says
    return {route.path for route in app.routes}


def served_path(url_path: str, routes: set[str]) -> bool:
    """``/api/v1.0/rooms/webhooks-livekit/`` is served when its path (slash dropped) is a route."""
    return url_path.rstrip("/") in routes


def test_services_of_the_full_stack(compose):
    assert set(compose["services"]) == {
        "postgres",
        "valkey",
        "livekit",
        "minio",
        "minio-init",
        "migrate",
        "meet",
        "frontend",
        "nginx",
    }
    assert compose["services"]["migrate"]["command"] == ["meet", "db", "upgrade"]
    assert compose["services"]["meet"]["depends_on"]["migrate"] == {
        "condition": "service_completed_successfully"
    }
    # The release the frontend was built from (shared/frontend/README.md).
    assert compose["services"]["frontend"]["image"] == "lasuite/meet-frontend:v1.27.0"


def test_server_environment_is_made_of_real_valid_settings(compose, tmp_path):
    env = server_env(compose, tmp_path)
    settings, _ = load_settings(env)  # every value valid (SettingsError otherwise)
    assert set(settings.sections) >= {"lobby", "recording", "files"}
    known = {row.variable for row in describe({"core": settings.core, **settings.sections}, settings.env)}
    flags = {getattr(ep.load(), "enabled_by", None) for ep in installed_entry_points().values()}
    known |= {flag for flag in flags if flag} | {"MEET_WORKERS"}  # MEET_WORKERS: the Containerfile's
    assert set(env) - {"MEET_ENV_FILE", "MEET_DATA_DIR"} <= known, set(env) - known
    assert settings.core.metrics_enabled and settings.core.metrics_port == 9100
    assert compose["services"]["meet"]["ports"] == [f"{settings.core.metrics_port}:9100"]
    # Each peer named in a URL is a service of the stack.
    for url in (env["DATABASE_URL"], env["REDIS_URL"], env["LIVEKIT_API_URL"], env["AWS_S3_ENDPOINT_URL"]):
        assert urlsplit(url).hostname in compose["services"], url


def test_livekit_and_minio_call_real_routes_of_the_server(compose, tmp_path):
    env = server_env(compose, tmp_path)
    routes = route_paths(env)
    livekit = yaml.safe_load((CONFIG / "livekit-compose.yaml").read_text())
    assert livekit["keys"] == {env["LIVEKIT_API_KEY"]: env["LIVEKIT_API_SECRET"]}
    assert livekit["webhook"]["api_key"] == env["LIVEKIT_API_KEY"]
    [hook] = livekit["webhook"]["urls"]
    assert urlsplit(hook).netloc == "meet:8071"
    assert served_path(urlsplit(hook).path, routes), hook
    assert "./livekit-compose.yaml:/etc/livekit.yaml:ro" in compose["services"]["livekit"]["volumes"]

    init = " ".join(compose["services"]["minio-init"]["command"])
    endpoint = re.search(r"endpoint=(\S+)", init).group(1)
    assert urlsplit(endpoint).netloc == "meet:8071"
    assert served_path(urlsplit(endpoint).path, routes), endpoint
    assert f"auth_token={env['RECORDING_STORAGE_EVENT_TOKEN']}" in init
    assert f"local/{env['AWS_STORAGE_BUCKET_NAME']}" in init
    minio = compose["services"]["minio"]["environment"]
    assert (minio["MINIO_ROOT_USER"], minio["MINIO_ROOT_PASSWORD"]) == (
        env["AWS_S3_ACCESS_KEY_ID"],
        env["AWS_S3_SECRET_ACCESS_KEY"],
    )


def test_containerfile_serves_with_meet_serve_on_the_compose_port():
    text = (ROOT / "Containerfile").read_text()
    cmd = re.search(r"^CMD (.+)$", text, re.M).group(1)
    assert "meet serve" in cmd and "--port 8071" in cmd and "--host 0.0.0.0" in cmd
    assert re.search(r"^EXPOSE 8071 9100$", text, re.M)
    installed = set(re.findall(r"\./plugins/(\w+)", text))
    assert installed == {p.name for p in (ROOT / "plugins").iterdir() if (p / "pyproject.toml").exists()}


def test_nginx_routes_are_the_servers(compose, tmp_path):
    text = (CONFIG / "nginx.conf").read_text()
    routes = route_paths(server_env(compose, tmp_path))
    upstreams = dict(re.findall(r"upstream (\w+) \{[^}]*?server ([\w.-]+:\d+)", text, re.S))
    assert upstreams == {
        "meet_backend": "meet:8071",
        "meet_frontend": "frontend:8080",
        "meet_storage": "minio:9000",
    }
    for host in upstreams.values():
        assert host.split(":")[0] in compose["services"]
    # Sub-requests to a path of the server (media auth) name real routes.
    targets = re.findall(r"proxy_pass http://meet_backend(/\S*);", text)
    assert targets, "no media-auth sub-request"
    for target in targets:
        assert served_path(target, routes), target
    # Every API route is under a location proxied to the server.
    proxied = re.findall(r"location (/[\w-]+/) \{\n        proxy_pass http://meet_backend;", text)
    assert set(proxied) == {"/api/", "/external-api/"}
    assert all(route.startswith((*proxied, "/__", "/metrics")) for route in routes), sorted(routes)
    # The bucket in the rewrites is the server's.
    bucket = compose["services"]["meet"]["environment"]["AWS_STORAGE_BUCKET_NAME"]
    assert set(re.findall(r"rewrite \^/media/\(\.\*\)\$ /([\w-]+)/", text)) == {bucket}

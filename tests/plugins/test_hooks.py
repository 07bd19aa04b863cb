"""Every hook is documented in docs/hooks.md with its exact signature, and exercised here.

Each hook ``meet_x`` has a test named ``test_hook_meet_x`` that proves, through the full app,
that the example plugin's implementation runs and has its effect.
"""

from __future__ import annotations

import inspect
import re
import sys
from pathlib import Path

import jwt
import pytest
from click.testing import CliRunner

from meet_core.plugins import hookspecs
from meet_core.testing.example_plugin import ExamplePlugin, FailingPlugin
from meet_core.testing.webhooks import sign_webhook, webhook_body

DOCS = Path(__file__).parents[2] / "docs" / "hooks.md"
HOOKS = sorted(name for name in dir(hookspecs) if name.startswith("meet_"))


def signature(name: str) -> str:
    fn = getattr(hookspecs, name)
    sig = inspect.signature(fn)
    params = ", ".join(f"{p.name}: {p.annotation}" for p in sig.parameters.values())
    return f"def {name}({params}) -> {sig.return_annotation}"


@pytest.mark.parametrize("name", HOOKS)
def test_every_hook_is_documented_with_its_signature(name: str) -> None:
    text = DOCS.read_text()
    assert f"### {name}\n" in text, f"docs/hooks.md has no heading for {name}"
    section = text.split(f"### {name}\n", 1)[1].split("\n### ", 1)[0]
    assert signature(name) in section, f"docs/hooks.md shows another signature for {name}"


@pytest.mark.parametrize("name", HOOKS)
def test_every_hook_has_a_test(name: str) -> None:
    assert f"test_hook_{name}" in globals(), f"no test_hook_{name} in {__file__}"
    assert hasattr(ExamplePlugin, name), f"the example plugin does not implement {name}"


def test_every_hookspec_has_a_docstring() -> None:
    for name in HOOKS:
        assert (getattr(hookspecs, name).__doc__ or "").strip(), name


# ---------------------------------------------------------------------------- app building


async def test_hook_meet_settings_class(meet_app) -> None:
    meet = await meet_app(env={"EXAMPLE_GREETING": "bonjour"}, plugins=[ExamplePlugin])
    response = await meet.client.get("/api/v1.0/example/greeting")
    assert response.status_code == 200
    assert response.json()["greeting"] == "bonjour"


async def test_hook_meet_configure(meet_app) -> None:
    meet = await meet_app(plugins=[ExamplePlugin])
    plugin = meet.app.state.hooks.pm.get_plugin("example")
    assert plugin.settings is not None and plugin.settings.example_greeting == "hello"


async def test_hook_meet_route_handlers(meet_app) -> None:
    without = await meet_app()
    assert (await without.client.get("/api/v1.0/example/greeting")).status_code == 404
    meet = await meet_app(plugins=[ExamplePlugin])
    assert (await meet.client.get("/api/v1.0/example/greeting/")).status_code == 200


async def test_hook_meet_litestar_plugins(meet_app) -> None:
    meet = await meet_app(plugins=[ExamplePlugin])
    response = await meet.client.get("/api/v1.0/example/from-litestar-plugin")
    assert response.json() == {"litestar_plugin": True}


async def test_hook_meet_model_modules(meet_app) -> None:
    meet = await meet_app(plugins=[ExamplePlugin])
    first = (await meet.client.get("/api/v1.0/example/notes")).json()
    second = (await meet.client.get("/api/v1.0/example/notes")).json()
    assert len(first) == 1 and len(second) == 2


def test_hook_meet_migration_locations(example_distribution, monkeypatch, tmp_path) -> None:
    """The example lineage is applied beside the core's by ``meet db upgrade`` when enabled."""
    import sqlalchemy as sa

    from meet_core import cli

    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/m.sqlite3")
    monkeypatch.setenv("MEET_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MEET_PLUGINS", "example")
    result = CliRunner().invoke(cli.main, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    tables = set(sa.inspect(sa.create_engine(f"sqlite:///{tmp_path}/m.sqlite3")).get_table_names())
    assert {"meet_user", "meet_room", "meet_resource_access", "example_note"} <= tables


def test_hook_meet_cli_commands(example_distribution, monkeypatch, tmp_path) -> None:
    from meet_core import cli

    monkeypatch.setenv("MEET_PLUGINS", "example")
    monkeypatch.setenv("MEET_DATA_DIR", str(tmp_path))
    result = CliRunner().invoke(cli.main, ["example-hello"])
    assert result.exit_code == 0, result.output
    assert "hello from the example plugin" in result.output


async def test_hook_meet_lifespan(meet_app) -> None:
    meet = await meet_app(plugins=[ExamplePlugin])
    assert (await meet.client.get("/api/v1.0/example/greeting")).json()["started"] is True
    plugin = meet.app.state.hooks.pm.get_plugin("example")
    assert ("startup", None) in plugin.events


# --------------------------------------------------------------------------------- runtime


async def test_hook_meet_frontend_config(meet_app) -> None:
    bare = (await (await meet_app()).client.get("/api/v1.0/config/")).json()
    assert bare["subtitle"] == {"enabled": False} and "example" not in bare
    meet = await meet_app(plugins=[ExamplePlugin])
    config = (await meet.client.get("/api/v1.0/config/")).json()
    assert config["subtitle"] == {"enabled": True}
    assert config["example"] == {"enabled": True}


def _claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


async def test_hook_meet_room_join_decision(meet_app) -> None:
    meet = await meet_app(plugins=[FailingPlugin, ExamplePlugin])
    room = await meet.create_room("restricted room", access_level="restricted")
    denied = (await meet.client.get(f"/api/v1.0/rooms/{room.slug}/")).json()
    assert "livekit" not in denied
    allowed = (
        await meet.client.get(f"/api/v1.0/rooms/{room.slug}/", headers={"X-Example-Pass": "yes"})
    ).json()
    claims = _claims(allowed["livekit"]["token"])
    assert claims["sub"] == "example-participant"
    assert claims["attributes"]["color"] == "hsl(1, 2%, 3%)"


async def test_hook_meet_room_extra_fields(meet_app) -> None:
    meet = await meet_app(plugins=[ExamplePlugin])
    room = await meet.create_room("extra fields")
    body = (await meet.client.get(f"/api/v1.0/rooms/{room.id}/")).json()
    assert body["example_field"] == "extra-extra-fields"


async def test_hook_meet_token_attributes(meet_app) -> None:
    meet = await meet_app(plugins=[ExamplePlugin])
    room = await meet.create_room("attributes")
    claims = _claims((await meet.client.get(f"/api/v1.0/rooms/{room.slug}/")).json()["livekit"]["token"])
    assert claims["attributes"]["example"] == "yes"
    assert claims["attributes"]["is_authenticated"] == "false"


async def test_hook_meet_token_grants(meet_app) -> None:
    meet = await meet_app(plugins=[ExamplePlugin])
    room = await meet.create_room("grants")
    claims = _claims((await meet.client.get(f"/api/v1.0/rooms/{room.slug}/")).json()["livekit"]["token"])
    assert claims["video"]["canPublishData"] is False
    bare = await meet_app()
    claims = _claims((await bare.client.get(f"/api/v1.0/rooms/{room.slug}/")).json()["livekit"]["token"])
    assert claims["video"].get("canPublishData", True) is True


async def test_hook_meet_room_created(meet_app) -> None:
    meet = await meet_app(plugins=[FailingPlugin, ExamplePlugin])
    await meet.login(await meet.create_user())
    response = await meet.client.post("/api/v1.0/rooms/", json={"name": "Created Room"})
    assert response.status_code == 201, response.text
    plugin = meet.app.state.hooks.pm.get_plugin("example")
    assert ("room_created", "created-room") in plugin.events


async def test_hook_meet_room_updated(meet_app) -> None:
    meet = await meet_app(plugins=[ExamplePlugin])
    user = await meet.create_user()
    room = await meet.create_room("updated room", accesses=[(user, "owner")])
    await meet.login(user)
    response = await meet.client.patch(f"/api/v1.0/rooms/{room.id}/", json={"access_level": "trusted"})
    assert response.status_code == 200, response.text
    plugin = meet.app.state.hooks.pm.get_plugin("example")
    assert ("room_updated", ("updated-room", ("access_level",))) in plugin.events


async def test_hook_meet_room_deleted(meet_app) -> None:
    meet = await meet_app(plugins=[ExamplePlugin])
    user = await meet.create_user()
    room = await meet.create_room("deleted room", accesses=[(user, "owner")])
    await meet.login(user)
    assert (await meet.client.delete(f"/api/v1.0/rooms/{room.id}/")).status_code == 204
    plugin = meet.app.state.hooks.pm.get_plugin("example")
    assert ("room_deleted", "deleted-room") in plugin.events


async def test_hook_meet_participant_removed(meet_app, livekit) -> None:
    meet = await meet_app(plugins=[ExamplePlugin])
    user = await meet.create_user()
    room = await meet.create_room("removal", accesses=[(user, "owner")])
    livekit.add_participant(str(room.id), "someone")
    await meet.login(user)
    response = await meet.client.post(
        f"/api/v1.0/rooms/{room.id}/remove-participant/", json={"participant_identity": "someone"}
    )
    assert response.status_code == 200, response.text
    plugin = meet.app.state.hooks.pm.get_plugin("example")
    assert ("participant_removed", (str(room.id), "someone")) in plugin.events


async def test_hook_meet_livekit_event(meet_app, livekit) -> None:
    meet = await meet_app(plugins=[FailingPlugin, ExamplePlugin])
    body = webhook_body("room_finished", id="EV_hooks", room={"name": "some-room"})
    response = await meet.client.post(
        "/api/v1.0/rooms/webhooks-livekit/",
        content=body,
        headers={
            "Authorization": sign_webhook(body, livekit.api_key, livekit.api_secret),
            "Content-Type": "application/webhook+json",
        },
    )
    assert response.status_code == 200, response.text
    plugin = meet.app.state.hooks.pm.get_plugin("example")
    assert ("livekit_event", ("room_finished", "some-room")) in plugin.events


def test_signature_rendering_is_stable() -> None:
    assert re.match(r"def meet_configure\(settings: Settings\) -> None$", signature("meet_configure"))
    assert sys.version_info >= (3, 11)

"""Every hook is documented in docs/hooks.md with its exact signature, and exercised here.

Each hook ``meet_x`` has a test named ``test_hook_meet_x`` that proves, through the full app,
that the example plugin's implementation runs and has its effect.
"""

from __future__ import annotations

import inspect
import logging
import re
import sys
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import jwt
import pytest
from click.testing import CliRunner
from litestar import Request, get

from meet_core.plugins import PluginError, hookimpl, hookspec, hookspecs
from meet_core.plugins.manager import build_plugin_manager, installed_entry_points, new_plugin_manager
from meet_core.settings import Settings
from meet_core.state import hooks
from meet_core.testing.example_plugin import ExamplePlugin, FailingPlugin
from meet_core.testing.webhooks import sign_webhook, webhook_body

ROOT = Path(__file__).parents[2]
DOCS = ROOT / "docs" / "hooks.md"
HOOKS = sorted(name for name in dir(hookspecs) if name.startswith("meet_"))


def signature(name: str, fn: Any = None) -> str:
    sig = inspect.signature(fn or getattr(hookspecs, name))
    params = ", ".join(f"{p.name}: {p.annotation}" for p in sig.parameters.values())
    return f"def {name}({params}) -> {sig.return_annotation}"


def plugin_added_hooks() -> dict[str, Any]:
    """Hook name -> spec function of every hook added (``meet_add_hookspecs``) by the plugins of
    this repository: the example plugin and every installed plugin whose code lives here."""
    plugins: list[Any] = [ExamplePlugin]
    for ep in installed_entry_points().values():
        target = ep.load()
        if Path(inspect.getfile(target)).resolve().is_relative_to(ROOT):
            plugins.append(target)
    pm = new_plugin_manager()
    for plugin in plugins:
        pm.register(plugin(), name=plugin.name)
    callers = [getattr(pm.hook, name) for name in dir(pm.hook) if name.startswith("meet_")]
    return {c.name: c.spec.function for c in callers if c.spec and c.name not in HOOKS}


ADDED = plugin_added_hooks()


@pytest.mark.parametrize(("name", "fn"), [(name, None) for name in HOOKS] + sorted(ADDED.items()))
def test_every_hook_is_documented_with_its_signature(name: str, fn: Any) -> None:
    """Core hooks and hooks added by this repository's plugins alike: one place, docs/hooks.md."""
    text = DOCS.read_text()
    assert f"### {name}\n" in text, f"docs/hooks.md has no heading for {name}"
    section = text.split(f"### {name}\n", 1)[1].split("\n### ", 1)[0]
    assert signature(name, fn) in section, f"docs/hooks.md shows another signature for {name}"
    if fn is not None:
        assert text.index(f"### {name}\n") > text.index("## Hooks declared by plugins\n"), name
        assert (fn.__doc__ or "").strip(), f"hookspec {name} has no docstring"


def test_the_plugins_added_hooks_are_found() -> None:
    assert "meet_example_greeting" in ADDED  # the meta-test above does cover plugin hooks


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


async def test_hook_meet_add_hookspecs(meet_app) -> None:
    """The example plugin adds ``meet_example_greeting``; another plugin implements it, registered
    before or after the example, and the example's route calls it through the facade."""

    class Shouter:
        name = "shouter"

        @hookimpl
        async def meet_example_greeting(self, greeting: str) -> str:
            return greeting.upper() + "!"

    for plugins in ([ExamplePlugin, Shouter], [Shouter, ExamplePlugin]):
        meet = await meet_app(plugins=plugins)
        assert (await meet.client.get("/api/v1.0/example/greeting")).json()["greeting"] == "HELLO!"
    meet = await meet_app(plugins=[ExamplePlugin])
    assert (await meet.client.get("/api/v1.0/example/greeting")).json()["greeting"] == "hello"


class _Specs:
    """Hookspecs of the ``announcer`` test plugin (a class namespace works like a module)."""

    @staticmethod
    @hookspec
    def meet_announcer_said(text: str) -> Awaitable[None] | None:
        """Event: the announcer said ``text``."""

    @staticmethod
    @hookspec(firstresult=True)
    def meet_announcer_reply(text: str) -> Awaitable[str | None] | str | None:
        """The first reply to ``text``."""

    @staticmethod
    @hookspec
    def meet_announcer_votes(text: str) -> Awaitable[int | None] | int | None:
        """Each plugin's vote on ``text``."""


class _Announcer:
    """Declares the hooks above and calls them, through ``meet_core.state.hooks``, from a route."""

    name = "announcer"

    @hookimpl
    def meet_add_hookspecs(self, pluginmanager: Any) -> None:
        pluginmanager.add_hookspecs(_Specs)

    @hookimpl
    def meet_route_handlers(self, settings: Settings) -> list[Any]:
        @get("/api/v1.0/announce")
        async def announce(request: Request[Any, Any, Any]) -> dict[str, Any]:
            meet_hooks = hooks(request)
            await meet_hooks.notify("meet_announcer_said", text="hi")
            return {
                "reply": await meet_hooks.call_first("meet_announcer_reply", text="hi"),
                "votes": await meet_hooks.call_all("meet_announcer_votes", text="hi"),
            }

        return [announce]


class _Listener:
    name = "listener"
    heard: list[str] = []

    @hookimpl
    async def meet_announcer_said(self, text: str) -> None:
        self.heard.append(text)

    @hookimpl
    async def meet_announcer_reply(self) -> None:
        return None  # not an answer: the next implementation is asked

    @hookimpl
    async def meet_announcer_votes(self) -> int:
        return 1


class _Broken:
    name = "broken"

    @hookimpl
    def meet_announcer_said(self) -> None:
        raise RuntimeError("broken listener")

    @hookimpl
    def meet_announcer_reply(self, text: str) -> str:
        return f"re: {text}"

    @hookimpl
    def meet_announcer_votes(self) -> None:
        return None


@pytest.mark.parametrize(
    "order",
    [[_Announcer, _Broken, _Listener], [_Broken, _Listener, _Announcer]],
    ids=["spec-first", "spec-last"],
)
async def test_plugin_hooks_are_called_with_the_cores_semantics(meet_app, order) -> None:
    _Listener.heard = []
    meet = await meet_app(plugins=order)
    logged: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = logged.append  # type: ignore[method-assign]
    logging.getLogger("meet_core.plugins").addHandler(handler)  # the app reconfigures the root's
    try:
        response = await meet.client.get("/api/v1.0/announce")
    finally:
        logging.getLogger("meet_core.plugins").removeHandler(handler)
    assert response.status_code == 200
    assert response.json() == {"reply": "re: hi", "votes": [1]}
    assert _Listener.heard == ["hi"]  # the broken listener did not stop it
    assert [r.getMessage() for r in logged] == ["plugin 'broken' failed in meet_announcer_said"]


def test_implementations_of_plugin_hooks_are_validated_against_the_added_spec() -> None:
    class WrongArgument:
        name = "wrong"

        @hookimpl
        def meet_announcer_reply(self, txt: str) -> str:
            return txt

    core = Settings.from_env({}).core
    for plugins in ([_Announcer, WrongArgument], [WrongArgument, _Announcer]):
        with pytest.raises(PluginError, match="txt"):
            build_plugin_manager(core, plugins)
    with pytest.raises(PluginError, match=r"unknown hook 'meet_announcer_(said|reply|votes)'"):
        build_plugin_manager(core, [_Listener])  # the declaring plugin is absent

    class Optional:
        name = "optional"

        @hookimpl(optionalhook=True)
        def meet_announcer_said(self) -> None: ...

    build_plugin_manager(core, [Optional])  # optionalhook: fine without the declaring plugin


async def test_calling_an_unknown_plugin_hook_or_with_other_arguments_is_refused(meet_app) -> None:
    meet = await meet_app(plugins=[_Announcer])
    facade = meet.app.state.hooks
    assert facade.has_hook("meet_announcer_said") and not facade.has_hook("meet_nothing")
    with pytest.raises(LookupError, match="meet_nothing"):
        await facade.notify("meet_nothing")
    with pytest.raises(TypeError, match="meet_announcer_reply takes"):
        await facade.call_first("meet_announcer_reply", txt="x")


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

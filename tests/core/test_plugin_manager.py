"""Which plugins are enabled, from MEET_PLUGINS or the old flags, found through entry points."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from meet_core import cli
from meet_core.plugins.manager import PluginError, build_plugin_manager
from meet_core.settings import Settings

ROOT = Path(__file__).parents[2]


def core(env: dict[str, str]):
    return Settings.from_env(env).core


def test_meet_plugins_enables_an_installed_plugin(example_distribution) -> None:
    pm = build_plugin_manager(core({"MEET_PLUGINS": "example"}), env={})
    assert pm.get_plugin("example") is not None
    assert type(pm.get_plugin("example")).__name__ == "ExamplePlugin"
    assert pm.get_plugin("lobby") is None  # a plain list replaces the default set


def test_a_plugin_excluded_by_meet_plugins_is_blocked_before_loading(plugin_distribution) -> None:
    plugin_distribution("meet-plugin-ghost", {"ghost": "no_such_module_anywhere:Plugin"})
    with pytest.raises(PluginError, match="plugin 'ghost' cannot be imported"):
        build_plugin_manager(core({}), env={})  # in the default set: loaded to read its flag
    for value in ("", "lobby", "-ghost", "+lobby,-ghost"):
        pm = build_plugin_manager(core({"MEET_PLUGINS": value}), env={})
        assert pm.is_blocked("ghost"), value


def test_a_plugin_flag_reads_the_environment_like_a_setting(example_distribution, tmp_path) -> None:
    def on(env: dict[str, str]) -> bool:
        return build_plugin_manager(core(env), env=env).get_plugin("example") is not None

    assert not on({})
    assert not on({"EXAMPLE_ENABLED": "off"})
    assert on({"EXAMPLE_ENABLED": "yes"})
    assert on({"DJANGO_EXAMPLE_ENABLED": "1"})
    flag = tmp_path / "flag"
    flag.write_text("true\n")
    assert on({"EXAMPLE_ENABLED_FILE": str(flag)})
    with pytest.raises(PluginError, match="EXAMPLE_ENABLED: expected a boolean"):
        on({"EXAMPLE_ENABLED": "maybe"})


def test_plus_and_minus_change_the_default_set(example_distribution) -> None:
    pm = build_plugin_manager(core({"MEET_PLUGINS": "+example"}), env={})
    assert pm.get_plugin("example") is not None
    assert pm.get_plugin("lobby") is not None  # +name does not turn the lobby off
    pm = build_plugin_manager(core({"MEET_PLUGINS": "-lobby"}), env={"EXAMPLE_ENABLED": "1"})
    assert pm.get_plugin("example") is not None and pm.is_blocked("lobby")
    pm = build_plugin_manager(core({"MEET_PLUGINS": "example,-example"}), env={})
    assert pm.is_blocked("example") and pm.is_blocked("lobby")


def test_each_app_has_its_own_plugin_manager_and_instances() -> None:
    from meet_core.testing.example_plugin import ExamplePlugin

    first = build_plugin_manager(core({}), [ExamplePlugin])
    second = build_plugin_manager(core({}), [ExamplePlugin])
    assert first is not second
    assert first.get_plugin("example") is not second.get_plugin("example")


def test_enabled_plugin_not_installed_names_its_distribution_by_convention() -> None:
    with pytest.raises(PluginError, match="pip install meet-plugin-whiteboard"):
        build_plugin_manager(core({"MEET_PLUGINS": "whiteboard"}), env={})
    with pytest.raises(PluginError, match=r"pip install meet-plugin-video-wall .*installed plugins: "):
        build_plugin_manager(core({"MEET_PLUGINS": "+video_wall"}), env={})
    build_plugin_manager(core({"MEET_PLUGINS": "-whiteboard"}), env={})  # removing one is harmless


def test_a_plugin_class_without_a_name_is_a_clear_error() -> None:
    class Nameless:
        pass

    with pytest.raises(PluginError, match=r"plugin class .*Nameless has no `name` attribute"):
        build_plugin_manager(core({}), [Nameless])
    with pytest.raises(PluginError, match="Nameless has no `name`"):
        build_plugin_manager(core({}), [Nameless()])


def test_an_entry_point_name_must_match_the_class_name(plugin_distribution) -> None:
    plugin_distribution("meet-other", {"other": "meet_core.testing.example_plugin:ExamplePlugin"})
    with pytest.raises(PluginError, match="declares name 'example' but its entry point is named 'other'"):
        build_plugin_manager(core({"MEET_PLUGINS": "other"}), env={})


def test_meet_plugins_command_says_why_each_plugin_is_on_or_off(
    example_distribution, monkeypatch, tmp_path
) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("MEET_DATA_DIR", str(tmp_path))
    for name in ("MEET_PLUGINS", "EXAMPLE_ENABLED", "ROOM_SUBTITLE_ENABLED", "MEET_ENV_FILE"):
        monkeypatch.delenv(name, raising=False)

    def plugins(**env: str) -> str:
        result = CliRunner().invoke(cli.main, ["plugins"], env=env)
        assert result.exit_code == 0, result.output
        return result.output

    output = plugins()
    assert "example (meet-example 0.1): off: EXAMPLE_ENABLED is unset (false)\n" in output
    assert "lobby (meet-plugin-lobby 0.1.0): on: installed, no enable flag\n" in output
    assert "subtitles (meet-plugin-subtitles 0.1.0): off: ROOM_SUBTITLE_ENABLED is unset (false)" in output
    output = plugins(MEET_PLUGINS="example")
    assert "example (meet-example 0.1): on: listed in MEET_PLUGINS\n  hooks: " in output
    assert "meet_room_join_decision" in output
    assert "lobby (meet-plugin-lobby 0.1.0): off: not listed in MEET_PLUGINS" in output
    output = plugins(MEET_PLUGINS="-lobby,+example", DJANGO_ROOM_SUBTITLE_ENABLED="no")
    assert "example (meet-example 0.1): on: added by MEET_PLUGINS=+example" in output
    assert "lobby (meet-plugin-lobby 0.1.0): off: removed by MEET_PLUGINS=-lobby" in output
    assert "off: ROOM_SUBTITLE_ENABLED (from DJANGO_ROOM_SUBTITLE_ENABLED) is false" in output
    (tmp_path / ".env").write_text("EXAMPLE_ENABLED=on\n")
    assert "example (meet-example 0.1): on: EXAMPLE_ENABLED is true\n" in plugins()


def test_serve_refuses_to_start_with_a_missing_plugin(tmp_path) -> None:
    env = {
        "MEET_PLUGINS": "whiteboard",
        "MEET_DATA_DIR": str(tmp_path),
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(ROOT),
    }
    done = subprocess.run(
        [sys.executable, "-m", "meet_core.cli", "serve", "--port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "pip install meet-plugin-whiteboard" in done.stderr


def test_misspelt_hooks_and_wrappers_are_refused() -> None:
    from meet_core.plugins import hookimpl

    class Misspelt:
        name = "misspelt"

        @hookimpl
        def meet_frontend_confg(self) -> dict:
            return {}

    class Wrapper:
        name = "wrapper"

        @hookimpl(wrapper=True)
        def meet_room_join_decision(self):  # type: ignore[no-untyped-def]
            return (yield)

    with pytest.raises(PluginError, match="unknown hook 'meet_frontend_confg'"):
        build_plugin_manager(core({}), [Misspelt])
    with pytest.raises(PluginError, match="meet_room_join_decision cannot be a wrapper"):
        build_plugin_manager(core({}), [Wrapper])

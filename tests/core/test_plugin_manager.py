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
    pm = build_plugin_manager(core({"MEET_PLUGINS": "example"}))
    assert pm.get_plugin("example") is not None
    assert type(pm.get_plugin("example")).__name__ == "ExamplePlugin"


def test_a_plugin_not_enabled_is_blocked_before_loading(example_distribution) -> None:
    pm = build_plugin_manager(core({"MEET_PLUGINS": ""}))
    assert pm.get_plugin("example") is None
    assert pm.is_blocked("example")
    pm = build_plugin_manager(core({}))  # legacy flags: only the lobby is on by default
    assert pm.is_blocked("example")


def test_each_app_has_its_own_plugin_manager_and_instances() -> None:
    from meet_core.testing.example_plugin import ExamplePlugin

    first = build_plugin_manager(core({}), [ExamplePlugin])
    second = build_plugin_manager(core({}), [ExamplePlugin])
    assert first is not second
    assert first.get_plugin("example") is not second.get_plugin("example")


def test_enabled_official_plugin_not_installed_names_its_distribution() -> None:
    with pytest.raises(PluginError, match="pip install meet-plugin-recording"):
        build_plugin_manager(core({"MEET_PLUGINS": "recording"}))
    with pytest.raises(PluginError, match="meet-plugin-external-api"):
        build_plugin_manager(core({"EXTERNAL_API_ENABLED": "true"}))


def test_unknown_plugin_name_is_an_error() -> None:
    with pytest.raises(PluginError, match="unknown plugin 'nope'"):
        build_plugin_manager(core({"MEET_PLUGINS": "nope"}))


def test_meet_plugins_command_lists_installed_plugins_and_hooks(
    example_distribution, monkeypatch, tmp_path
) -> None:
    monkeypatch.setenv("MEET_PLUGINS", "example")
    monkeypatch.setenv("MEET_DATA_DIR", str(tmp_path))
    result = CliRunner().invoke(cli.main, ["plugins"])
    assert result.exit_code == 0, result.output
    assert "example (meet-example 0.1): enabled" in result.output
    assert "meet_room_join_decision" in result.output
    monkeypatch.setenv("MEET_PLUGINS", "")
    result = CliRunner().invoke(cli.main, ["plugins"])
    assert "example (meet-example 0.1): disabled" in result.output


def test_serve_refuses_to_start_with_a_missing_plugin(tmp_path) -> None:
    env = {
        "MEET_PLUGINS": "recording",
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
    assert "pip install meet-plugin-recording" in done.stderr


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

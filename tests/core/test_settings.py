"""Settings come from the environment with the old names, normalised, all errors reported at once."""

from __future__ import annotations

from typing import Annotated, ClassVar

import msgspec
import pytest

from meet_core.app import load_settings
from meet_core.plugins import hookimpl
from meet_core.settings import Settings, SettingsError


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("yes", True),
        ("On", True),
        ("1", True),
        ("true", True),
        ("no", False),
        ("off", False),
        ("0", False),
        ("False", False),
    ],
)
def test_booleans_accept_every_usual_spelling(raw: str, expected: bool) -> None:
    assert Settings.from_env({"ALLOW_UNREGISTERED_ROOMS": raw}).core.allow_unregistered_rooms is expected


def test_lists_from_comma_strings_or_json() -> None:
    core = Settings.from_env({"LIVEKIT_DEFAULT_SOURCES": "camera, microphone"}).core
    assert core.livekit_default_sources == ["camera", "microphone"]
    core = Settings.from_env({"LIVEKIT_DEFAULT_SOURCES": '["screen_share"]'}).core
    assert core.livekit_default_sources == ["screen_share"]


def test_django_prefix_and_file_variants(tmp_path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("from-a-file\n")
    core = Settings.from_env({"DJANGO_LANGUAGE_CODE": "fr-fr", "LIVEKIT_API_SECRET_FILE": str(secret)}).core
    assert core.language_code == "fr-fr"
    assert core.livekit_api_secret == "from-a-file"
    # the bare name wins over the prefixed one
    assert (
        Settings.from_env({"LANGUAGE_CODE": "de-de", "DJANGO_LANGUAGE_CODE": "fr-fr"}).core.language_code
        == "de-de"
    )


def test_defaults_are_the_old_systems() -> None:
    core = Settings.from_env({}).core
    assert core.allow_unregistered_rooms is True
    assert core.resource_default_access_level == "public"
    assert core.livekit_api_key == "devkey" and core.livekit_api_secret == "secret"
    assert core.session_cookie_age == 43200


def test_every_invalid_variable_is_reported_together() -> None:
    with pytest.raises(SettingsError) as excinfo:
        Settings.from_env(
            {
                "SESSION_COOKIE_AGE": "soon",
                "ALLOW_UNREGISTERED_ROOMS": "maybe",
                "RESOURCE_DEFAULT_ACCESS_LEVEL": "secret",
            }
        )
    message = str(excinfo.value)
    assert len(excinfo.value.errors) == 3
    for name in ("SESSION_COOKIE_AGE", "ALLOW_UNREGISTERED_ROOMS", "RESOURCE_DEFAULT_ACCESS_LEVEL"):
        assert name in message


def test_plugin_section_errors_are_reported_with_the_cores() -> None:
    from meet_core.testing.example_plugin import ExamplePlugin

    with pytest.raises(SettingsError) as excinfo:
        load_settings(
            {"SESSION_COOKIE_AGE": "x", "EXAMPLE_GREETING": "hi", "EXAMPLE_PASS_HEADER": "[}"},
            plugins=[ExamplePlugin],
        )
    assert "SESSION_COOKIE_AGE" in str(excinfo.value)
    settings, _ = load_settings({"EXAMPLE_GREETING": "hi"}, plugins=[ExamplePlugin])
    assert settings.sections["example"].example_greeting == "hi"  # type: ignore[attr-defined]


def test_dotenv_file_is_read_under_the_environment(tmp_path, monkeypatch) -> None:
    from meet_core.settings import read_environment

    env_file = tmp_path / "meet.env"
    env_file.write_text("LANGUAGE_CODE=nl-nl\nLIVEKIT_API_KEY=from-file\n")
    monkeypatch.setenv("LIVEKIT_API_KEY", "from-env")
    env = read_environment(env_file)
    core = Settings.from_env(env).core
    assert core.language_code == "nl-nl"
    assert core.livekit_api_key == "from-env"


def test_database_url_from_old_db_variables() -> None:
    core = Settings.from_env(
        {
            "DB_ENGINE": "django.db.backends.postgresql",
            "DB_NAME": "meet",
            "DB_USER": "u",
            "DB_PASSWORD": "p@ss",
            "DB_HOST": "db",
            "DB_PORT": "5433",
        }
    ).core
    assert core.build_database_url() == "postgresql+asyncpg://u:p%40ss@db:5433/meet"
    assert Settings.from_env({"DATABASE_URL": "postgres://a@h/d"}).core.build_database_url() == (
        "postgresql+asyncpg://a@h/d"
    )
    assert (
        Settings.from_env({"MEET_DATA_DIR": "/x"}).core.build_database_url()
        == "sqlite+aiosqlite:////x/meet.sqlite3"
    )


# ------------------------------------------------------- names claimed by two sections


class _Debugging:
    """A plugin whose settings field ``debug`` would read the core's ``DEBUG``."""

    name = "debugging"

    class Section(msgspec.Struct, kw_only=True):
        debug: bool = False

    @hookimpl
    def meet_settings_class(self) -> type[msgspec.Struct]:
        return self.Section


class _Prefixed(_Debugging):
    """The same field under a declared prefix: read from ``PREFIXED_DEBUG``, no clash."""

    name = "prefixed"

    class Section(msgspec.Struct, kw_only=True):
        env_prefix: ClassVar[str] = "PREFIXED_"
        debug: bool = False


class _FileClash(_Debugging):
    """Claims ``SECRET_KEY_FILE``, the file variant of the core's ``SECRET_KEY``."""

    name = "fileclash"

    class Section(msgspec.Struct, kw_only=True):
        secret_key_file: str = ""


def test_a_plugin_field_claiming_a_core_variable_stops_start_up() -> None:
    with pytest.raises(SettingsError) as excinfo:
        load_settings({}, plugins=[_Debugging])
    message = str(excinfo.value)
    assert "DEBUG is claimed by core (field debug) and by plugin 'debugging' (field debug)" in message
    assert "DJANGO_DEBUG" in message and "DEBUG_FILE" in message
    with pytest.raises(SettingsError, match=r"SECRET_KEY_FILE is claimed by core .*'fileclash'"):
        load_settings({}, plugins=[_FileClash])


def test_two_plugins_claiming_one_variable_stop_start_up() -> None:
    class Other(_Prefixed):
        name = "other"

    with pytest.raises(SettingsError, match=r"PREFIXED_DEBUG is claimed by plugin 'prefixed' .* 'other'"):
        load_settings({}, plugins=[_Prefixed, Other])


def test_an_env_prefix_keeps_a_plugin_section_apart() -> None:
    settings, _ = load_settings({"DEBUG": "false", "PREFIXED_DEBUG": "yes"}, plugins=[_Prefixed])
    assert settings.sections["prefixed"].debug is True  # type: ignore[attr-defined]
    assert settings.core.debug is False


# ---------------------------------------------------------------------------- meet config


def test_meet_config_prints_every_setting_with_its_source(tmp_path, monkeypatch) -> None:
    from click.testing import CliRunner

    from meet_core import cli

    monkeypatch.chdir(tmp_path)
    for name in ("MEET_PLUGINS", "MEET_ENV_FILE", "DEBUG", "LANGUAGE_CODE", "LIVEKIT_API_SECRET"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / ".env").write_text("DEBUG=true\nDB_PASSWORD=hunter2\n")
    (tmp_path / "secret").write_text("s3cr3t-from-file\n")
    result = CliRunner().invoke(
        cli.main,
        ["config"],
        env={
            "MEET_DATA_DIR": str(tmp_path),
            "MEET_PLUGINS": "lobby",
            "DJANGO_LANGUAGE_CODE": "fr-fr",
            "LIVEKIT_API_SECRET_FILE": str(tmp_path / "secret"),
            "OIDC_RP_CLIENT_SECRET": "client-secret-value",
        },
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "[core]" and "[lobby]" in lines
    assert 'LANGUAGE_CODE = "fr-fr"  (DJANGO_LANGUAGE_CODE from environment)' in lines
    assert f"DEBUG = true  (DEBUG from {tmp_path.resolve()}/.env)" in lines
    assert f"DB_PASSWORD = ********  (DB_PASSWORD from {tmp_path.resolve()}/.env)" in lines
    assert (
        f"LIVEKIT_API_SECRET = ********  (file {tmp_path.resolve()}/secret "
        "(LIVEKIT_API_SECRET_FILE from environment))"
    ) in lines
    assert "OIDC_RP_CLIENT_SECRET = ********  (OIDC_RP_CLIENT_SECRET from environment)" in lines
    assert 'LOBBY_KEY_PREFIX = "room_lobby"  (default)' in lines
    assert "SECRET_KEY = null  (default)" in lines
    assert "hunter2" not in result.output and "s3cr3t" not in result.output
    assert "client-secret-value" not in result.output
    assert "[subtitles]" not in lines  # only enabled plugins


def test_a_field_can_be_marked_secret_or_not() -> None:
    from meet_core.settings.sources import is_secret

    class Section(msgspec.Struct):
        webhook_signing: Annotated[str, msgspec.Meta(extra={"secret": True})] = ""
        public_token_name: Annotated[str, msgspec.Meta(extra={"secret": False})] = ""
        api_token: str = ""
        key_prefix: str = ""

    assert is_secret(Section, "webhook_signing")
    assert not is_secret(Section, "public_token_name")
    assert is_secret(Section, "api_token")
    assert not is_secret(Section, "key_prefix")

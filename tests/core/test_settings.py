"""Settings come from the environment with the old names, normalised, all errors reported at once."""

from __future__ import annotations

import pytest

from meet_core.app import load_settings
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

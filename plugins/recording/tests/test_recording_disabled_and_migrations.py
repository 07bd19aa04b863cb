"""Disabled plugin: 404s, the core's `/config/` defaults, no tables; the lineage builds the models."""

from __future__ import annotations

import asyncio
import sys

import pytest
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import create_async_engine

from meet_core.testing import schema_diff
from meet_recording.models import Recording

API = "/api/v1.0"
TABLES = {"meet_recording", "meet_recording_access"}
OFF = {"is_enabled": False, "available_modes": [], "expiration_days": None, "max_duration": None}


def _tables(url: str) -> set[str]:
    async def read() -> set[str]:
        engine = create_async_engine(url)
        try:
            async with engine.connect() as connection:
                return set(await connection.run_sync(lambda c: inspect(c).get_table_names()))
        finally:
            await engine.dispose()

    return asyncio.run(read())


@pytest.mark.parametrize("env", [{}, {"RECORDING_ENABLE": "true", "MEET_PLUGINS": "lobby"}])
async def test_disabled_plugin_answers_404_and_config_defaults(meet_app, env) -> None:
    meet = await meet_app(env=env, plugins=None)
    user = await meet.create_user()
    room = await meet.create_room(accesses=[(user, "owner")])
    await meet.login(user)
    for method, path in [
        ("POST", f"rooms/{room.id}/start-recording/"),
        ("POST", f"rooms/{room.id}/stop-recording/"),
        ("GET", "recordings/"),
        ("GET", "recordings/media-auth/"),
        ("POST", "recordings/storage-hook/"),
        ("POST", "recordings/external-process-hook/"),
    ]:
        response = await meet.client.request(method, f"{API}/{path}", json={"mode": "transcript"})
        assert response.status_code == 404, path
    config = (await meet.client.get(f"{API}/config/")).json()
    assert config["recording"] == OFF


async def test_the_old_flag_enables_the_installed_plugin(meet_app, s3) -> None:
    s3.create_bucket("meet-media-storage")
    meet = await meet_app(env={"RECORDING_ENABLE": "true", **s3.env("meet-media-storage")}, plugins=None)
    config = (await meet.client.get(f"{API}/config/")).json()
    assert config["recording"] == {
        "is_enabled": True,
        "available_modes": ["screen_recording", "transcript"],
        "expiration_days": None,
        "max_duration": None,
    }


async def test_config_fragment_and_worker_classes_restrict_the_modes(kit) -> None:
    meet = await kit.app(
        RECORDING_EXPIRATION_DAYS="7",
        RECORDING_MAX_DURATION="3600000",
        RECORDING_WORKER_CLASSES='{"transcript": "core.recording.worker.services.AudioCompositeEgress"}',
    )
    assert (await meet.client.get(f"{API}/config/")).json()["recording"] == {
        "is_enabled": True,
        "available_modes": ["transcript"],
        "expiration_days": 7,
        "max_duration": 3600000,
    }
    user = await meet.create_user()
    room = await meet.create_room(accesses=[(user, "owner")])
    await meet.login(user)
    response = await meet.client.post(
        f"{API}/rooms/{room.id}/start-recording/", json={"mode": "screen_recording"}
    )
    assert response.status_code == 400


def test_boto3_is_not_imported_with_the_plugin_class() -> None:
    import subprocess

    code = "import meet_recording.plugin, sys; print('boto3' in sys.modules, 'botocore' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_no_tables_without_the_plugin(meet_cli, empty_database) -> None:
    meet_cli("db", "upgrade", plugins="lobby")
    assert not TABLES & _tables(empty_database)
    output = meet_cli("recordings", "reconcile", plugins="lobby", expect_exit=2)
    assert "No such command 'recordings'" in output


def test_the_migration_lineage_builds_the_plugin_tables(meet_cli, empty_database) -> None:
    assert Recording.__tablename__ in TABLES
    meet_cli("db", "upgrade", plugins="recording")
    assert _tables(empty_database) >= TABLES
    assert schema_diff(empty_database, TABLES) == []
    assert "the migrations match the models" in meet_cli("db", "check", plugins="recording")

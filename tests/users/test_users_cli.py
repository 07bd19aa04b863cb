"""``meet users``: create, list, deactivate and activate against a real database file."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from meet_core.cli import main
from meet_core.db import CORE_MODEL_MODULES, import_models, metadata
from meet_core.users.models import User


@pytest.fixture
def database(tmp_path, monkeypatch):
    """An empty SQLite database with the schema; the CLI reads DATABASE_URL."""
    url = f"sqlite+aiosqlite:///{tmp_path}/cli.sqlite3"
    import_models(CORE_MODEL_MODULES)

    async def setup() -> None:
        engine = create_async_engine(url)
        async with engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
        await engine.dispose()

    asyncio.run(setup())
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("MEET_ENV_FILE", str(tmp_path / "no.env"))
    return url


def users_in(url: str) -> list[User]:
    async def read() -> list[User]:
        engine = create_async_engine(url)
        async with engine.connect() as connection:
            rows = (await connection.execute(select(User).order_by(User.created_at))).all()
        await engine.dispose()
        return rows

    return asyncio.run(read())


def run(*args: str):
    return CliRunner().invoke(main, ["users", *args], catch_exceptions=False)


def test_create_list_deactivate_activate(database):
    created = run("create", "--email", "Ops@Example.com", "--full-name", "Op Erator", "--language", "fr-fr")
    assert created.exit_code == 0, created.output
    user_id = created.output.strip()
    uuid.UUID(user_id)
    (user,) = users_in(database)
    assert (
        str(user.id),
        user.email,
        user.full_name,
        user.sub,
        user.language,
        user.timezone,
        user.is_active,
    ) == (
        user_id,
        "Ops@Example.com",
        "Op Erator",
        None,
        "fr-fr",
        "UTC",
        True,
    )

    listing = run("list")
    assert listing.exit_code == 0
    assert listing.output.startswith(f"{user_id}\t-\tOps@Example.com\tOp Erator\tactive\t")

    off = run("deactivate", "ops@example.com")
    assert off.exit_code == 0, off.output
    assert off.output.strip() == f"{user_id} deactivated"
    assert users_in(database)[0].is_active is False
    assert run("list", "--inactive").output.startswith(user_id)

    on = run("activate", user_id)
    assert on.output.strip() == f"{user_id} reactivated"
    assert users_in(database)[0].is_active is True
    assert run("list", "--inactive").output == ""


def test_create_refuses_duplicates_and_bad_values(database):
    assert run("create", "--email", "a@example.com", "--sub", "sub-a").exit_code == 0
    duplicate = CliRunner().invoke(main, ["users", "create", "--email", "A@example.com"])
    assert duplicate.exit_code == 1
    assert "already exists" in duplicate.output
    same_sub = CliRunner().invoke(main, ["users", "create", "--email", "b@example.com", "--sub", "sub-a"])
    assert same_sub.exit_code == 1
    bad_tz = CliRunner().invoke(
        main, ["users", "create", "--email", "c@example.com", "--timezone", "Mars/Base"]
    )
    assert bad_tz.exit_code == 2
    bad_lang = CliRunner().invoke(main, ["users", "create", "--email", "c@example.com", "--language", "xx"])
    assert bad_lang.exit_code == 2
    assert len(users_in(database)) == 1


def test_deactivate_unknown_or_ambiguous(database):
    missing = CliRunner().invoke(main, ["users", "deactivate", "nobody@example.com"])
    assert missing.exit_code == 1
    assert "no user matches" in missing.output
    run("create", "--email", "X@example.com", "--sub", "s1")
    run("create", "--email", "y@example.com", "--sub", "x@example.com")  # one's email, the other's sub
    ambiguous = CliRunner().invoke(main, ["users", "deactivate", "x@example.com"])
    assert ambiguous.exit_code == 1
    assert "several users" in ambiguous.output


def test_list_filters_on_email(database):
    run("create", "--email", "alice@example.com")
    run("create", "--email", "bob@example.com")
    output = run("list", "--email", "ALI").output
    assert "alice@example.com" in output
    assert "bob@example.com" not in output


def test_missing_schema_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/empty.sqlite3")
    monkeypatch.setenv("MEET_ENV_FILE", str(tmp_path / "no.env"))
    result = CliRunner().invoke(main, ["users", "list"])
    assert result.exit_code == 1
    assert "meet db upgrade" in result.output

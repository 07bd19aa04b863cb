"""The real migrations, through ``meet db``, on SQLite and on PostgreSQL (``MEET_TEST_DATABASE_URL``).

* ``meet db upgrade`` builds, on an empty database, exactly the schema of the models of the
  core and of the enabled plugins (the rest of the suite builds its tables with ``create_all``:
  this is where the migrations themselves run, once per run on each database).
* A plugin with a table can be enabled, disabled and enabled again: ``meet db upgrade`` works
  at each step and the plugin's rows are kept.
* ``meet db revision --plugin NAME --autogenerate`` writes only that plugin's tables, into its
  own lineage (branch label = its name, no ``down_revision``).
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import inspect, text

from meet_core import cli
from meet_core.testing.example_plugin import note_model
from meet_core.testing.pytest_plugin import on_database, schema_diff

CORE_TABLES = {"meet_user", "meet_room", "meet_resource_access"}
EXAMPLE_REVISION = "a1b2c3d4e5f6"


@pytest.fixture
def meet(meet_cli: Any) -> Any:
    """``meet(*args, plugins="lobby,example")``: the ``meet`` command line on ``empty_database``."""
    return meet_cli


def _versions(url: str) -> set[str]:
    query = text("SELECT version_num FROM alembic_version")
    return set(on_database(url, lambda c: c.execute(query).scalars()))


def test_upgrade_builds_the_schema_of_the_models(meet, empty_database, example_distribution) -> None:
    """Core and an enabled plugin, from an empty database: nothing differs from the models."""
    assert "database is up to date" in meet("db", "upgrade", plugins="lobby,example")
    assert schema_diff(empty_database, CORE_TABLES | {"example_note"}) == []
    assert EXAMPLE_REVISION in _versions(empty_database)
    assert "the migrations match the models" in meet("db", "check", plugins="lobby,example")


def test_a_plugin_with_a_table_can_be_disabled_and_enabled_again(
    meet, empty_database, example_distribution
) -> None:
    meet("db", "upgrade", plugins="lobby,example")
    on_database(
        empty_database,
        lambda c: c.execute(
            text(
                "INSERT INTO example_note (id, text, created_at, updated_at) "
                "VALUES (:id, 'kept', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            ),
            {"id": "00000000-0000-0000-0000-000000000001" if "postgresql" in empty_database else b"1" * 16},
        ),
    )
    # Disabled: its applied revision stays known, its lineage is left alone.
    meet("db", "upgrade", plugins="lobby")
    assert EXAMPLE_REVISION in _versions(empty_database)
    assert "the migrations match the models" in meet("db", "check", plugins="lobby")
    # Enabled again: nothing to do, the rows are there.
    meet("db", "upgrade", plugins="lobby,example")
    texts = on_database(
        empty_database, lambda c: c.execute(text("SELECT text FROM example_note")).scalars().all()
    )
    assert texts == ["kept"]
    # Removed for good, while disabled: its lineage goes back to its base, the table is dropped.
    meet("db", "downgrade", "--revision", "example@base", plugins="lobby")
    assert EXAMPLE_REVISION not in _versions(empty_database)
    assert "example_note" not in on_database(empty_database, lambda c: inspect(c).get_table_names())
    meet("db", "upgrade", plugins="lobby")


SCRATCH_PLUGIN = """
from pathlib import Path

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from meet_core.db import Base
from meet_core.plugins import hookimpl


class ScratchItem(Base):
    __tablename__ = "scratch_item"
    label: Mapped[str] = mapped_column(String(50))


class ScratchPlugin:
    name = "scratch"

    @hookimpl
    def meet_model_modules(self):
        return [__name__]

    @hookimpl
    def meet_migration_locations(self):
        return [str(Path(__file__).parent / "scratch_migrations")]
"""


@pytest.fixture
def scratch_distribution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An installed plugin ``scratch`` (outside the repository) with a table and no revision yet."""
    site = tmp_path / "scratch-site"
    info = site / "meet_scratch-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: meet-scratch\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[meet.plugins]\nscratch = scratch_plugin:ScratchPlugin\n")
    (site / "scratch_plugin.py").write_text(textwrap.dedent(SCRATCH_PLUGIN))
    monkeypatch.syspath_prepend(str(site))
    return site / "scratch_migrations"


def test_revision_of_a_plugin_writes_only_its_tables(meet, empty_database, scratch_distribution) -> None:
    note_model()  # another plugin's table in the shared metadata, absent from the database
    meet("db", "upgrade", plugins="lobby,scratch")  # the core only: scratch has no revision yet
    meet(
        "db",
        "revision",
        "--plugin",
        "scratch",
        "-m",
        "scratch items",
        "--autogenerate",
        plugins="lobby,scratch",
    )
    [first] = list(scratch_distribution.glob("*.py"))
    source = first.read_text()
    assert "op.create_table('scratch_item'" in source or 'op.create_table("scratch_item"' in source
    assert not re.search(r"meet_(room|user|resource_access)|example_note|alter_column", source)
    assert re.search(r"^down_revision: str \| None = None$", source, re.M)
    assert re.search(r"^branch_labels: .* = \('scratch',\)$", source, re.M)

    meet("db", "upgrade", plugins="lobby,scratch")
    assert schema_diff(empty_database, CORE_TABLES | {"scratch_item"}) == []
    # The next revision extends the plugin's lineage and, the models unchanged, is empty.
    meet("db", "revision", "--plugin", "scratch", "-m", "nothing", "--autogenerate", plugins="lobby,scratch")
    [second] = [path for path in scratch_distribution.glob("*.py") if path != first]
    first_id = re.search(r"^revision: str = '(\w+)'$", source, re.M)
    assert first_id is not None
    assert f"down_revision: str | None = '{first_id.group(1)}'" in second.read_text()
    assert "op." not in second.read_text().split("def upgrade()")[1]


def test_revision_of_a_disabled_plugin_is_refused(meet, scratch_distribution, monkeypatch) -> None:
    monkeypatch.setenv("MEET_PLUGINS", "lobby")
    result = CliRunner().invoke(cli.main, ["db", "revision", "--plugin", "scratch", "-m", "x"])
    assert result.exit_code == 1
    assert "plugin 'scratch' is not enabled or declares no migrations folder" in result.output
    assert not scratch_distribution.exists()

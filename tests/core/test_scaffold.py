"""``meet plugin new``: the scaffolded plugin is importable, lint-clean and its test passes.

CI also installs one into a fresh virtualenv from outside the repository (``make plugin-kit``);
here it runs from the folder itself, on this environment's meet-core.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from meet_core.cli import main


def scaffold(tmp_path: Path, name: str = "hello_world") -> Path:
    result = CliRunner().invoke(main, ["plugin", "new", name, "--directory", str(tmp_path)])
    assert result.exit_code == 0, result.output
    return tmp_path / f"meet-plugin-{name.replace('_', '-')}"


def test_the_scaffold_has_every_part_of_a_plugin(tmp_path):
    folder = scaffold(tmp_path)
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    [migration] = [f for f in files if f.startswith("meet_hello_world/migrations/versions/")]
    assert files == sorted(
        [
            "README.md",
            "pyproject.toml",
            "meet_hello_world/__init__.py",
            "meet_hello_world/plugin.py",
            "meet_hello_world/models.py",
            "meet_hello_world/routes.py",
            "meet_hello_world/py.typed",
            migration,
            "tests/conftest.py",
            "tests/test_plugin.py",
        ]
    )
    pyproject = (folder / "pyproject.toml").read_text()
    assert 'name = "meet-plugin-hello-world"' in pyproject
    assert 'hello_world = "meet_hello_world.plugin:HelloWorldPlugin"' in pyproject
    assert 'branch_labels: str | Sequence[str] | None = ("hello_world",)' in (folder / migration).read_text()


def test_the_scaffolded_plugin_passes_its_test_and_imports_only_the_api(tmp_path):
    folder = scaffold(tmp_path)
    sources = "\n".join(p.read_text() for p in (folder / "meet_hello_world").rglob("*.py"))
    imported = {
        line.split()[1]
        for line in sources.splitlines()
        if line.startswith(("from meet_core", "import meet_core"))
    }
    assert imported == {"meet_core"}  # ``from meet_core import api`` only

    # Its entry point, as ``pip install`` would declare it (CI installs it for real: make plugin-kit).
    info = tmp_path / "site" / "meet_plugin_hello_world-0.1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: meet-plugin-hello-world\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text(
        "[meet.plugins]\nhello_world = meet_hello_world.plugin:HelloWorldPlugin\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(folder), str(info.parent)])}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist"],
        cwd=folder, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    assert "2 passed" in run.stdout
    lint = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "."],
        cwd=folder, capture_output=True, text=True,
    )  # fmt: skip
    assert lint.returncode == 0, lint.stdout + lint.stderr


@pytest.mark.parametrize("name", ["Hello", "1st", "hello-world", "", "a" * 41])
def test_a_bad_name_is_refused(tmp_path, name):
    result = CliRunner().invoke(main, ["plugin", "new", name, "--directory", str(tmp_path)])
    assert result.exit_code == 1
    assert "is not a plugin name" in result.output
    assert list(tmp_path.iterdir()) == []


def test_an_existing_folder_is_not_overwritten(tmp_path):
    scaffold(tmp_path)
    result = CliRunner().invoke(main, ["plugin", "new", "hello_world", "--directory", str(tmp_path)])
    assert result.exit_code == 1
    assert "already exists" in result.output

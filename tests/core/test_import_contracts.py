"""The import contracts of ``make lint`` (pyproject ``[tool.importlinter]``) hold, and bite.

A plugin importing a core internal must break them: a throwaway plugin package is linted with
the project's own contracts, once importing ``meet_core.api`` only, once an internal module.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

import meet_core.api as api

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _config() -> dict[str, Any]:
    with (ROOT / "pyproject.toml").open("rb") as file:
        return tomllib.load(file)["tool"]["importlinter"]  # type: ignore[no-any-return]


def _contract(config: dict[str, Any], contract_id: str) -> dict[str, Any]:
    return next(c for c in config["contracts"] if c["id"] == contract_id)


def _lint(config_file: Path, pythonpath: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(pythonpath), env.get("PYTHONPATH", "")])
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-logo", "--no-cache", str(config_file)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_every_official_plugin_package_is_under_the_contracts():
    config = _config()
    packages = {p.name for p in ROOT.glob("plugins/*/meet_*") if (p / "__init__.py").exists()}
    assert packages
    assert packages <= set(config["root_packages"])
    assert packages <= set(_contract(config, "core-without-plugins")["forbidden_modules"])


def test_the_project_keeps_its_contracts():
    result = _lint(ROOT / "pyproject.toml")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("import_line", "kept"),
    [
        ("from meet_core.api import Room, hookimpl", True),
        ("from meet_core.testing import sign_webhook", True),
        ("from meet_core.rooms.models import Room", False),
        ("import meet_core.state", False),
        ("from meet_core import settings", False),
    ],
)
def test_a_plugin_importing_an_internal_breaks_the_plugin_api_contract(tmp_path, import_line, kept):
    package = tmp_path / "src" / "meet_probe"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text('"""A probe plugin."""\n')
    (package / "routes.py").write_text(f"{import_line}\n")
    config = _config()
    contract = _contract(config, "plugin-api")
    lines = [
        "[importlinter]",
        "root_packages =\n    meet_core\n    meet_probe",
        "exclude_type_checking_imports = True",
        "[importlinter:contract:plugin-api]",
        f"name = {contract['name']}",
        "type = protected",
        "protected_modules = meet_core",
        "allowed_importers = meet_core",
        "ignore_imports =\n" + "\n".join(f"    {i}" for i in contract["ignore_imports"]),
        "unmatched_ignore_imports_alerting = none",
    ]
    config_file = tmp_path / ".importlinter"
    config_file.write_text("\n".join(lines) + "\n")
    result = _lint(config_file, tmp_path / "src")
    assert (result.returncode == 0) is kept, result.stdout + result.stderr
    if not kept:
        assert "meet_probe.routes -> meet_core." in result.stdout


def test_the_api_names_are_documented():
    """Each name of ``meet_core.api.__all__`` has a line in docs/plugin-api.md and a docstring."""
    doc = (ROOT / "docs" / "plugin-api.md").read_text()
    for name in api.__all__:
        assert f"`{name}`" in doc, f"{name} is missing from docs/plugin-api.md"
        value = getattr(api, name)
        if callable(value) and not isinstance(value, type(api.hookimpl)):
            assert value.__doc__, f"meet_core.api.{name} has no docstring"


def test_require_accepts_this_major_up_to_this_minor():
    major, minor = (int(part) for part in api.VERSION.split("."))
    api.require(f"{major}.0")
    api.require(api.VERSION)
    with pytest.raises(api.ApiVersionError, match=api.VERSION):
        api.require(f"{major}.{minor + 1}")
    with pytest.raises(api.ApiVersionError):
        api.require(f"{major + 1}.0")
    with pytest.raises(ValueError):
        api.require("one")

"""Shared fixtures. The app fixtures come from ``meet_core.testing.pytest_plugin`` (a pytest11
entry point of the installed package); from a bare source tree, it is loaded here."""

from __future__ import annotations

import importlib.metadata

import pytest

_installed = any(
    ep.value == "meet_core.testing.pytest_plugin" for ep in importlib.metadata.entry_points(group="pytest11")
)
pytest_plugins = [] if _installed else ["meet_core.testing.pytest_plugin"]


@pytest.fixture
def example_distribution(tmp_path, monkeypatch):
    """Make ``importlib.metadata`` see a distribution ``meet-example`` with the example plugin."""
    site = tmp_path / "site"
    info = site / "meet_example-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: meet-example\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[meet.plugins]\nexample = meet_core.testing.example_plugin:ExamplePlugin\n"
    )
    monkeypatch.syspath_prepend(str(site))
    return site

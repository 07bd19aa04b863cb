"""Shared fixtures. The app fixtures come from ``meet_core.testing.pytest_plugin`` (a pytest11
entry point of the installed package); from a bare source tree, it is loaded here."""

from __future__ import annotations

import importlib.metadata
import os
import sys

import pytest

_installed = any(
    ep.value == "meet_core.testing.pytest_plugin" for ep in importlib.metadata.entry_points(group="pytest11")
)
pytest_plugins = [] if _installed else ["meet_core.testing.pytest_plugin"]


@pytest.fixture
def plugin_distribution(tmp_path, monkeypatch):
    """Factory: ``plugin_distribution("meet-x", {"x": "module:Class"})`` makes ``importlib.metadata``
    see a distribution with those ``meet.plugins`` entry points."""
    site = tmp_path / "site"

    def add(name: str, entry_points: dict[str, str]) -> None:
        info = site / f"{name.replace('-', '_')}-0.1.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
        lines = "".join(f"{key} = {value}\n" for key, value in entry_points.items())
        (info / "entry_points.txt").write_text(f"[meet.plugins]\n{lines}")
        if str(site) not in sys.path:
            monkeypatch.syspath_prepend(str(site))

    return add


@pytest.fixture
def example_distribution(plugin_distribution):
    """Make ``importlib.metadata`` see a distribution ``meet-example`` with the example plugin."""
    plugin_distribution("meet-example", {"example": "meet_core.testing.example_plugin:ExamplePlugin"})


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Echo the one-line summaries tests record (``record_property("summary", ...)``: the fuzz
    run's), whatever the verbosity and also from xdist workers; and say when the browser suite
    (tests/browser/, which needs a built frontend) did not run."""
    for reports in terminalreporter.stats.values():
        for report in reports:
            if getattr(report, "when", None) != "call":  # teardown reports carry them again
                continue
            for name, value in getattr(report, "user_properties", ()):
                if name == "summary":
                    terminalreporter.write_line(str(value))
    if not os.environ.get("MEET_FRONTEND_DIST"):
        terminalreporter.write_line("browser tests: not run (MEET_FRONTEND_DIST unset)")

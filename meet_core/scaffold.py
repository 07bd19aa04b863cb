"""``meet plugin new NAME``: a working plugin folder, from the templates in ``templates/plugin``.

What it writes is the path ``docs/writing-plugins.md`` walks through: an entry point, a name, a
settings section, a route, a ``/config/`` fragment, a table with its own migration lineage, a
room-created hook, and a test on the fixtures of ``meet_core.testing``. CI installs a scaffolded
plugin into a fresh virtualenv and runs its test (``make plugin-kit``), so the path stays true.
"""

from __future__ import annotations

import datetime
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

import jinja2

from meet_core.api import VERSION

TEMPLATES = Path(__file__).parent / "templates" / "plugin"

#: A plugin name: a Python identifier in lower case (it names the package ``meet_<name>``).
NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,39}")


class ScaffoldError(Exception):
    """A name or a target folder that cannot be used."""


@dataclass(frozen=True)
class PluginNames:
    """Every name derived from the plugin's short name."""

    name: str

    @property
    def dist(self) -> str:
        return f"meet-plugin-{self.name.replace('_', '-')}"

    @property
    def package(self) -> str:
        return f"meet_{self.name}"

    @property
    def camel(self) -> str:
        return "".join(part.capitalize() for part in self.name.split("_"))

    def context(self) -> dict[str, str]:
        return {
            "name": self.name,
            "dist": self.dist,
            "package": self.package,
            "class_name": f"{self.camel}Plugin",
            "settings_class": f"{self.camel}Settings",
            "model_class": f"{self.camel}Greeting",
            "table": f"{self.name}_greeting",
            "env_prefix": f"{self.name.upper()}_",
            "api_version": VERSION,
            "revision": secrets.token_hex(6),
            "date": datetime.date.today().isoformat(),
        }


def new_plugin(name: str, directory: Path) -> Path:
    """Write the plugin ``name`` into ``directory/<distribution name>``; return that folder."""
    if not NAME_PATTERN.fullmatch(name):
        raise ScaffoldError(
            f"{name!r} is not a plugin name: lower-case letters, digits and _, starting with a letter"
        )
    names = PluginNames(name)
    target = directory / names.dist
    if target.exists():
        raise ScaffoldError(f"{target} already exists")
    context = names.context()
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # Python, TOML and Markdown, not HTML
    )
    for template in sorted(TEMPLATES.rglob("*.jinja")):
        relative = template.relative_to(TEMPLATES).with_suffix("")  # drop .jinja
        parts = [names.package if part == "package" else part for part in relative.parts]
        if parts[-1] == "initial.py":
            parts[-1] = f"{context['revision']}_initial.py"
        path = target.joinpath(*parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        source = template.relative_to(TEMPLATES).as_posix()
        path.write_text(environment.get_template(source).render(context))
    return target

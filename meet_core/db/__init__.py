"""Database: SQLAlchemy 2 async through advanced-alchemy; one shared metadata for all models.

Models derive from :class:`Base` (a UUID primary key plus ``created_at``/``updated_at``).
Plugins' model modules join the same metadata when imported (``meet_model_modules``).
"""

from __future__ import annotations

from advanced_alchemy.base import UUIDAuditBase, orm_registry

Base = UUIDAuditBase
metadata = orm_registry.metadata

CORE_MODEL_MODULES = ["meet_core.users.models", "meet_core.rooms.models"]


def import_models(modules: list[str]) -> None:
    """Import model modules so their tables are registered in :data:`metadata`."""
    import importlib

    for name in modules:
        importlib.import_module(name)

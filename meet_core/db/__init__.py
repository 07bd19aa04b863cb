"""Database: SQLAlchemy 2 async through advanced-alchemy; one shared metadata for all models.

Models derive from :class:`Base` (a UUID primary key plus ``created_at``/``updated_at``).
Plugins' model modules join the same metadata when imported (``meet_model_modules``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from advanced_alchemy.base import UUIDAuditBase, orm_registry
from sqlalchemy.orm import configure_mappers
from sqlalchemy.orm.attributes import instance_dict

Base = UUIDAuditBase
metadata = orm_registry.metadata

CORE_MODEL_MODULES = ["meet_core.users.models", "meet_core.rooms.models"]


def import_models(modules: list[str]) -> None:
    """Import model modules so their tables are registered in :data:`metadata`."""
    import importlib

    for name in modules:
        importlib.import_module(name)


M = TypeVar("M", bound=Base)


def built_as_loaded(model: type[M], values: Mapping[str, Any]) -> M:
    """A transient ``model`` holding ``values``, built as SQLAlchemy's loading builds instances.

    An empty instance, then its ``__dict__``: ``model(**values)`` fires an attribute event per
    column, several times the cost (the logged-in reads build a user per request, the room
    list up to 20 rooms). ``model()`` would configure the mappers in a fresh process: done here.
    """
    mapper = model.__mapper__
    if not mapper.configured:
        configure_mappers()
    instance: M = mapper.class_manager.new_instance()
    instance_dict(instance).update(values)
    return instance

"""``meet serve``'s worker factory: the application, with the start-up heap frozen and a higher
young-generation threshold."""

from __future__ import annotations

import gc

from litestar import Litestar

from meet_core.app import create_served_app


def test_served_app_freezes_what_start_up_built(tmp_path, monkeypatch):
    monkeypatch.setenv("MEET_ENV_FILE", str(tmp_path / "none.env"))
    monkeypatch.setenv("MEET_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/meet.sqlite3")
    monkeypatch.setenv("MEET_PLUGINS", "")
    gc.unfreeze()
    thresholds = gc.get_threshold()
    try:
        app = create_served_app()
        assert isinstance(app, Litestar)
        # Routes, models and settings are out of the collector's sight: full collections
        # under load walk only what requests create.
        assert gc.get_freeze_count() > 10_000
        # Young collections wait for 10,000 new container objects, not 700.
        assert gc.get_threshold() == (10_000, 10, 10)
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)

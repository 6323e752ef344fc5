"""``mamori serve``'s app as the command builds it: the process is set for a writer thread beside the event loop."""

from __future__ import annotations

import gc
import sys
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine

from mamori.cli.guard import SWITCH_INTERVAL_S, app_from_settings
from mamori.demo import exchange as sample
from support.processes import child_url


def test_serve_bounds_the_writer_s_wait_for_the_interpreter_and_freezes_start_up_objects(
    engine: Engine, database, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    key = tmp_path / "guard.key"
    sample.set_up_exchange(engine, guard_key_path=key, now=datetime.now(UTC))
    before = sys.getswitchinterval()
    try:
        settings = {"database": child_url(database), "guard_key": str(key), "lists": []}
        settings |= dict.fromkeys(("ofac", "fbi", "intel", "index"))
        app = app_from_settings(settings)
        assert app is not None
        assert sys.getswitchinterval() == SWITCH_INTERVAL_S < before
        assert gc.get_freeze_count() > 0
    finally:
        sys.setswitchinterval(before)
        gc.unfreeze()

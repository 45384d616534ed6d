import os
import time
from pathlib import Path

import pytest

from foleyvae.utils.atomic import TMP_PREFIX, atomic_path, atomic_write_text


def test_failed_write_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "a.txt"
    atomic_write_text(target, "good")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert target.read_text() == "good" and [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_stale_temps_of_killed_writers_are_removed(tmp_path: Path) -> None:
    target = tmp_path / "c.ckpt"
    stale = tmp_path / f"{TMP_PREFIX}c.ckpt.abc123.ckpt"
    fresh = tmp_path / f"{TMP_PREFIX}c.ckpt.def456.ckpt"
    stale.write_text("x")
    fresh.write_text("y")
    old = time.time() - 3600
    os.utime(stale, (old, old))
    atomic_write_text(target, "ok")
    assert not stale.exists() and fresh.exists()  # a write possibly in flight is left alone

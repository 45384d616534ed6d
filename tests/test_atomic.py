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


def test_swap_in_dir_and_dead_staging_cleanup(tmp_path: Path) -> None:
    import socket
    import subprocess
    import sys

    from foleyvae.utils.atomic import remove_dead_staging, staging_dir, swap_in_dir

    out = tmp_path / "ds"
    out.mkdir()
    (out / "v").write_text("old")
    new = staging_dir(out, "prepare")
    (new / "v").write_text("new")
    swap_in_dir(new, out)
    assert (out / "v").read_text() == "new" and [p.name for p in tmp_path.iterdir()] == ["ds"]
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    host = socket.gethostname()
    left = tmp_path / f".ds.prepare-{dead.stdout.strip()}@{host}-abc123"  # a killed writer's folder
    mine = staging_dir(out, "prepare")  # a live writer's (this process)
    other = tmp_path / f".ds.prepare-{dead.stdout.strip()}@another-host-abc123"  # a shared file system's
    for d in (left, other):
        (d / "shards").mkdir(parents=True)
    assert remove_dead_staging(out) == [left]
    assert not left.exists() and mine.exists() and other.exists()

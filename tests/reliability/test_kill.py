"""SIGKILL the real CLI mid-write: ``foleyvae prepare`` and ``foleyvae export`` must never leave a half-written output.

Each test kills the CLI (a subprocess) first at seeded random times, then just after each of its filesystem steps
in turn (renames, unlinks, the folder swap: see ``_killpoint.py``), so every commit point is hit deterministically,
not only the ones a timer happens to land on. After every kill the output must be the previous complete one or the
new complete one (a dataset compared byte for byte with references; a model loadable by load_model with its
checksum), with no temp file visible as a dataset or a model and no orphaned worker process; a final re-run must
succeed. Counts (seed SEED): prepare N_PREPARE_TIMED = 8 timed kills + one kill after each of its steps (8-9);
export N_EXPORT_TIMED = 2 timed kills + one after each write step but the last (2); ``FOLEYVAE_KILL_REPEAT=k``
(make soak) multiplies the timed kills by k. The assertion messages list
every kill (when, exit code, which version was left).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.conftest import KILL_REPEAT

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="SIGKILL semantics and /proc process checks: Linux")

SEED = 1212
N_PREPARE_TIMED = 8 * KILL_REPEAT
N_EXPORT_TIMED = 2 * KILL_REPEAT
KILLPOINT = Path(__file__).with_name("_killpoint.py")


# ------------------------------------------------------------------------------------------- helpers


def _group_alive(pgid: int) -> list[int]:
    """Live (non-zombie) processes of process group ``pgid``, from /proc."""
    alive = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) ": state ppid pgrp ...
        if int(fields[2]) == pgid and fields[0] != "Z":
            alive.append(int(d.name))
    return alive


def _run_cli(argv: list[str], spec: dict[str, Any] | None, kill_at: float | None = None) -> tuple[int, float]:
    """Run the CLI in its own process group (directly, or through _killpoint.py when ``spec`` is given), SIGKILL it
    after ``kill_at`` seconds if it is still running. Returns (exit code, seconds); asserts that no process of the
    group (pool workers...) outlives it."""
    cmd = [sys.executable, "-m", "foleyvae.cli.main", *argv]
    if spec is not None:
        cmd = [sys.executable, str(KILLPOINT), json.dumps(spec), "--", *argv]
    t0 = time.perf_counter()
    # stderr to a file, not a pipe: an orphaned worker would hold a pipe open and hang communicate()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
        try:
            try:
                proc.wait(timeout=kill_at if kill_at is not None else 300)
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
            seconds = time.perf_counter() - t0
            deadline = time.monotonic() + 5.0
            while _group_alive(proc.pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            orphans = _group_alive(proc.pid)
        finally:
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # only this test's own process group
            except ProcessLookupError:
                pass
        err.seek(0)
        message = err.read().decode(errors="replace")[-2000:]
    assert not orphans, f"{argv[0]} killed: {len(orphans)} child processes outlived it"
    assert proc.returncode in (0, -signal.SIGKILL), f"{argv[0]} failed ({proc.returncode}): {message}"
    return proc.returncode, seconds


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _visible(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))


def _kill_plan(rng: random.Random, n_timed: int, seconds: float, lo: float) -> list[tuple[str, float]]:
    return [("timed", rng.uniform(lo, 1.0) * seconds) for _ in range(n_timed)]


# ------------------------------------------------------------------------------------------- prepare


def _write_sources(root: Path, names: list[str], seed: int) -> Path:
    import soundfile as sf

    from tests.conftest import footstep

    for i, name in enumerate(names):
        mat = ("wood", "metal", "gravel")[i % 3]
        p = root / mat / f"{name}.wav"
        p.parent.mkdir(parents=True, exist_ok=True)
        sf.write(str(p), footstep(mat, dur=0.25 + 0.05 * i, seed=seed + i), 44100)
    return root


def test_prepare_killed_anywhere_leaves_the_old_or_the_new_dataset(tmp_path: Path) -> None:
    from foleyvae.data.dataset import FoleyDataset
    from foleyvae.data.prepare import PrepareOptions, prepare_dataset, read_dataset_info

    src = {
        "A": _write_sources(tmp_path / "src_a", [f"a{i}" for i in range(16)], seed=0),
        "B": _write_sources(tmp_path / "src_b", [f"b{i}" for i in range(24)], seed=100),
    }
    refs = {}
    for v, s in src.items():
        ref = tmp_path / "refs" / v
        prepare_dataset([s], ref, PrepareOptions(), workers=0)
        refs[v] = _tree(ref)
    data = tmp_path / "data"
    out = data / "ds"

    def argv(v: str) -> list[str]:
        return ["prepare", str(src[v]), "-o", str(out), "--workers", "2"]

    def version() -> str:
        tree = _tree(out)
        found = [v for v, ref in refs.items() if tree == ref]
        assert found, f"{out} is neither dataset A nor B: {sorted(tree)}"
        info = read_dataset_info(out)
        ds = FoleyDataset(out, "train", n_samples=4096)
        assert info["n_files"] == len(list(src[found[0]].rglob("*.wav")))
        assert ds[0].shape == (1, 4096) and bool(ds[0].isfinite().all())
        return found[0]

    rc, seconds = _run_cli(argv("A"), None)
    assert rc == 0 and version() == "A"
    rng = random.Random(SEED)
    plan: list[tuple[str, float]] = _kill_plan(rng, N_PREPARE_TIMED, seconds, 0.1)
    plan += [("after", k) for k in range(1, 40)]
    current, kills, steps_done, history = "A", 0, False, []
    for kind, at in plan:
        if kind == "after" and steps_done:
            break
        target = "B" if current == "A" else "A"
        spec = {"watch": str(data), "kill_after": int(at)} if kind == "after" else None
        rc, _ = _run_cli(argv(target), spec, kill_at=at if kind == "timed" else None)
        kills += rc != 0
        steps_done = kind == "after" and rc == 0  # no step left to kill after: the run completed
        now = version()
        history.append(f"{kind} {at:.3f}: rc {rc}, {current}->{now}")
        assert now in (current, target), f"kill {kind} {at:.3f}: {now}"
        assert _visible(data) == ["ds"], f"kill {kind} {at:.3f}: {_visible(data)}"
        current = now
    assert steps_done, "prepare still had steps after 39: the kill plan is too short"
    assert kills >= N_PREPARE_TIMED // 2 + 3, f"only {kills} of {len(history)} runs were killed mid-way: {history}"
    # a last run completes, and cleans what the killed ones left beside the dataset
    target = "B" if current == "A" else "A"
    assert _run_cli(argv(target), None)[0] == 0
    assert version() == target
    assert sorted(p.name for p in data.iterdir()) == ["ds"], sorted(p.name for p in data.iterdir())


# ------------------------------------------------------------------------------------------- export


def _write_run(run: Path) -> None:
    """A tiny random-weight run folder (config, checkpoint, latent analysis), as training would leave it."""
    import torch

    from foleyvae.analysis.latent import fit_latent_space
    from foleyvae.config import preset, save_config
    from foleyvae.models.builders import build_model
    from foleyvae.training.checkpoint import save_checkpoint
    from tests.conftest import footstep

    cfg = preset("tiny")
    torch.manual_seed(0)
    model = build_model(cfg).eval()
    labels = ["wood", "metal", "gravel", "snow"]
    clips = [footstep(m, dur=0.2, seed=i) for i, m in enumerate(labels)]
    n = min(len(c) for c in clips) // model.hop_length * model.hop_length
    with torch.no_grad():
        x = torch.from_numpy(np.stack([c[:n] for c in clips])).unsqueeze(1)
        means = model.encode(x, sample=False).mean.numpy().astype(np.float64)
    (run / "checkpoints").mkdir(parents=True)
    save_config(cfg, run / "config.yaml")
    save_checkpoint(run / "checkpoints" / "last.ckpt", {"model": model.state_dict(), "config": cfg.to_dict()})
    fit_latent_space(means, labels=labels).save(run / "latent.json")


@pytest.mark.slow  # > 15 s: CI runs it (.ci/run), the default suite stays under 8 minutes
def test_export_killed_anywhere_keeps_a_loadable_model(tmp_path: Path) -> None:
    import hashlib

    from foleyvae.export.loader import load_model
    from foleyvae.studio.session import ModelCatalog

    run, models = tmp_path / "run", tmp_path / "models"
    _write_run(run)
    out, side = models / "model.ts", models / "model.ts.sha256"
    argv = ["export", str(run), "-o", str(out), "--force"]
    fast: dict[str, Any] = {"skip_export_self_check": True, "watch": str(models)}

    def check(what: str) -> bytes:
        data = out.read_bytes()
        if side.exists():  # the sidecar, when there, always names this very file
            assert side.read_text().split()[0] == hashlib.sha256(data).hexdigest(), f"{what}: stale .sha256"
        model = load_model(out)  # the old file untouched, or a complete new one: both load (checksum verified)
        assert model.latent_size >= 1, what
        listed = [e.name for e in ModelCatalog(None, [models]).entries() if e.source == "file"]
        assert listed == ["model.ts"], f"{what}: the studio lists {listed}"
        assert _visible(models) in (["model.ts"], ["model.ts", "model.ts.sha256"]), f"{what}: {_visible(models)}"
        return data

    log = tmp_path / "steps.log"
    rc, seconds = _run_cli(argv, {**fast, "log": str(log)})
    assert rc == 0 and side.exists()
    n_steps = len(log.read_text().splitlines())  # the write steps of a complete export
    assert n_steps >= 2, log.read_text()
    good = {check("first export")}
    rng = random.Random(SEED)
    plan = _kill_plan(rng, N_EXPORT_TIMED, seconds, 0.3) + [("after", k) for k in range(1, n_steps)]
    kills, history = 0, []
    for kind, at in plan:
        spec = {**fast, "kill_after": int(at)} if kind == "after" else fast
        rc, _ = _run_cli(argv, spec, kill_at=at if kind == "timed" else None)
        kills += rc != 0
        data = check(f"kill {kind} {at:.3f}")
        history.append(f"{kind} {at:.3f}: rc {rc}, {'old' if data in good else 'new'} file, sidecar {side.exists()}")
        good.add(data)
    assert kills >= len(plan) - 1, f"only {kills} of {len(plan)} export runs were killed mid-way: {history}"
    assert _run_cli(argv, fast)[0] == 0  # re-running after the kills succeeds
    check("re-run")
    assert side.exists()

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from foleyvae.checkpoints import CheckpointError, load_checkpoint, load_run
from foleyvae.cli.main import main
from foleyvae.config import preset
from foleyvae.errors import FoleyError
from foleyvae.training.checkpoint import save_checkpoint
from foleyvae.training.schedule import beta_of, lr_of, phase_of
from tests.conftest import KILL_REPEAT

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import soundfile as sf

    from foleyvae.data.prepare import PrepareOptions, prepare_dataset
    from tests.conftest import footstep

    src = tmp_path_factory.mktemp("src")
    for mat in ("wood", "metal", "gravel"):
        for i, dur in enumerate((0.12, 0.3, 0.6, 1.0)):
            p = src / "footsteps" / mat / f"{mat}{i}.wav"
            p.parent.mkdir(parents=True, exist_ok=True)
            sf.write(str(p), footstep(mat, dur=dur, seed=i), 44100)
    out = tmp_path_factory.mktemp("ds") / "ds"
    prepare_dataset([src], out, PrepareOptions(valid_fraction=0.25))
    return out


def _train(dataset: Path, out: Path, *extra: str) -> int:
    return main(["train", "--data", str(dataset), "--preset", "tiny", "--out", str(out), "--no-progress", *extra])


def test_schedules_are_pure_functions_of_the_step() -> None:
    t = preset("rave-v2-like").train
    assert phase_of(0, t) == 1 and phase_of(t.phase1_steps, t) == 2
    assert beta_of(0, t) == pytest.approx(1e-6) and beta_of(t.beta_warmup_steps, t) == pytest.approx(0.05)
    assert beta_of(10000, t) == pytest.approx(1e-6**0.5 * 0.05**0.5)  # log-linear midpoint
    assert lr_of(0, t) == t.lr and lr_of(t.max_steps, t) == pytest.approx(t.lr_final)


def test_both_phases_end_to_end(dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert _train(dataset, out) == 0
    st = load_checkpoint(out / "checkpoints" / "last.ckpt")
    assert st["step"] == 8 and st["phase"] == 2 and "disc" in st and st["package_version"]
    assert (out / "checkpoints" / "phase1.ckpt").is_file()
    art = load_run(out)
    assert art.latent is not None and len(art.latent.fidelity) == 4
    assert set(art.latent.centroids) == {"footsteps/gravel", "footsteps/metal", "footsteps/wood"}
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [(r["step"], r["phase"]) for r in rows] == [(0, 1), (4, 1), (8, 2)]  # the start, then val_every 4
    assert _train(dataset, out) == 1  # refuses to overwrite a run without --resume/--force


def test_resume_continues_exactly(dataset: Path, tmp_path: Path) -> None:
    torch.set_num_threads(1)
    assert _train(dataset, tmp_path / "a", "--threads", "1") == 0
    assert _train(dataset, tmp_path / "b", "--threads", "1", "--stop-at", "6") == 0
    assert load_checkpoint(tmp_path / "b/checkpoints/last.ckpt")["step"] == 6
    assert _train(dataset, tmp_path / "b", "--threads", "1", "--resume") == 0
    a = load_checkpoint(tmp_path / "a/checkpoints/last.ckpt")
    b = load_checkpoint(tmp_path / "b/checkpoints/last.ckpt")
    assert a["step"] == b["step"] == 8
    for k, v in a["model"].items():
        torch.testing.assert_close(v, b["model"][k], rtol=0, atol=0, msg=k)


def test_incompatible_resume_and_bad_data(dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "r"
    assert _train(dataset, out, "--stop-at", "2") == 0
    with pytest.raises(CheckpointError, match="cannot resume.*model.capacity: checkpoint 4, requested 6"):
        from foleyvae.config import apply_overrides
        from foleyvae.training.loop import TrainOptions, train

        train(
            apply_overrides(preset("tiny"), ["model.capacity=6"]),
            TrainOptions(dataset, out, resume=True, progress=False),
        )
    assert _train(tmp_path / "nope", tmp_path / "x") == 1
    assert _train(dataset, tmp_path / "sr", "--set", "audio.sample_rate=48000") == 1
    assert not (tmp_path / "sr" / "checkpoints" / "last.ckpt").exists()


def test_nan_losses_are_skipped_then_stop(dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from foleyvae.config import apply_overrides
    from foleyvae.models.vae import WaveformVAE
    from foleyvae.training.loop import TrainOptions, train

    real = WaveformVAE.compute_losses

    def nan_losses(self, x):  # type: ignore[no-untyped-def]
        terms = real(self, x)
        terms.recon["spec/multiscale"] = terms.recon["spec/multiscale"] * float("nan")
        return terms

    monkeypatch.setattr(WaveformVAE, "compute_losses", nan_losses)
    cfg = apply_overrides(preset("tiny"), ["train.max_nan_steps=3"])
    with pytest.raises(FoleyError, match="NaN/inf for 3 consecutive steps"):
        train(cfg, TrainOptions(dataset, tmp_path / "n", progress=False))
    st = load_checkpoint(tmp_path / "n" / "checkpoints" / "last.ckpt")
    assert st["nan_steps"] == 3
    assert all(torch.isfinite(v).all() for v in st["model"].values() if v.is_floating_point())


def test_corrupt_checkpoint_is_refused(tmp_path: Path) -> None:
    p = save_checkpoint(tmp_path / "c.ckpt", {"step": 1, "w": torch.randn(1000)})
    data = bytearray(p.read_bytes())
    data[len(data) // 2] ^= 0xFF
    (tmp_path / "bad.ckpt").write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="bad.ckpt"):
        load_checkpoint(tmp_path / "bad.ckpt")
    (tmp_path / "trunc.ckpt").write_bytes(p.read_bytes()[:200])
    with pytest.raises(CheckpointError, match="truncated or corrupted"):
        load_checkpoint(tmp_path / "trunc.ckpt")


def _train_cmd(dataset: Path, out: Path, *extra: str) -> list[str]:
    """The real CLI in a subprocess: tiny preset, endless, one thread, no validation."""
    return [sys.executable, "-m", "foleyvae.cli.main", "train", "--data", str(dataset), "--preset", "tiny",
            "--out", str(out), "--no-progress", "--threads", "1", "--max-steps", "100000",
            "--set", "train.val_every=100000", *extra]  # fmt: skip


@pytest.mark.slow  # > 15 s: CI runs it (.ci/run), the default suite stays under 8 minutes
def test_sigkill_never_leaves_a_corrupt_checkpoint(dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "k"
    cmd = _train_cmd(dataset, out, "--phase1-steps", "6", "--set", "train.checkpoint_every=1")
    rng = random.Random(0)
    last_step = 0
    attempts = 3 * KILL_REPEAT
    for attempt in range(attempts):
        ckpt = out / "checkpoints" / "last.ckpt"
        before = ckpt.stat().st_mtime_ns if ckpt.exists() else 0
        proc = subprocess.Popen(cmd + (["--resume"] if attempt else []), stderr=subprocess.DEVNULL)
        deadline = time.time() + 60
        while (not ckpt.exists() or ckpt.stat().st_mtime_ns == before) and time.time() < deadline:
            time.sleep(0.05)  # wait until this process has written a checkpoint of its own
        time.sleep(rng.uniform(0.2, 1.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        st = load_checkpoint(out / "checkpoints" / "last.ckpt")  # never corrupt
        assert st["step"] >= last_step
        last_step = st["step"]
    assert last_step > 6  # made progress across kills, into phase 2
    leftovers = [p.name for p in (out / "checkpoints").iterdir() if p.name.startswith(".tmp-")]
    assert len(leftovers) <= attempts  # at most one write in flight per kill (cleaned once older than a minute)


def test_sigterm_checkpoints_and_exits(dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "t"
    cmd = _train_cmd(dataset, out, "--set", "train.checkpoint_every=100000")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    deadline = time.monotonic() + 120
    while not (out / "config.yaml").is_file() and time.monotonic() < deadline:  # startup is slow on a loaded CPU
        time.sleep(0.2)
    time.sleep(2)  # into the loop, where the handler is installed
    proc.send_signal(signal.SIGTERM)
    stdout, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0 and "stopped (resume with --resume)" in stdout
    assert load_checkpoint(out / "checkpoints" / "last.ckpt")["step"] > 0


@pytest.mark.slow  # > 15 s: CI runs it (.ci/run), the default suite stays under 8 minutes
def test_torchrun_two_processes(dataset: Path, tmp_path: Path) -> None:
    torchrun = Path(sys.executable).parent / "torchrun"
    out = tmp_path / "ddp"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    res = subprocess.run(
        [
            str(torchrun),
            "--standalone",
            "--nproc_per_node=2",
            "-m",
            "foleyvae.cli.main",
            "train",
            "--data",
            str(dataset),
            "--preset",
            "tiny",
            "--out",
            str(out),
            "--no-progress",
            "--threads",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    st = load_checkpoint(out / "checkpoints" / "last.ckpt")
    assert st["step"] == 8
    assert res.stdout.count("done at step 8") == 2  # both ranks finished; only rank 0 wrote the run


def test_nonfinite_gradients_are_skipped(dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A finite loss whose gradient is NaN (sqrt at 0) must not reach the weights (seen when fine-tuning)."""
    from foleyvae.config import apply_overrides
    from foleyvae.models.vae import WaveformVAE
    from foleyvae.training.loop import TrainOptions, train

    real = WaveformVAE.compute_losses

    def nan_grads(self, x):  # type: ignore[no-untyped-def]
        terms = real(self, x)
        p = next(self.parameters())
        terms.recon["spec/multiscale"] = terms.recon["spec/multiscale"] + torch.sqrt(p.sum() * 0.0)  # value 0, grad NaN
        return terms

    monkeypatch.setattr(WaveformVAE, "compute_losses", nan_grads)
    cfg = apply_overrides(preset("tiny"), ["train.max_nan_steps=3"])
    with pytest.raises(FoleyError, match="NaN/inf for 3 consecutive steps"):
        train(cfg, TrainOptions(dataset, tmp_path / "g", progress=False))
    st = load_checkpoint(tmp_path / "g" / "checkpoints" / "last.ckpt")
    assert st["nan_steps"] == 3
    assert all(torch.isfinite(v).all() for v in st["model"].values() if v.is_floating_point())


def test_init_from_export_run_and_mismatch(dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--init-from (resolved by the CLI) loads an export's generator (weight norm re-derived) or a run's weights;
    other presets refused."""
    from foleyvae.cli.train import resolve_init
    from foleyvae.config import apply_overrides
    from foleyvae.export.loader import load_model
    from foleyvae.models.builders import build_model
    from foleyvae.training.init import init_from

    src = tmp_path / "src"
    assert _train(dataset, src, "--set", "train.max_steps=4", "--set", "train.phase1_steps=4") == 0
    ts = tmp_path / "src.ts"
    assert main(["export", str(src), "-o", str(ts)]) == 0
    cfg = preset("tiny")
    model = build_model(cfg).eval()
    assert "pqmf, encoder, decoder" in init_from(model, cfg, resolve_init(ts))
    exported = load_model(ts).module
    x = 0.1 * torch.randn(1, 1, 4096)
    with torch.no_grad():
        mine = model.encoder(model.pqmf.analysis(x))[0]
        theirs = exported.encoder(exported.pqmf.analysis(x))[0]
    torch.testing.assert_close(mine, theirs, atol=1e-5, rtol=1e-4)
    ckpt = load_checkpoint(src / "checkpoints" / "last.ckpt")
    fresh = build_model(cfg)
    assert "step 4" in init_from(fresh, cfg, resolve_init(src))
    for k, v in fresh.state_dict().items():
        torch.testing.assert_close(v, ckpt["model"][k])
    other = apply_overrides(cfg, ["model.latent_size=8"])
    with pytest.raises(FoleyError, match="latent_size"):
        init_from(build_model(other), other, resolve_init(ts))
    at48 = apply_overrides(cfg, ["audio.sample_rate=48000"])  # 44.1 -> 48 kHz: the same weights, said
    moved = build_model(at48)
    assert "44100 Hz weights start this 48000 Hz run" in init_from(moved, at48, resolve_init(ts))
    torch.testing.assert_close(moved.encoder(moved.pqmf.analysis(x))[0], theirs, atol=1e-5, rtol=1e-4)
    at22 = apply_overrides(cfg, ["audio.sample_rate=22050"])  # 2x: another model
    with pytest.raises(FoleyError, match="sample_rate"):
        init_from(build_model(at22), at22, resolve_init(ts))
    with pytest.raises(FoleyError, match="no run folder"):
        resolve_init(tmp_path / "nope")
    # end to end through the CLI: a new run starts from the export and records it
    out = tmp_path / "ft"
    assert (
        _train(dataset, out, "--init-from", str(ts), "--set", "train.max_steps=2", "--set", "train.phase1_steps=2") == 0
    )
    err = capsys.readouterr().err
    assert "initialised from export" in err and "fine-tuning defaults: lr 0.0003 (preset 0.001)" in err
    st = load_checkpoint(out / "checkpoints" / "last.ckpt")
    assert st["init_from"] == str(ts) and st["config"]["train"]["lr"] == 3e-4
    assert st["config"]["train"]["beta_warmup_steps"] == 0
    ft = {"lr": 3e-4, "beta_warmup_steps": 0, "encoder_lr_scale": 0.3, "lr_decay_tail": 0.3, "lr_final": 3e-5}
    assert st["fine_tune"] == ft  # train.phase1_steps was set, so phase 2 stays the user's
    mine = tmp_path / "ft2"  # what the user sets stays
    assert _train(dataset, mine, "--init-from", str(ts), "--max-steps", "1", "--set", "train.lr=0.0005") == 0
    assert load_checkpoint(mine / "checkpoints" / "last.ckpt")["config"]["train"]["lr"] == 5e-4


def test_fine_tune_is_phase1_only_with_a_slower_encoder(
    dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A fine-tune where the user set no phase 1 has no phase 2 (no discriminator), its encoder's rate is 0.3 of
    the decoder's at every step, and the rate decays over the last 30 % to lr_final; resume keeps all of it."""
    from foleyvae.config import from_dict

    ts = tmp_path / "src"  # a run folder is a source as an export is
    assert _train(dataset, ts, "--max-steps", "2", "--phase1-steps", "2") == 0
    out = tmp_path / "ft"
    assert _train(dataset, out, "--init-from", str(ts), "--max-steps", "10", "--stop-at", "5") == 0
    assert "phase 1 only" in capsys.readouterr().err
    st = load_checkpoint(out / "checkpoints" / "last.ckpt")
    t = st["config"]["train"]
    assert t["phase1_steps"] == t["max_steps"] == 10 and "disc" not in st and st["phase"] == 1
    groups = st["opt_g"]["param_groups"]
    assert [g["lr_scale"] for g in groups] == [1.0, 0.3]
    assert groups[1]["lr"] == pytest.approx(0.3 * groups[0]["lr"]) and groups[0]["lr"] == pytest.approx(3e-4)
    assert _train(dataset, out, "--init-from", str(ts), "--max-steps", "10", "--resume") == 0
    st = load_checkpoint(out / "checkpoints" / "last.ckpt")
    assert st["step"] == 10 and "disc" not in st and st["fine_tune"]["encoder_lr_scale"] == 0.3
    done = from_dict(st["config"]).train
    assert lr_of(6, done) == pytest.approx(3e-4)  # round(10 * 0.7) = 7: the decay starts there
    assert lr_of(8, done) < 3e-4 and lr_of(10, done) == pytest.approx(3e-5)
    assert st["opt_g"]["param_groups"][1]["lr"] == pytest.approx(0.3 * lr_of(9, done))


def test_freeze_encoder_trains_the_decoder_only(dataset: Path, tmp_path: Path) -> None:
    from foleyvae.models.builders import build_model

    out = tmp_path / "fz"
    assert _train(dataset, out, "--freeze-encoder", "--threads", "1", "--max-steps", "3", "--phase1-steps", "3") == 0
    torch.manual_seed(preset("tiny").train.seed)
    start = build_model(preset("tiny")).state_dict()  # the run's starting weights (same seed)
    st = load_checkpoint(out / "checkpoints" / "last.ckpt")
    assert st["freeze_encoder"]
    changed = {
        k.split(".")[0] for k, v in st["model"].items() if v.is_floating_point() and not torch.equal(v, start[k])
    }
    assert "decoder" in changed and "encoder" not in changed


def test_time_budget_ends_with_a_checkpoint_and_latent_analysis(dataset: Path, tmp_path: Path) -> None:
    """A run ended by --time-budget is a finished run: checkpoint, then the latent analysis that export needs."""
    out = tmp_path / "budget"
    big = ["--set", "train.phase1_steps=100000", "--set", "train.max_steps=100000"]
    assert _train(dataset, out, "--time-budget", "0.02", *big) == 0  # 1.2 s
    st = load_checkpoint(out / "checkpoints" / "last.ckpt")
    assert 0 < st["step"] < 100000
    assert load_run(out).latent is not None


def test_budget_plan_scales_the_schedule_to_fit() -> None:
    """The plan keeps the recipe's shape and fits the budget, counting phase-2 steps as slower; pure."""
    from foleyvae.training.schedule import PLAN_MARGIN, plan_for_budget

    t = preset("foley-small").train  # 8000 steps: phase 1 to 6000, KL warm-up to 3000
    rate, cost, val_s, ckpt_s = 1.4, 8.0, 4.0, 0.5
    p = plan_for_budget(t, rate, 40 * 60, 10.0, 6, phase2_cost=cost, valid_s=val_s, checkpoint_s=ckpt_s)
    assert p.scaled and 6 < p.beta_warmup_steps < p.phase1_steps < p.max_steps < t.max_steps
    assert p.phase1_steps / p.max_steps == pytest.approx(0.75, abs=0.01)
    assert p.beta_warmup_steps / p.phase1_steps == pytest.approx(0.5, abs=0.01)
    todo = p.max_steps - 6
    seconds = 10.0 + (p.phase1_steps - 6) / rate + (p.max_steps - p.phase1_steps) * cost / rate
    seconds += (todo / p.val_every + 2) * val_s + todo / p.checkpoint_every * ckpt_s
    assert 40 * 60 * (1 - PLAN_MARGIN) - 15 < seconds <= 40 * 60 * (1 - PLAN_MARGIN) + 1  # fits, wastes little
    assert p.max_steps // p.val_every >= 5 and p.val_every <= 1.4 * 120  # >= 5 points, about every 2 minutes
    assert p.checkpoint_every <= 1.4 * 60  # the first checkpoint within about a minute
    planned = p.apply(t)
    assert phase_of(p.phase1_steps, planned) == 2 and lr_of(p.max_steps, planned) == pytest.approx(t.lr_final)
    assert "phase 1 to" in p.describe() and f"~{p.max_steps} steps" in p.describe()
    roomy = plan_for_budget(t, steps_per_s=100.0, budget_s=3600, elapsed_s=1.0, done_steps=6)
    assert not roomy.scaled and (roomy.max_steps, roomy.phase1_steps) == (t.max_steps, t.phase1_steps)
    short = plan_for_budget(t, rate, 5 * 60, 10.0, 6, phase2_cost=cost, valid_s=val_s, checkpoint_s=ckpt_s)
    assert short.phase2_dropped and short.phase1_steps == short.max_steps > p.phase1_steps / 4  # 5 min: phase 1
    assert "phase 2 needs 100+ steps" in short.describe()
    mclt = preset("mclt-2d").train  # phase 1 only
    q = plan_for_budget(mclt, steps_per_s=1.0, budget_s=600, elapsed_s=0.0, done_steps=0, adversarial=False)
    assert q.phase1_steps == q.max_steps < mclt.max_steps and "phase 1 only" in q.describe()


def test_time_budget_plan_phases_and_resume(dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--time-budget fits a long schedule into seconds: phases inside it, rows say their phase, resume keeps it."""
    out = tmp_path / "plan"
    long = ["--set", "train.max_steps=100000", "--set", "train.phase1_steps=75000",
            "--set", "train.beta_warmup_steps=50000", "--threads", "1"]  # fmt: skip
    assert _train(dataset, out, "--time-budget", "0.1", *long) == 0
    err = capsys.readouterr().err
    assert "plan for 0.1 min" in err and "phase 1 only" in err and "checkpoints: " in err
    st = load_checkpoint(out / "checkpoints" / "last.ckpt")
    plan = st["plan"]
    # a few seconds hold far fewer than MIN_PHASE2_STEPS adversarial steps: the plan spends them on phase 1
    assert plan["scaled"] and plan["phase2_dropped"] and 0 < plan["beta_warmup_steps"] < plan["phase1_steps"]
    assert plan["phase1_steps"] == plan["max_steps"] < 100000 and "phase 2 needs 100+ steps" in err
    assert st["config"]["train"]["max_steps"] == plan["max_steps"] and 0 < st["step"] <= plan["max_steps"]
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert rows[0]["step"] == 0 and len(rows) >= 3
    for r in rows:
        assert r["phase"] == (1 if r["step"] <= plan["phase1_steps"] else 2)
    assert _train(dataset, out, "--resume", "--threads", "1", "--stop-at", str(st["step"] + 1)) == 0
    assert "resuming its plan for 0.1 min" in capsys.readouterr().err
    assert load_checkpoint(out / "checkpoints" / "last.ckpt")["plan"] == plan


def test_threads_one_when_busy_else_the_fastest() -> None:
    from foleyvae.training.threads import choose_threads

    assert choose_threads(lambda: None, cores=2, load=3.5).threads == 1
    assert "busy" in choose_threads(lambda: None, cores=2, load=3.5).reason
    assert choose_threads(lambda: None, cores=1, load=None).threads == 1
    before = torch.get_num_threads()
    now = [0.0]

    def probe() -> None:  # a fake step that takes 1/n seconds on n threads
        now[0] += 1.0 / torch.get_num_threads()

    try:
        slow_then_fast = choose_threads(probe, cores=4, load=0.0, clock=lambda: now[0])
    finally:
        torch.set_num_threads(before)
    assert slow_then_fast.threads == 4 and "1: " in slow_then_fast.reason and "4: " in slow_then_fast.reason


def test_one_short_file_can_be_trained_on(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """One 0.2 s file: prepare warns (small, no valid split), training validates on it and fills a batch, exits 0."""
    import soundfile as sf

    from foleyvae.data.prepare import PrepareOptions, prepare_dataset
    from tests.conftest import footstep

    (tmp_path / "in").mkdir()
    sf.write(str(tmp_path / "in" / "step.wav"), footstep("wood", dur=0.2, seed=1), 44100)
    rep = prepare_dataset([tmp_path / "in"], tmp_path / "ds", PrepareOptions(valid_fraction=0.5), workers=0)
    assert rep.split_counts == {"train": 1}
    assert "small dataset (1 file, 0.2 s" in rep.summary() and "no 'valid' split (one file)" in rep.summary()
    short = ["--threads", "1", "--max-steps", "2", "--phase1-steps", "2", "--set", "train.batch_size=4"]
    assert _train(tmp_path / "ds", tmp_path / "run", *short) == 0
    err = capsys.readouterr().err
    assert "validation uses the training files" in err and "fewer than one batch of 4" in err
    assert load_checkpoint(tmp_path / "run" / "checkpoints" / "last.ckpt")["step"] == 2


def test_a_failed_latent_analysis_keeps_the_run(
    dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An MCLT run on little data cannot be analysed (too few latent frames): warn, keep the checkpoint, exit 0."""
    from foleyvae.training import loop

    def no_frames(*args: object) -> None:
        raise FoleyError("latent analysis needs at least 2 latent frames")

    monkeypatch.setattr(loop, "analyze_run_model", no_frames)
    assert _train(dataset, tmp_path / "na", "--threads", "1") == 0
    assert "warning: no latent analysis (latent analysis needs at least 2 latent frames)" in capsys.readouterr().err
    assert load_checkpoint(tmp_path / "na" / "checkpoints" / "last.ckpt")["step"] == 8


def test_mclt_run_on_one_valid_clip_warns_and_keeps_its_checkpoint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An MCLT model has one latent frame per clip: a one-clip validation set cannot be analysed (PCA needs 2
    frames). The finished training still exits 0 with its checkpoint, one warning line, and exports."""
    import soundfile as sf

    from foleyvae.data.prepare import PrepareOptions, prepare_dataset
    from tests.conftest import footstep

    src = tmp_path / "src"
    for i, mat in enumerate(("wood", "metal", "gravel", "wood")):  # 4 files, valid fraction 0.25: 1 valid clip
        p = src / "footsteps" / mat / f"{mat}{i}.wav"
        p.parent.mkdir(parents=True, exist_ok=True)
        sf.write(str(p), footstep(mat, dur=0.3, seed=i), 44100)
    prepare_dataset([src], tmp_path / "ds", PrepareOptions(valid_fraction=0.25))
    tiny = ["model.frame_length=32", "model.clip_samples=2048", "model.capacity=2", "model.latent_size=4"]
    tiny += ["train.n_samples=2048", "train.batch_size=2", "train.max_steps=2", "train.phase1_steps=2"]
    out = tmp_path / "run"
    args = ["train", "--data", str(tmp_path / "ds"), "--preset", "mclt-2d", "--out", str(out), "--no-progress"]
    assert main([*args, *(a for kv in tiny for a in ("--set", kv))]) == 0
    err = capsys.readouterr().err
    warnings = [line for line in err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "needs at least 2 latent frames" in warnings[0]
    assert load_checkpoint(out / "checkpoints" / "last.ckpt")["step"] == 2
    assert not (out / "latent.json").exists()
    assert main(["export", str(out), "-o", str(tmp_path / "m.ts")]) == 0

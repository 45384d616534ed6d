"""RAVE v2_small vs foley-small: same training audio, same wall-clock budget on this CPU, same held-out clips.

Both models train IN PARALLEL, one thread each, for ``--minutes`` of training-loop wall clock, on the train split
of the prepared dataset (``--data``, default data/datasets/foley); the valid split is held out for both.

* foley-small: ``foleyvae train --preset foley-small --threads 1 --time-budget MIN`` with the preset's schedule
  scaled to the budget (:func:`foley_schedule`): phase-1 steps, total steps and KL warm-up keep the preset's ratios
  (6000 : 8000 : 3000), and the total is chosen so that the scaled schedule's expected time (measured seconds per
  phase-1 and phase-2 step, ``--s-per-step``) fills the budget. No validation inside the budget. Exported with
  ``foleyvae export`` (streaming, the shipped format); the end-of-phase-1 checkpoint is exported and scored too.
* RAVE v2_small (acids-rave 2.3.x in its own venv, ``tests/export/make_rave_export.sh``): ``rave preprocess`` drops
  every file shorter than 2 x num_signal samples and each file's remainder, and our sounds are one-shots, so its
  input is the train split concatenated (seeded order, 50-150 ms silences) into WAV files of exactly 5 x 262144
  samples (44.1 kHz mono; the last file may be shorter, a whole number of chunks, its last chunk completed by
  wrapping around to the first sounds). ``rave train
  --config v2_small`` with its defaults (batch 8, n_signal 131072) runs inside :func:`rave_worker`, which adds a
  Lightning ``max_time`` equal to the budget, drops RAVE's per-epoch checkpoint callbacks (an epoch is 3 batches
  here), then runs one validation pass (RAVE computes its latent PCA / fidelity there; the export needs it) and
  saves ``final.ckpt``. ``timeout -s INT`` is a backstop. Exported with ``rave export --streaming false``.

Evaluation (every model on the SAME clips): ``FoleyDataset(data, "valid", 32768)`` -- one deterministic clip per
held-out file, as ``foleyvae evaluate`` and benchmarks/mclt_family.py use -- followed by 0.5 s of zeros, encoded and
decoded in one call by the exported file (``foleyvae.export.loader.load_model``, reset before each clip). RAVE files
carry no delay, so each model's delay is estimated as the lag (-4096 .. +22050 samples) maximising the mean
normalised cross-correlation of the output's and the input's log RMS envelopes over the held-out set (the waveform
cross-correlation is reported too; ``foleyvae.eval.metrics.estimate_delay`` says why it is not used); the output is
shifted by it and scored with ``foleyvae.eval.metrics`` as in ``eval.suite``: multiscale STFT distance, mel distance,
SI-SDR, loudness-envelope correlation (means over clips; also per top-level category).

The MCLT-family rows are copied from benchmarks/results/mclt_family.json: measured separately (90 s budget each,
phase 1 only, offline ``model(x)``), on the same 38 held-out clips and the same distance functions.

Run (about 20 minutes at the default budget; needs both cores free):
    tests/export/make_rave_export.sh            # once: the RAVE venv in .cache/rave-venv
    .venv/bin/python benchmarks/rave_vs_foleyvae.py [--minutes 15] [--nice 0]
Writes benchmarks/results/rave_vs_foleyvae.json (``--out``); work files in runs/rave_vs_foleyvae/ (git-ignored).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULT = ROOT / "benchmarks" / "results" / "rave_vs_foleyvae.json"
MCLT_RESULT = ROOT / "benchmarks" / "results" / "mclt_family.json"
WORK = ROOT / "runs" / "rave_vs_foleyvae"
RAVE_VENV = ROOT / ".cache" / "rave-venv"
RAVE_STUB = ROOT / "tests" / "export" / "rave_stub"
FOLEY = ROOT / ".venv" / "bin" / "foleyvae"
CLIP = 32768  # held-out clip length, as eval.suite and mclt_family
TAIL = 22050  # zeros after each clip (0.5 s): room for the output delay
MAX_LAG = 22050  # delay search: up to 0.5 s late ...
MIN_LAG = -4096  # ... and a little early (a non-causal model could lead)
ENV_WIN = 128  # envelope window for the delay estimate (2.9 ms)
RAVE_CHUNK = 262144  # rave preprocess keeps chunks of 2 x num_signal (131072) samples
RAVE_FILE_CHUNKS = 5  # chunks per concatenated WAV (29.7 s)
PRESET_SCHEDULE = (6000, 8000, 3000)  # foley-small: phase1_steps, max_steps, beta_warmup_steps
BIG = 10**6  # "never" for validation / periodic checkpoints inside the budget
THREAD_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


# ------------------------------------------------------------------------------------------------ schedule


def foley_schedule(budget_s: float, s_step1: float, s_step2: float) -> dict[str, int]:
    """foley-small's schedule scaled so that its expected time fills ``budget_s``.

    The preset runs ``p1`` phase-1 steps of ``n`` in all (KL warm-up ``w``); the scaled schedule keeps the ratios
    ``p1/n`` and ``w/n`` and picks ``n`` with ``(p1/n * s_step1 + (1 - p1/n) * s_step2) * n = budget_s``, so the
    time split between the phases is the preset's. Returns the ``train.*`` overrides.
    """
    p1, n, w = PRESET_SCHEDULE
    f1 = p1 / n
    total = max(8, int(budget_s / (f1 * s_step1 + (1 - f1) * s_step2)))
    return {
        "phase1_steps": max(1, round(total * f1)),
        "max_steps": total,
        "beta_warmup_steps": max(1, round(total * w / n)),
    }


# ------------------------------------------------------------------------------------------------ data


def ensure_dataset(data: Path, nice: int) -> None:
    """Prepare ``data`` as scripts/bundled_model.sh does (footsteps/impacts/water of three corpora) if missing."""
    if (data / "dataset.json").is_file():
        return
    src = ROOT / "data" / "bundled_src"
    shutil.rmtree(src, ignore_errors=True)
    for corpus in ("minetest", "0ad", "openarena"):
        raw = ROOT / "data" / "raw" / corpus
        if not (raw / "manifest.jsonl").is_file():
            raise SystemExit(f"{raw}: missing (foleyvae data fetch {corpus} -o {raw})")
        for cat in ("footsteps", "impacts", "water"):
            if (raw / cat).is_dir():
                shutil.copytree(raw / cat, src / corpus / cat)
    cmd = [str(FOLEY), "prepare", *(str(src / c) for c in ("minetest", "0ad", "openarena")), "-o", str(data)]
    run_logged(["nice", "-n", str(nice), *cmd, "--force"], WORK / "logs" / "prepare.log")


def build_rave_audio(data: Path, out: Path, seed: int = 0) -> dict[str, Any]:
    """The train split concatenated into WAVs of ``RAVE_FILE_CHUNKS x RAVE_CHUNK`` samples (module docstring)."""
    import numpy as np

    from foleyvae.audio.io import save
    from foleyvae.data.prepare import read_dataset_info, read_manifest

    info = read_dataset_info(data)
    sr = int(info["sample_rate"])
    entries = [e for e in read_manifest(data) if e.get("split") == "train"]
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(entries))
    shards: dict[str, Any] = {}

    def clip(e: dict[str, Any]) -> Any:
        key = str(e["shard"])
        if key not in shards:
            shards[key] = np.load(data / key, mmap_mode="r")
        off, n = int(e["offset"]), int(e["length"])
        return np.asarray(shards[key][:, off : off + n], np.float32).mean(axis=0)

    pieces: list[Any] = []
    for k in order:
        pieces.append(clip(entries[int(k)]))
        pieces.append(np.zeros(int(rng.uniform(0.05, 0.15) * sr), np.float32))
    stream = np.concatenate(pieces)
    train_samples = len(stream)
    n_chunks = math.ceil(len(stream) / RAVE_CHUNK)
    total = n_chunks * RAVE_CHUNK
    stream = np.tile(stream, 2)[:total]  # the last chunk is completed with the first sounds
    file_len = RAVE_CHUNK * RAVE_FILE_CHUNKS
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    starts = range(0, total, file_len)
    for i, s in enumerate(starts):
        save(out / f"train_{i:03d}.wav", stream[s : s + file_len], sr)
    return {
        "train_files": len(entries),
        "train_seconds_with_gaps": round(train_samples / sr, 2),
        "wav_files": len(starts),
        "chunks": n_chunks,
        "seconds": round(total / sr, 2),
        "wrapped_seconds": round((total - train_samples) / sr, 2),
        "sample_rate": sr,
    }


# ------------------------------------------------------------------------------------------------ processes


def rave_env() -> dict[str, str]:
    """Environment for the RAVE venv: the torchaudio stand-in on the path, one thread."""
    env = dict(os.environ, **THREAD_ENV)
    env["PYTHONPATH"] = str(RAVE_STUB)
    return env


def run_logged(cmd: list[str], log: Path, env: dict[str, str] | None = None) -> None:
    """Run ``cmd`` to completion with stdout+stderr in ``log``; exit with the log's tail on failure."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as f:
        f.write("$ " + " ".join(cmd) + "\n")
        f.flush()
        rc = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, env=env, cwd=ROOT).returncode
    if rc != 0:
        tail = log.read_text().splitlines()[-25:]
        raise SystemExit(f"failed ({rc}): {' '.join(cmd)}\n" + "\n".join(tail))


def train_both(args: argparse.Namespace, sched: dict[str, int]) -> dict[str, Any]:
    """Start both trainings at once (one thread each), wait for both; returns their commands and wall times."""
    budget_s = args.minutes * 60
    nice = ["nice", "-n", str(args.nice)]
    foley_cmd = [
        str(FOLEY),
        "train",
        "--data",
        str(args.data),
        "--preset",
        "foley-small",
        "--out",
        str(WORK / "foley"),
        "--force",
        "--threads",
        "1",
        "--time-budget",
        f"{args.minutes:g}",
        "--fixed-schedule",  # the comparison's own schedule (as RAVE's), not one fitted to the budget
        "--no-progress",
        *(f"--set=train.{k}={v}" for k, v in sched.items()),
        f"--set=train.val_every={BIG}",
        f"--set=train.checkpoint_every={BIG}",
    ]
    shutil.rmtree(WORK / "rave", ignore_errors=True)
    rave_cmd = [
        "timeout",
        "-s",
        "INT",
        str(int(budget_s + 600)),
        str(RAVE_VENV / "bin" / "python"),
        str(Path(__file__).resolve()),
        "rave-worker",
        "--budget-s",
        str(budget_s),
        "--summary",
        str(WORK / "rave_summary.json"),
        "--",
        "--config",
        "v2_small",
        "--db_path",
        str(WORK / "rave_db"),
        "--out_path",
        str(WORK / "rave"),
        "--name",
        "rave_v2_small",
        "--channels",
        "1",
        "--gpu",
        "-1",
        "--workers",
        "0",
        f"--val_every={BIG}",
        "--noprogress",
    ]
    (WORK / "logs").mkdir(parents=True, exist_ok=True)
    procs = {}
    load0 = [round(v, 2) for v in os.getloadavg()]  # 1/5/15-minute: other jobs on the machine would show here
    t0 = time.time()
    for name, cmd, env in (("foley", foley_cmd, dict(os.environ, **THREAD_ENV)), ("rave", rave_cmd, rave_env())):
        log = open(WORK / "logs" / f"train_{name}.log", "w")  # noqa: SIM115 (closed when the process ends)
        log.write("$ " + " ".join(nice + cmd) + "\n")
        log.flush()
        procs[name] = (subprocess.Popen(nice + cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT), log)
    print(f"training both for {args.minutes:g} min (started {time.strftime('%H:%M:%S', time.gmtime(t0))} UTC)")
    walls: dict[str, float] = {}
    try:
        while len(walls) < len(procs):
            for name, (proc, log) in procs.items():
                if name in walls or proc.poll() is None:
                    continue
                log.close()
                walls[name] = round(time.time() - t0, 1)
                if proc.returncode != 0:
                    tail = (WORK / "logs" / f"train_{name}.log").read_text().splitlines()[-25:]
                    raise SystemExit(f"{name} training failed ({proc.returncode})\n" + "\n".join(tail))
            time.sleep(1.0)
    finally:
        for proc, _ in procs.values():
            if proc.poll() is None:  # the other one failed: stop this one too
                proc.send_signal(signal.SIGINT)
                proc.wait()
    return {
        "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t0)),
        "loadavg_at_start": load0,
        "loadavg_at_end": [round(v, 2) for v in os.getloadavg()],
        "process_wall_s": walls,
        "commands": {"foley": " ".join(foley_cmd), "rave": " ".join(rave_cmd)},
    }


def export_all(args: argparse.Namespace) -> dict[str, Path]:
    """Export foley-small (final + end of phase 1 when it exists) and RAVE; returns label -> .ts path."""
    exp = WORK / "exports"
    exp.mkdir(parents=True, exist_ok=True)
    nice = ["nice", "-n", str(args.nice)]
    out = {"foley-small": exp / "foley_small.ts"}
    run_logged(
        [*nice, str(FOLEY), "export", str(WORK / "foley"), "-o", str(out["foley-small"]), "--force"],
        WORK / "logs" / "export_foley.log",
    )
    if (WORK / "foley" / "checkpoints" / "phase1.ckpt").is_file():
        out["foley-small@phase1"] = exp / "foley_small_phase1.ts"
        run_logged(
            [
                *nice,
                str(FOLEY),
                "export",
                str(WORK / "foley"),
                "-o",
                str(out["foley-small@phase1"]),
                "--checkpoint",
                "phase1.ckpt",
                "--force",
            ],
            WORK / "logs" / "export_foley_phase1.log",
        )
    summary = json.loads((WORK / "rave_summary.json").read_text())
    run_logged(
        [
            *nice,
            str(RAVE_VENV / "bin" / "rave"),
            "export",
            "--run",
            summary["final_ckpt"],
            "--streaming=false",
            "--output",
            str(exp),
            "--name",
            "rave_v2_small",
        ],
        WORK / "logs" / "export_rave.log",
        rave_env(),
    )
    out["rave v2_small"] = exp / "rave_v2_small.ts"
    return out


# ------------------------------------------------------------------------------------------------ evaluation


def render_all(model: Any, clips: Any) -> Any:
    """Each clip ``[C, CLIP]`` + ``TAIL`` zeros through encode/decode in one call -> outputs ``[N, C, L]``."""
    import numpy as np
    import torch

    hop = int(model.hop_length)
    length = -(-(CLIP + TAIL) // (4 * hop)) * 4 * hop
    outs = []
    for x in clips:
        xp = torch.zeros(1, x.shape[0], length)
        xp[0, :, :CLIP] = torch.from_numpy(x)
        model.reset()
        with torch.no_grad():
            y = model.decode(model.encode(xp))
        outs.append(y[0, :, :length].numpy())
    model.reset()
    return np.stack(outs)


def shift(y: Any, lag: int) -> Any:
    """``y_al[:, t] = y[:, t + lag]`` for t in [0, CLIP) (zeros where out of range)."""
    import numpy as np

    out = np.zeros((y.shape[0], CLIP), np.float32)
    lo = max(0, -lag)
    out[:, lo:] = y[:, lo + lag : CLIP + lag]
    return out


def score(label: str, path: Path, clips: Any, labels: list[str]) -> dict[str, Any]:
    """Delay estimate and held-out metrics of the exported model at ``path``."""
    import torch

    from foleyvae.eval import metrics as M
    from foleyvae.export.loader import load_model

    def estimate_delay(kind: str) -> tuple[int, float]:
        return M.estimate_delay(clips, outs, max_lag=MAX_LAG, min_lag=MIN_LAG, kind=kind, win=ENV_WIN)

    model = load_model(path)
    sr = int(model.sample_rate)
    t0 = time.perf_counter()
    torch.manual_seed(0)  # RAVE's exported encode samples the posterior and its decode pads with noise
    outs = render_all(model, clips)
    lag, corr = estimate_delay("envelope")
    lag_wave, corr_wave = estimate_delay("waveform")
    rows = []
    for x, y, lab in zip(clips, outs, labels, strict=True):
        ya = shift(y, lag)
        rows.append(
            {
                "label": lab,
                "multiscale": M.multiscale_distance(x, ya),
                "mel": M.mel_distance(x, ya, sr),
                "si_sdr": M.si_sdr(x, ya),
                "loudness_corr": M.loudness_correlation(x, ya, sr),
            }
        )
    keys = ("multiscale", "mel", "si_sdr", "loudness_corr")
    cats = sorted({r["label"].split("/")[0] for r in rows})
    meta = getattr(model, "metadata", {})
    return {
        "model": label,
        "file": str(path.relative_to(ROOT)),
        "sample_rate": sr,
        "hop_length": int(model.hop_length),
        "latent_size": int(model.latent_size),
        "full_latent_size": int(getattr(model, "full_latent_size", model.latent_size)),
        "delay_estimated": lag,
        "delay_estimated_ms": round(1e3 * lag / sr, 2),
        "delay_xcorr": round(corr, 4),
        "delay_waveform": lag_wave,
        "delay_waveform_xcorr": round(corr_wave, 4),
        "delay_declared": int(model.delay_samples) if meta.get("delay_known") else None,
        "render_s": round(time.perf_counter() - t0, 1),
        "overall": M.aggregate(rows, keys),
        "per_category": {c: M.aggregate([r for r in rows if r["label"].startswith(c + "/")], keys) for c in cats},
    }


def held_out(data: Path) -> tuple[Any, list[str]]:
    """``[N, C, CLIP]`` float32 held-out clips (one per valid file) and their labels."""
    import numpy as np

    from foleyvae.data.dataset import FoleyDataset

    ds = FoleyDataset(data, "valid", CLIP)
    return np.stack([ds[i].numpy() for i in range(len(ds))]), [ds.label_of(i) for i in range(len(ds))]


def training_facts(summary: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Steps and phases reached, from the run folders."""
    from foleyvae.checkpoints import load_checkpoint

    last = load_checkpoint(WORK / "foley" / "checkpoints" / "last.ckpt")
    facts = {"foley-small": {"steps": int(last["step"]), "phase_at_end": int(last["phase"])}}
    p1 = WORK / "foley" / "checkpoints" / "phase1.ckpt"
    if p1.is_file():
        facts["foley-small@phase1"] = {"steps": int(load_checkpoint(p1)["step"]), "phase_at_end": 1}
    facts["rave v2_small"] = {
        "steps": summary["batches"],
        "phase_at_end": 2 if summary.get("warmed_up") else 1,
        "train_loop_s": summary["train_loop_s"],
        "epochs": summary["epochs"],
    }
    return facts


def mclt_rows() -> list[dict[str, Any]]:
    """The MCLT-family rows of benchmarks/results/mclt_family.json (measured separately, own budget)."""
    if not MCLT_RESULT.is_file():
        return []
    src = json.loads(MCLT_RESULT.read_text())
    budget = src.get("settings", {}).get("seconds")
    return [
        {
            "model": f"{r['preset']} (mclt_family)",
            "budget_s": budget,
            "steps": r["steps"],
            "multiscale": r["multiscale"],
            "mel": r["mel"],
            "snr_db": r["snr_db"],
            "measured_separately": True,
        }
        for r in src.get("rows", [])
    ]


def fmt(v: Any, nd: int = 3) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    return f"{v:.{nd}f}" if isinstance(v, float) else str(v)


def print_table(rows: list[dict[str, Any]], extra: list[dict[str, Any]]) -> None:
    head = f"{'model':<30}{'budget':>8}{'steps':>7}{'delay':>8}{'multiscale':>11}{'mel':>7}{'SI-SDR':>8}{'loud r':>8}"
    print(head)
    for r in rows:
        o = r["overall"]
        print(
            f"{r['model']:<30}{fmt(r['budget_s'], 0):>8}{r['steps']:>7}{r['delay_estimated']:>8}"
            f"{fmt(o['multiscale']):>11}{fmt(o['mel']):>7}{fmt(o['si_sdr'], 2):>8}{fmt(o['loudness_corr']):>8}"
        )
    if extra:
        print("measured separately (benchmarks/mclt_family.py, own budget; SNR instead of SI-SDR):")
        for r in extra:
            print(
                f"{r['model']:<30}{fmt(float(r['budget_s']), 0):>8}{r['steps']:>7}{'-':>8}"
                f"{fmt(r['multiscale']):>11}{fmt(r['mel']):>7}{'-':>8}{'-':>8}"
            )


# ------------------------------------------------------------------------------------------------ RAVE worker


def rave_worker(argv: list[str]) -> int:
    """Run inside the RAVE venv: ``rave train`` with a wall-clock budget, a final validation and ``final.ckpt``."""
    p = argparse.ArgumentParser(prog="rave-worker")
    p.add_argument("--budget-s", type=float, required=True)
    p.add_argument("--summary", type=Path, required=True)
    p.add_argument("rave_args", nargs=argparse.REMAINDER)
    a = p.parse_args(argv)
    rave_args = [x for x in a.rave_args if x != "--"]

    import torch

    torch.set_num_threads(1)  # before anything builds a thread pool
    torch.set_num_interop_threads(1)
    import pytorch_lightning as pl
    import scripts.train as rave_train  # RAVE's `rave train` (defines its absl flags)
    from absl import app

    class Count(pl.Callback):
        """Training batches and the training loop's wall clock."""

        def __init__(self) -> None:
            self.batches = 0
            self.t0 = self.t1 = 0.0

        def on_train_start(self, trainer: Any, pl_module: Any) -> None:
            self.t0 = time.perf_counter()

        def on_train_batch_end(self, *args: Any, **kwargs: Any) -> None:
            self.batches += 1
            self.t1 = time.perf_counter()

    count = Count()
    base = pl.Trainer

    class BudgetTrainer(base):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, callbacks: Any = None, **kwargs: Any) -> None:
            # RAVE's checkpoint callbacks save every epoch (3 batches on this data): final.ckpt replaces them
            kept = [c for c in callbacks or [] if not isinstance(c, pl.callbacks.ModelCheckpoint)]
            kwargs["max_time"] = {"seconds": a.budget_s}
            super().__init__(*args, callbacks=[*kept, count], **kwargs)

        def fit(self, model: Any, train_dataloaders: Any = None, val_dataloaders: Any = None, **kw: Any) -> None:
            super().fit(model, train_dataloaders, val_dataloaders, **kw)
            self.validate(model, val_dataloaders)  # latent PCA + fidelity, which `rave export` reads
            path = os.path.join(self.logger.root_dir, "final.ckpt")
            self.save_checkpoint(path)
            a.summary.write_text(
                json.dumps(
                    {
                        "final_ckpt": path,
                        "batches": count.batches,
                        "global_step": int(self.global_step),
                        "epochs": int(self.current_epoch),
                        "train_loop_s": round(count.t1 - count.t0, 1),
                        "warmed_up": bool(model.warmed_up),
                        "torch_threads": torch.get_num_threads(),
                        "fidelity": [round(float(v), 4) for v in model.fidelity[:16]],
                    },
                    indent=2,
                )
            )

    pl.Trainer = BudgetTrainer
    app.run(rave_train.main, argv=["rave train", *rave_args])
    return 0


# ------------------------------------------------------------------------------------------------ main


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "rave-worker":
        return rave_worker(sys.argv[2:])
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=15.0, help="training budget of each model (wall clock)")
    p.add_argument("--data", type=Path, default=ROOT / "data" / "datasets" / "foley", help="prepared dataset")
    p.add_argument(
        "--s-per-step",
        type=float,
        nargs=2,
        default=(0.39, 3.8),
        metavar=("PHASE1", "PHASE2"),
        help="foley-small seconds per step on 1 thread for the scaled schedule (default: CPU time measured with "
        "--stop-at runs of 2 vs 32 phase-1 steps and 2 vs 7 phase-2 steps, 2026-11-28)",
    )
    p.add_argument("--nice", type=int, default=0, help="niceness of every child process (15 while developing)")
    p.add_argument(
        "--stages", default="data,train,export,eval", help="comma list of data,train,export,eval (default all)"
    )
    p.add_argument("--out", type=Path, default=RESULT, help="result JSON")
    args = p.parse_args()
    stages = set(args.stages.split(","))
    args.data = args.data.resolve()
    if not (RAVE_VENV / "bin" / "rave").is_file():
        raise SystemExit(f"{RAVE_VENV}: no RAVE venv (run tests/export/make_rave_export.sh)")
    WORK.mkdir(parents=True, exist_ok=True)
    state_path = WORK / "state.json"
    state: dict[str, Any] = json.loads(state_path.read_text()) if state_path.is_file() else {}
    budget_s = args.minutes * 60
    sched = foley_schedule(budget_s, *args.s_per_step)

    if "data" in stages:
        ensure_dataset(args.data, args.nice)
        state["rave_data"] = build_rave_audio(args.data, WORK / "rave_audio")
        shutil.rmtree(WORK / "rave_db", ignore_errors=True)
        run_logged(
            [
                "nice",
                "-n",
                str(args.nice),
                str(RAVE_VENV / "bin" / "rave"),
                "preprocess",
                "--input_path",
                str(WORK / "rave_audio"),
                "--output_path",
                str(WORK / "rave_db"),
                "--channels",
                "1",
                "--sampling_rate",
                str(state["rave_data"]["sample_rate"]),
            ],
            WORK / "logs" / "rave_preprocess.log",
            rave_env(),
        )
        print(f"RAVE input: {state['rave_data']}")
    if "train" in stages:
        state["training"] = train_both(args, sched)
        state["training"].update({"minutes": args.minutes, "foley_schedule": sched, "s_per_step": args.s_per_step})
    state_path.write_text(json.dumps(state, indent=2))
    if "export" in stages:
        state["exports"] = {k: str(v) for k, v in export_all(args).items()}
        state_path.write_text(json.dumps(state, indent=2))
    if "eval" not in stages:
        return 0

    import torch

    torch.set_num_threads(1)
    summary = json.loads((WORK / "rave_summary.json").read_text())
    facts = training_facts(summary)
    clips, labels = held_out(args.data)
    tr = state["training"]
    rows = []
    for label, path in state["exports"].items():
        row = score(label, Path(path), clips, labels)
        row.update(facts[label])
        row["budget_s"] = tr["minutes"] * 60
        if label == "foley-small@phase1":
            row["note"] = "the same run's end-of-phase-1 checkpoint (part of the budget, not a separate run)"
        rows.append(row)
        print(f"scored {label}: delay {row['delay_estimated']} (xcorr {row['delay_xcorr']})", flush=True)
    extra = mclt_rows()
    print_table(rows, extra)
    result = {
        "benchmark": "rave_vs_foleyvae",
        "data": f"{args.data}: train split for both trainings; valid split held out ({len(clips)} clips, "
        f"FoleyDataset valid, {CLIP} samples + {TAIL} zeros)",
        "training": {
            "budget_minutes_each": tr["minutes"],
            "parallel": "both at once, one thread each (OMP/MKL threads 1, torch.set_num_threads(1))",
            "started_utc": tr["started_utc"],
            "loadavg_at_start": tr.get("loadavg_at_start"),
            "loadavg_at_end": tr.get("loadavg_at_end"),
            "process_wall_s": tr["process_wall_s"],
            "foley_small": {
                "schedule": tr["foley_schedule"],
                "schedule_rule": "preset foley-small (phase1 6000 / max 8000 / KL warm-up 3000) scaled by one "
                "factor so that its expected time fills the budget, using measured s/step "
                f"{tr['s_per_step']} (phase 1, phase 2); no validation inside the budget",
                "batch": "8 x 16384 samples (preset)",
                "command": tr["commands"]["foley"],
            },
            "rave_v2_small": {
                "config": "v2_small (acids-rave 2.3.x defaults: batch 8 x 131072 samples, phase 1 for 1M steps)",
                "data": state.get("rave_data"),
                "budget_rule": "Lightning max_time = budget (training loop); RAVE's per-epoch checkpoint "
                "callbacks removed; one validation pass after it (latent PCA/fidelity) then final.ckpt",
                "torch_threads": summary.get("torch_threads"),
                "command": tr["commands"]["rave"],
            },
        },
        "evaluation": "exported files via foleyvae.export.loader.load_model, whole clip encode+decode per call "
        "(reset before each); delay = argmax of the mean normalised cross-correlation of log RMS envelopes "
        f"({ENV_WIN}-sample window) over lags {MIN_LAG}..{MAX_LAG} (delay_waveform: the same on the samples); "
        "metrics foleyvae.eval.metrics (as eval.suite), means over clips",
        "notes": [
            "foley-small's latent PCA (export fidelity 0.95) is fitted on the valid split by the training loop; "
            "RAVE's on its own internal validation chunk (train audio). Both exports keep the dims reaching "
            "fidelity 0.95 (latent_size of full_latent_size).",
            "Exports as shipped: RAVE's encode samples the posterior and its decode fills the dropped PCA dims "
            "with unit Gaussian noise (rave export); ours encodes the posterior mean (temperature 0) and fills "
            "them with zeros. Rendering is seeded (torch.manual_seed(0) per model).",
            "RAVE ran with the torchaudio stand-in (tests/export/rave_stub): its Spectrogram is the same "
            "torch.stft call (hann, centred, reflect pad) that RAVE's multiscale loss uses.",
        ],
        "machine": {
            "platform": platform.platform(),
            "torch": torch.__version__,
            "cpu_count": os.cpu_count(),
        },
        "rows": rows,
        "mclt_family_rows": {
            "source": str(MCLT_RESULT.relative_to(ROOT)),
            "note": "measured separately by benchmarks/mclt_family.py with its own budget (90 s each, phase 1 "
            "only, offline model(x) posterior mean, batch 8 x 32768): same 38 held-out clips and distance "
            "functions, not the same budget; snr_db is plain SNR",
            "rows": extra,
        },
    }
    from _results import write_results  # here, not at the top: the rave-worker runs in RAVE's venv (no foleyvae)

    write_results(args.out, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

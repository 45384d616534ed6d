"""The training loop: phase 1 (spectral reconstruction + KL), phase 2 (adversarial fine-tuning, encoder frozen).

Resumable exactly: a checkpoint carries the step, model, optimizers, RNG states, the data position (epoch and
batch within it) and the time-budget plan if any; the phase, KL weight and learning rate are pure functions of the
step under that plan. Checkpoints are written periodically, at the phase boundary, at the end and on SIGINT/SIGTERM
(at the next step boundary), always atomically, so a SIGKILL loses at most the steps since the last checkpoint.

With a time budget to fit (``--time-budget M``), the first steps measure the step rate and
:func:`foleyvae.training.schedule.plan_for_budget` scales the configured schedule (phase 1, KL warm-up, phase 2,
learning-rate decay, validation and checkpoint spacing) to the budget, once.
"""

from __future__ import annotations

import contextlib
import json
import math
import random
import signal
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from foleyvae.checkpoints import CheckpointError, load_checkpoint
from foleyvae.config import Config, TrainConfig, save_config
from foleyvae.data.materials import materials_of_labels
from foleyvae.data.prepare import read_manifest
from foleyvae.errors import FoleyError
from foleyvae.models.conditioning import material_weights
from foleyvae.training.checkpoint import save_checkpoint
from foleyvae.training.distributed import DistInfo, all_reduce_grads, all_reduce_mean, init_distributed, shutdown
from foleyvae.training.init import InitWeights, init_from
from foleyvae.training.schedule import SchedulePlan, beta_of, fine_tune_defaults, lr_of, phase_of, plan_for_budget
from foleyvae.training.threads import ThreadChoice, available_cores, choose_threads, load_average

__all__ = ["TrainOptions", "TrainResult", "Trainer", "train"]

# Steps before the rate is measured (allocation, kernel choice), then steps measured, when planning for a budget.
PLAN_WARMUP_STEPS = 2
PLAN_MEASURE_STEPS = 4
# A phase-2 step ~ a phase-1 step + this many timed discriminator passes (measured: tiny 5.9x a phase-1 step where
# this estimates 5.3x, foley-small 8.7x where it estimates 9.6x; see schedule.PHASE2_COST).
DISC_PASSES = 1.6


@dataclass
class TrainOptions:
    data: Path
    out: Path
    resume: bool = False
    force: bool = False
    device: str = "auto"
    progress: bool = True
    threads: int | None = None  # None: measured (training/threads.py)
    time_budget_s: float | None = None  # stop (with a checkpoint) after this much wall-clock time
    fit_budget: bool = False  # scale the schedule to the time budget (the CLI's default) instead of only stopping
    stop_at_step: int | None = None  # checkpoint and exit at this step (train in several sittings)
    init_from: InitWeights | None = None  # start from these generator weights (fine-tuning; read by the CLI)
    freeze_encoder: bool = False  # train the decoder only: the latent space (and its label centroids) stays
    explicit: frozenset[str] = frozenset()  # "train.KEY"s the user set: fine-tuning defaults leave them alone
    log: Callable[[str], None] = field(default=lambda s: print(s, file=sys.stderr))


@dataclass
class TrainResult:
    step: int
    stopped_early: bool  # by a signal, --stop-at or the time budget (see ``budget_spent``)
    nan_steps: int
    validations: list[dict[str, float]]
    budget_spent: bool = False
    plan: SchedulePlan | None = None


class _StopFlag:
    """Set by SIGINT/SIGTERM; the loop checkpoints and exits at the next step boundary."""

    def __init__(self) -> None:
        self.stop = False
        self._old: dict[int, Any] = {}

    def __enter__(self) -> _StopFlag:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(ValueError):  # not the main thread: no handler
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        self.stop = True

    def __exit__(self, *exc: object) -> None:
        for sig, h in self._old.items():
            signal.signal(sig, h)


def _pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def _rng_state() -> dict[str, Any]:
    st: dict[str, Any] = {"torch": torch.get_rng_state(), "python": list(random.getstate()[1])}
    np_state: Any = np.random.get_state()
    st["numpy"] = {"keys": torch.from_numpy(np.asarray(np_state[1]).astype(np.int64)), "pos": int(np_state[2])}
    if torch.cuda.is_available():
        st["cuda"] = torch.cuda.get_rng_state_all()
    return st


def _set_rng_state(st: dict[str, Any]) -> None:
    torch.set_rng_state(st["torch"])
    random.setstate((3, tuple(st["python"]), None))
    np.random.set_state(("MT19937", st["numpy"]["keys"].numpy().astype(np.uint32), st["numpy"]["pos"], 0, 0.0))
    if "cuda" in st and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(st["cuda"])


def _batches(loader: Any, epoch: int, skip: int) -> Iterator[tuple[int, int, torch.Tensor]]:
    """Endless (epoch, index, batch) stream starting at ``epoch``, skipping the first ``skip`` batches."""
    from foleyvae.data.dataset import set_loader_epoch

    while True:
        set_loader_epoch(loader, epoch)
        for i, batch in enumerate(loader):
            if i < skip:
                continue
            yield epoch, i, batch
        skip = 0
        epoch += 1


def _settings_diff(section: str, saved: Any, now: dict[str, Any]) -> list[str]:
    """``"model.capacity: checkpoint 4, requested 6"`` for each setting of ``section`` that differs."""
    if not isinstance(saved, dict):
        return [f"{section}: the checkpoint has none"]
    saved = {**Config().to_dict().get(section, {}), **saved}  # settings the checkpoint predates: their defaults
    keys = sorted(set(saved) | set(now))
    return [
        f"{section}.{k}: checkpoint {saved.get(k)!r}, requested {now.get(k)!r}"
        for k in keys
        if saved.get(k) != now.get(k)
    ]


def train(cfg: Config, opts: TrainOptions) -> TrainResult:
    """Train ``cfg`` on the prepared dataset ``opts.data`` into the run folder ``opts.out``."""
    return Trainer(cfg, opts).run()


class Trainer:
    """One training run: owns the model, optimizers, data stream, schedule (planned or configured) and run folder.

    ``run()`` = setup (resume or start, data, models, threads) -> steps until the schedule, a signal, ``--stop-at``
    or the time budget ends it -> final checkpoint and latent analysis.
    """

    def __init__(self, cfg: Config, opts: TrainOptions) -> None:
        self.cfg, self.opts, self.log = cfg, opts, opts.log
        self.t0 = time.perf_counter()  # the time budget counts from here: setup and probes are the user's minutes
        self.device = _pick_device(opts.device)
        self.info = init_distributed(self.device)
        if self.info.enabled and self.device.type == "cuda":
            self.device = torch.device("cuda", self.info.local_rank)
        self.out = Path(opts.out)
        self.ckpt_dir = self.out / "checkpoints"
        self.last = self.ckpt_dir / "last.ckpt"
        self.step = self.epoch = self.batch_in_epoch = self.nan_total = self.consecutive_nan = 0
        self.validations: list[dict[str, float]] = []
        self.plan: SchedulePlan | None = None
        self.writer: Any = None
        self.disc: torch.nn.Module | None = None
        self.opt_d: torch.optim.Optimizer | None = None
        self.step_seconds = 0.0  # time inside train steps since the rate window opened (for the plan)
        self.valid_s = 0.0  # the last validation's duration (for the plan)
        self.freeze_encoder = opts.freeze_encoder  # a resumed run keeps its own (its optimizer state needs it)
        self.fine_tune: dict[str, Any] = {}  # FINE_TUNE_DEFAULTS applied to this run (saved, kept on resume)

    @property
    def t(self) -> TrainConfig:
        return self.cfg.train

    # ------------------------------------------------------------------------------------------------ setup

    def _resume_state(self) -> dict[str, Any] | None:
        if not self.opts.resume:
            if self.last.is_file() and not self.opts.force:
                raise FoleyError(
                    f"{self.out}: already holds a run (use --resume to continue it or --force to start over)"
                )
            return None
        if not self.last.is_file():
            raise FoleyError(f"{self.out}: nothing to resume (no checkpoints/last.ckpt)")
        state = load_checkpoint(self.last)
        saved, now = state.get("config", {}), self.cfg.to_dict()
        diffs = [d for key in ("model", "audio") for d in _settings_diff(key, saved.get(key), now[key])]
        if diffs:
            raise CheckpointError(
                f"{self.last}: cannot resume, the checkpoint's model settings differ from the requested config: "
                f"{'; '.join(diffs)} (use the run's preset/--set values, or train into a new --out folder)"
            )
        self.freeze_encoder = bool(state.get("freeze_encoder", False))
        self.fine_tune = dict(state.get("fine_tune") or {})
        if self.fine_tune:  # the run's own fine-tuning settings, like its plan
            self.cfg = replace(self.cfg, train=replace(self.cfg.train, **self.fine_tune))
        if state.get("plan"):
            self.plan = SchedulePlan.from_dict(state["plan"])
            self.cfg = replace(self.cfg, train=self.plan.apply(self.cfg.train))
        return state

    def _resolve_materials(self) -> None:
        """``model.materials: [auto]`` -> every material the dataset's labels name (the saved config lists them)."""
        if tuple(self.cfg.model.materials) != ("auto",):
            return
        found = materials_of_labels(sorted({str(e["label"]) for e in read_manifest(Path(self.opts.data))}))
        if not found:
            raise FoleyError(f"{self.opts.data}: model.materials=auto, but no label names a material (wood, metal...)")
        self.cfg = replace(self.cfg, model=replace(self.cfg.model, materials=tuple(found)))
        self.log(f"material conditioning on {len(found)} materials: {', '.join(found)}")

    def _build_data(self) -> None:
        from foleyvae.data.dataset import FoleyDataset, make_loader

        t, data = self.t, Path(self.opts.data)
        mats = tuple(self.cfg.model.materials)
        self.train_ds = FoleyDataset(data, "train", t.n_samples, augment=t.augment, seed=t.seed, materials=mats)
        self.valid_ds = self._valid_dataset(data)
        if self.train_ds.sample_rate != self.cfg.audio.sample_rate:
            raise FoleyError(
                f"{data}: dataset is {self.train_ds.sample_rate} Hz but the config wants {self.cfg.audio.sample_rate}"
                f" Hz (re-run prepare with --sample-rate {self.cfg.audio.sample_rate} or pick a matching preset)"
            )
        if self.train_ds.channels != self.cfg.audio.channels:
            raise FoleyError(
                f"{data}: dataset has {self.train_ds.channels} channels, config wants {self.cfg.audio.channels}"
            )
        need = t.batch_size * self.info.world_size
        if len(self.train_ds) < need:  # a few short files: every example is a fresh random crop, so repeat them
            self.log(
                f"warning: {data} gives {len(self.train_ds)} training example(s), fewer than one batch of {need}: "
                "each epoch repeats them (random crops and augmentation differ); more files would help"
            )
            self.train_ds = FoleyDataset(
                data, "train", t.n_samples, augment=t.augment, seed=t.seed, examples_per_epoch=need, materials=mats
            )
        self.loader = make_loader(
            self.train_ds,
            t.batch_size,
            shuffle=True,
            seed=t.seed,
            distributed=self.info.enabled,
            num_workers=t.num_workers,
            drop_last=True,
        )

    def _valid_dataset(self, data: Path) -> Any:
        """The valid split; without one (a one-file dataset), validation crops of the training files, said once."""
        from foleyvae.data.dataset import FoleyDataset

        if any(e.get("split") == "valid" for e in read_manifest(data)):
            return FoleyDataset(data, "valid", self.t.n_samples, augment=False, seed=self.t.seed)
        self.log(
            f"warning: {data} has no 'valid' files, so validation uses the training files (it measures fit, not "
            "generalisation). For a real valid split prepare at least 2 files with --valid-fraction > 0 and --force"
        )
        return FoleyDataset(data, "valid", self.t.n_samples, augment=False, seed=self.t.seed, files="train")

    def _build_models(self) -> None:
        from foleyvae.models.builders import build_model

        t = self.t
        torch.manual_seed(t.seed + self.info.rank)
        self.model = build_model(self.cfg).to(self.device)
        if self.freeze_encoder:
            self._freeze_encoder()
        self.gen_params = [p for p in self.model.parameters() if p.requires_grad]
        self.opt_g = torch.optim.Adam(self._param_groups(), lr=t.lr, betas=(0.5, 0.9))
        if self.model.supports_adversarial and t.max_steps > t.phase1_steps:
            from foleyvae.models.discriminators import build_discriminator

            channels = self.cfg.audio.channels
            self.disc = build_discriminator(t.discriminator, channels, t.discriminator_capacity, t.periods)
            self.disc = self.disc.to(self.device)
            self.opt_d = torch.optim.Adam(self.disc.parameters(), lr=t.lr_disc, betas=(0.5, 0.9))

    def _encoder_parts(self) -> list[nn.Module]:
        return [m for name in ("encoder", "to_latent") if isinstance(m := getattr(self.model, name, None), nn.Module)]

    def _freeze_encoder(self) -> None:
        parts = self._encoder_parts()
        if not parts:
            raise FoleyError(f"--freeze-encoder: the {self.cfg.name} model has no separate encoder")
        for m in parts:
            m.requires_grad_(False)

    def _param_groups(self) -> list[dict[str, Any]]:
        """The generator's trainable weights; with ``train.encoder_lr_scale`` < 1 the encoder's in a group of its own
        whose ``lr_scale`` multiplies the scheduled rate (one group otherwise, as older checkpoints saved)."""
        scale = self.t.encoder_lr_scale
        enc = {id(p) for m in self._encoder_parts() for p in m.parameters() if p.requires_grad}
        if scale == 1.0 or not enc:
            return [{"params": self.gen_params, "lr_scale": 1.0}]
        rest = [p for p in self.gen_params if id(p) not in enc]
        return [
            {"params": rest, "lr_scale": 1.0},
            {"params": [p for p in self.gen_params if id(p) in enc], "lr_scale": scale},
        ]

    def _set_threads(self) -> None:
        """``--threads`` as given, else measured (CPU only): one line says what and why."""
        if self.device.type != "cpu":
            return
        if self.opts.threads:
            torch.set_num_threads(self.opts.threads)
            return
        cores = available_cores()
        if self.info.enabled:
            choice = ThreadChoice(max(1, cores // self.info.world_size), f"{cores} cores shared by the processes")
        else:
            choice = choose_threads(self._probe_step, cores, load_average())
        torch.set_num_threads(choice.threads)
        if self.info.is_main:
            self.log(choice.describe())

    def _probe_step(self) -> None:
        """One phase-1 forward + backward on noise; leaves weights, gradients and every RNG as they were."""
        t = self.t
        with torch.random.fork_rng(devices=[]):
            x = 0.1 * torch.randn(t.batch_size, self.cfg.audio.channels, t.n_samples, device=self.device)
            terms = self.model.compute_losses(x)
            total = sum(terms.recon.values(), torch.zeros((), device=self.device)) + terms.kl
            total.backward()
        self.opt_g.zero_grad(set_to_none=True)

    def _restore(self, state: dict[str, Any] | None) -> None:
        if state is not None:
            self.model.load_state_dict(state["model"])
            self.opt_g.load_state_dict(state["opt_g"])
            if self.disc is not None and self.opt_d is not None and "disc" in state:
                self.disc.load_state_dict(state["disc"])
                self.opt_d.load_state_dict(state["opt_d"])
            self.step, self.epoch, self.batch_in_epoch = int(state["step"]), int(state["epoch"]), int(state["batch"])
            self.nan_total = int(state.get("nan_steps", 0))
            _set_rng_state(state["rng"])
            self.log(f"resumed {self.out} at step {self.step} (phase {phase_of(self.step, self.t)})")
            if self.plan is not None:
                self.log(f"resuming its {self.plan.describe()}")
        elif self.opts.init_from is not None:
            self.log(init_from(self.model, self.cfg, self.opts.init_from))

    def _fine_tune_settings(self) -> None:
        """A new fine-tune (``--init-from``): FINE_TUNE_DEFAULTS where the user set nothing, said in one line."""
        self.fine_tune = dict(fine_tune_defaults(self.t, self.opts.explicit))
        if self.fine_tune:
            was = ", ".join(f"{k} {v} (preset {getattr(self.t, k)})" for k, v in self.fine_tune.items())
            was += "; phase 1 only" if "phase1_steps" in self.fine_tune else ""
            self.log(f"fine-tuning defaults: {was}; --set train.KEY=VALUE to choose")
            self.cfg = replace(self.cfg, train=replace(self.t, **self.fine_tune))

    def _open_run_folder(self) -> None:
        self.labels = self.train_ds.labels
        self.credits = _credits(Path(self.opts.data))
        if not self.info.is_main:
            return
        self.out.mkdir(parents=True, exist_ok=True)
        self.ckpt_dir.mkdir(exist_ok=True)
        if not self.opts.resume:  # --force starts over: the old run's curve would mix with the new one
            (self.out / "metrics.jsonl").unlink(missing_ok=True)
        save_config(self.cfg, self.out / "config.yaml")
        self.writer = _tensorboard(self.out / "logs", self.log)
        if self.writer is not None:
            self.log(f"TensorBoard logs: {self.out / 'logs'} (watch with: tensorboard --logdir {self.out / 'logs'})")

    # ------------------------------------------------------------------------------------------------ checkpoints

    def snapshot(self) -> dict[str, Any]:
        st: dict[str, Any] = {
            "config": self.cfg.to_dict(),
            "step": self.step,
            "phase": phase_of(self.step, self.t),
            "epoch": self.epoch,
            "batch": self.batch_in_epoch,
            "model": self.model.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "rng": _rng_state(),
            "nan_steps": self.nan_total,
            "labels": self.labels,
            "credits": self.credits,
            "init_from": self.opts.init_from.source if self.opts.init_from is not None else None,
            "plan": self.plan.to_dict() if self.plan is not None else None,
            "freeze_encoder": self.freeze_encoder,
            "fine_tune": self.fine_tune,
        }
        if self.disc is not None and self.opt_d is not None:
            st["disc"] = self.disc.state_dict()
            st["opt_d"] = self.opt_d.state_dict()
        return st

    def checkpoint(self, extra_name: str | None = None) -> None:
        if not self.info.is_main:
            return
        st = self.snapshot()
        save_checkpoint(self.last, st)
        if extra_name:
            save_checkpoint(self.ckpt_dir / extra_name, st)

    def _tell_checkpoints(self) -> None:
        every = self.t.checkpoint_every
        first = (self.step // every + 1) * every
        rate = f" (~{every / self.plan.steps_per_s:.2g} s apart)" if self.plan is not None else ""
        if first >= self.t.max_steps:
            self.log(f"checkpoint: {self.last} at the end (step {self.t.max_steps}), or on Ctrl-C")
        else:
            self.log(f"checkpoints: {self.last}, every {every} steps{rate}; the next at step {first}")

    # ------------------------------------------------------------------------------------------------ the loop

    def run(self) -> TrainResult:
        self._resolve_materials()
        state = self._resume_state()
        if state is None and self.opts.init_from is not None:
            self._fine_tune_settings()  # before the models: it sets the optimizer's groups and phase 2
        self._build_data()
        self._build_models()
        self._set_threads()
        self._restore(state)
        self._open_run_folder()
        if state is None:
            self._validate()  # the starting point: the "before" of the closing table
        if self.info.is_main and not self._plan_pending():
            self._tell_checkpoints()
        from tqdm import tqdm

        self.bar = tqdm(
            total=self.t.max_steps,
            initial=self.step,
            disable=not (self.opts.progress and self.info.is_main),
            file=sys.stderr,
            dynamic_ncols=True,
            desc="train",
        )
        self.stream = _batches(self.loader, self.epoch, self.batch_in_epoch)
        self.start_step = self.step
        self.t_log, self.steps_since = time.perf_counter(), 0
        self.model.train()
        with _StopFlag() as flag:
            stopped, budget_spent = self._loop(flag)
            if budget_spent and (not self.validations or self.validations[-1]["step"] != self.step):
                self._validate()  # the run's result, for metrics.jsonl and the closing table
            if not stopped or self.step > 0:
                self.checkpoint()
            finished = budget_spent or (not stopped and self.step >= self.t.max_steps)  # not a pause
            if finished and self.t.phase1_steps != self.step:
                self._analyze()
        self.bar.close()
        self._closing_table()
        if self.writer is not None:
            self.writer.close()
        shutdown(self.info)
        return TrainResult(
            step=self.step,
            stopped_early=stopped,
            nan_steps=self.nan_total,
            validations=self.validations,
            budget_spent=budget_spent,
            plan=self.plan,
        )

    def _loop(self, flag: _StopFlag) -> tuple[bool, bool]:
        """Steps until the end; returns (stopped early, by the time budget)."""
        while self.step < self.t.max_steps:
            if flag.stop:
                self.log(f"signal received: checkpoint at step {self.step}")
                return True, False
            if self.opts.stop_at_step is not None and self.step >= self.opts.stop_at_step:
                return True, False
            if self._budget_spent():
                minutes = (self.opts.time_budget_s or 0.0) / 60
                self.log(f"time budget of {minutes:.3g} min reached: checkpoint at step {self.step}")
                return True, True
            logs = self._train_step()
            self._after_step(logs)
        return False, False

    def _budget_spent(self) -> bool:
        budget = self.opts.time_budget_s
        # one step at least, and the few the plan measures (a plan always exists once asked for)
        if budget is None or self.step == self.start_step or self._plan_pending():
            return False
        over = time.perf_counter() - self.t0 > budget
        if self.info.enabled:  # every rank stops at the same step, or the others wait forever in a collective
            over = float(all_reduce_mean(torch.tensor([float(over)], device=self.device), self.info)) > 0
        return over

    def _train_step(self) -> dict[str, float]:
        """One optimisation step (NaN/inf losses or gradients skipped, too many in a row stop the run)."""
        t = self.t
        self.epoch, bidx, batch = next(self.stream)
        t_step = time.perf_counter()
        material = None
        if isinstance(batch, (list, tuple)):  # a conditioned model's (crops, material indices)
            batch, material = batch[0], batch[1].to(self.device)
        x = batch.to(self.device, non_blocking=True)
        phase, beta, lr = phase_of(self.step, t), beta_of(self.step, t), lr_of(self.step, t)
        for g in self.opt_g.param_groups:
            g["lr"] = lr * g.get("lr_scale", 1.0)
        amp = torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.device.type == "cuda" and t.mixed_precision)
        try:
            with amp:
                total, logs = _generator_step(
                    self.model, self.disc, self.opt_d, x, phase, beta, self.cfg, self.info, material
                )
        except torch.OutOfMemoryError:
            raise FoleyError(
                f"out of memory at batch {t.batch_size} x {t.n_samples} samples "
                "(try --set train.batch_size=4 or a smaller train.n_samples)"
            ) from None
        finite = bool(torch.isfinite(total))
        self.opt_g.zero_grad(set_to_none=True)
        if finite:
            total.backward()
            all_reduce_grads(self.gen_params, self.info)
            # a finite loss can still give inf/NaN gradients; stepping on them would poison every weight
            finite = bool(torch.isfinite(torch.nn.utils.clip_grad_norm_(self.gen_params, t.grad_clip)))
        if finite:
            self.consecutive_nan = 0
            self.opt_g.step()
        else:
            self._skip_nan_step()
        self.step += 1
        self.batch_in_epoch = bidx + 1
        self.step_seconds += time.perf_counter() - t_step
        logs["sched/beta"], logs["sched/lr"] = beta, lr
        return logs

    def _skip_nan_step(self) -> None:
        self.nan_total += 1
        self.consecutive_nan += 1
        self.opt_g.zero_grad(set_to_none=True)
        if self.consecutive_nan >= self.t.max_nan_steps:
            self.checkpoint()
            raise FoleyError(
                f"loss or gradients were NaN/inf for {self.consecutive_nan} consecutive steps at step {self.step} "
                f"({self.nan_total} skipped in all); stopping. Lower train.lr or check the data."
            )

    def _after_step(self, logs: dict[str, float]) -> None:
        self.steps_since += 1
        self.bar.update(1)
        self._maybe_plan()
        t = self.t  # after the plan, which may change it
        if self.step % t.log_every == 0 and self.info.is_main:
            self._log_scalars(logs)
        if self.step % t.val_every == 0 or self.step == t.max_steps:
            self._validate()
        if self.step == t.phase1_steps and t.phase1_steps > 0:
            self.checkpoint("phase1.ckpt")
            self._analyze()
        elif self.step % t.checkpoint_every == 0:
            self.checkpoint()

    def _log_scalars(self, logs: dict[str, float]) -> None:
        now = time.perf_counter()
        logs["perf/steps_per_s"] = self.steps_since / max(now - self.t_log, 1e-9)
        self.t_log, self.steps_since = now, 0
        post = {k.split("/")[-1]: f"{v:.3g}" for k, v in logs.items() if k.startswith(("spec", "adv", "perf"))}
        if self.opts.time_budget_s is not None:
            post["min"] = f"{(now - self.t0) / 60:.1f}/{self.opts.time_budget_s / 60:.3g}"
        self.bar.set_postfix(post)
        if self.writer is not None:
            for k, v in logs.items():
                self.writer.add_scalar(k, v, self.step)

    # ------------------------------------------------------------------------------------------------ the plan

    def _plan_pending(self) -> bool:
        return self.opts.time_budget_s is not None and self.opts.fit_budget and self.plan is None

    def _maybe_plan(self) -> None:
        """With a time budget to fit: after PLAN_WARMUP + PLAN_MEASURE steps, fit the schedule to the budget once."""
        budget = self.opts.time_budget_s
        if budget is None or not self._plan_pending():
            return
        done = self.step - self.start_step
        if done == PLAN_WARMUP_STEPS:
            self.step_seconds = 0.0  # the first steps allocate and pick kernels: not the steady rate
        if done != PLAN_WARMUP_STEPS + PLAN_MEASURE_STEPS:
            return
        step_s = self.step_seconds / PLAN_MEASURE_STEPS
        t_ckpt = time.perf_counter()
        self.checkpoint()  # the first checkpoint, early, and what one costs
        ckpt_s = time.perf_counter() - t_ckpt
        phase2_cost = 1.0 + DISC_PASSES * self._probe_disc() / step_s if self.disc is not None else 1.0
        measured = torch.tensor([step_s, phase2_cost, self.valid_s, ckpt_s], dtype=torch.float64, device=self.device)
        # every rank must make the same plan: rank 0's measures, sent to all (a sum of rank 0's and zeros)
        measured = all_reduce_mean(measured * float(self.info.is_main), self.info) * self.info.world_size
        step_s, phase2_cost, valid_s, ckpt_s = (float(v) for v in measured)
        self.plan = plan_for_budget(
            self.t,
            1.0 / max(step_s, 1e-9),
            budget,
            time.perf_counter() - self.t0,
            self.step,
            adversarial=self.disc is not None,
            phase2_cost=phase2_cost,
            valid_s=valid_s,
            checkpoint_s=ckpt_s,
        )
        self.cfg = replace(self.cfg, train=self.plan.apply(self.t))
        self.bar.total = self.t.max_steps
        self.bar.refresh()
        if self.info.is_main:
            extra = f" (a phase-2 step measured as {phase2_cost:.1f} phase-1 steps)" if self.disc is not None else ""
            self.log(self.plan.describe() + extra)
            save_config(self.cfg, self.out / "config.yaml")
            self._tell_checkpoints()

    def _probe_disc(self) -> float:
        """Seconds of one discriminator forward + backward on a real and a fake batch (nothing changes)."""
        from foleyvae.losses.adversarial import discriminator_loss

        assert self.disc is not None
        t = self.t
        seconds = 0.0
        with torch.random.fork_rng(devices=[]):
            x = 0.1 * torch.randn(t.batch_size, self.cfg.audio.channels, t.n_samples, device=self.device)
            for _ in range(2):  # the first pass allocates: the second is the one timed
                t0 = time.perf_counter()
                discriminator_loss(self.disc(x), self.disc(0.5 * x), t.gan_loss).backward()
                seconds = time.perf_counter() - t0
        self.disc.zero_grad(set_to_none=True)
        return seconds

    # ------------------------------------------------------------------------------------------------ evaluation

    def _validate(self) -> None:
        t0 = time.perf_counter()
        val = _validate(self.model, self.valid_ds, self.cfg, self.device, self.info, self.writer, self.step)
        val["phase"] = phase_of(max(self.step - 1, 0), self.t)  # the phase the last step trained in
        self.validations.append(val)
        if self.info.is_main:
            _append_jsonl(self.out / "metrics.jsonl", val)
            self.log(
                f"step {self.step} (phase {val['phase']}): valid multiscale {val['valid/multiscale']:.4f} "
                f"mel {val['valid/mel']:.4f}"
            )
        self.model.train()
        self.valid_s = time.perf_counter() - t0

    def _analyze(self) -> None:
        """The latent analysis export needs; a dataset too small for it warns and keeps the run (issue 22)."""
        if not self.info.is_main:
            return
        _analyze_or_warn(self.model, self.valid_ds, self.out, self.device, self.log)
        self.model.train()

    def _closing_table(self) -> None:
        """Valid distances of the starting model vs the result (when both were measured in this sitting)."""
        if not self.info.is_main or len(self.validations) < 2 or self.validations[0]["step"] != 0:
            return
        a, b = self.validations[0], self.validations[-1]
        init = self.opts.init_from
        start = f"start ({init.source})" if init is not None else "start (random)"
        lines = [f"valid split    {start:>24s} {'step ' + str(int(b['step'])):>12s}  change"]
        for key in ("valid/multiscale", "valid/mel"):
            change = (b[key] - a[key]) / a[key] * 100 if a[key] else 0.0
            lines.append(f"{key[6:]:14s} {a[key]:24.4f} {b[key]:12.4f}  {change:+.1f} %")
        self.log("\n".join(lines))


def _material_condition(model: Any, x: torch.Tensor, material: torch.Tensor | None, dropout: float) -> Any:
    """A conditioned model's training condition ``[B, K, frames]`` (one-hot, label dropout); None otherwise."""
    if material is None or not getattr(model, "n_materials", 0):
        return None
    return material_weights(material, model.n_materials, x.shape[-1] // model.hop_length, dropout)


def _generator_step(
    model: Any,
    disc: Any,
    opt_d: Any,
    x: torch.Tensor,
    phase: int,
    beta: float,
    cfg: Config,
    info: DistInfo,
    material: torch.Tensor | None = None,
) -> tuple[torch.Tensor, dict[str, float]]:
    """Losses of one step; in phase 2 also updates the discriminator. Returns (total, scalar logs).

    material: a conditioned model's material index per clip ``[B]`` (-1 = none), else None.
    """
    t = cfg.train
    weights = _material_condition(model, x, material, t.material_dropout)
    if phase == 1 or disc is None:
        if weights is None:
            terms = model.compute_losses(x)
        else:
            terms = model.compute_losses(x, weights, material, t.material_critic, t.material_judge, t.material_envelope)
        recon, kl = terms.recon, terms.kl
        total = sum(recon.values(), torch.zeros((), device=x.device)) + beta * kl
        total = total + sum(terms.extras.values(), torch.zeros((), device=x.device))
        logs = {k: float(v.detach()) for k, v in recon.items()}
        logs.update({k: float(v.detach()) for k, v in terms.extras.items()})
        logs["reg/kl"] = float(kl.detach())
        logs["total"] = float(total.detach())
        return total, logs
    from foleyvae.losses.adversarial import discriminator_loss, feature_matching, generator_loss

    with torch.no_grad():  # phase 2: the encoder is frozen
        enc = model.encode(x, sample=True)
    y_raw = model.decode(enc.z if weights is None else model.with_materials(enc.z, weights))
    recon = model.reconstruction_losses(x, y_raw)
    extras: dict[str, torch.Tensor] = {}
    if weights is not None and t.material_judge > 0.0:  # the swap terms keep the material heard in phase 2 too
        extras = model.material_losses(x, enc, material, 0.0, t.material_judge, t.material_envelope)
    xa, ya = model.align(x, y_raw)
    # discriminator step
    d_loss = discriminator_loss(disc(xa), disc(ya.detach()), t.gan_loss)
    opt_d.zero_grad(set_to_none=True)
    if torch.isfinite(d_loss):
        d_loss.backward()
        all_reduce_grads(disc.parameters(), info)
        opt_d.step()
    with torch.no_grad():  # feature matching detaches the real features: no graph for them (saves a backward)
        real = disc(xa)
    fake = disc(ya)
    adv = generator_loss(fake, t.gan_loss)
    fm = feature_matching(real, fake)
    total = sum(recon.values(), torch.zeros((), device=x.device)) + t.adv_weight * adv + t.feature_matching_weight * fm
    total = total + sum(extras.values(), torch.zeros((), device=x.device))
    logs = {k: float(v.detach()) for k, v in recon.items()}
    logs.update({k: float(v.detach()) for k, v in extras.items()})
    logs.update({"adv/gen": float(adv.detach()), "adv/feat": float(fm.detach()), "adv/disc": float(d_loss.detach())})
    logs["total"] = float(total.detach())
    # the discriminator's parameters received generator gradients through `fake`; they are cleared at its next step
    return total, logs


@torch.no_grad()
def _validate(
    model: Any, ds: Any, cfg: Config, device: torch.device, info: DistInfo, writer: Any, step: int
) -> dict[str, float]:
    """Held-out multiscale spectral distance and mel distance (aligned, posterior mean)."""
    from foleyvae.audio.distances import MelDistance, MultiScaleSTFT

    model.eval()
    ms, mel = MultiScaleSTFT().to(device), MelDistance(cfg.audio.sample_rate).to(device)
    n = min(len(ds), cfg.train.val_examples)
    tot_ms, tot_mel, count = 0.0, 0.0, 0
    first: tuple[torch.Tensor, torch.Tensor] | None = None
    for i in range(0, n, cfg.train.batch_size):
        x = torch.stack([ds[j] for j in range(i, min(n, i + cfg.train.batch_size))]).to(device)
        y = model(x)
        b = x.shape[0]
        tot_ms += float(ms(x, y)) * b
        tot_mel += float(mel(x, y)) * b
        count += b
        if first is None:
            first = (x[0].cpu(), y[0].cpu())
    res = torch.tensor([tot_ms / max(count, 1), tot_mel / max(count, 1)], device=device)
    res = all_reduce_mean(res, info)
    out = {"step": float(step), "valid/multiscale": float(res[0]), "valid/mel": float(res[1])}
    if writer is not None and first is not None:
        writer.add_scalar("valid/multiscale", out["valid/multiscale"], step)
        writer.add_scalar("valid/mel", out["valid/mel"], step)
        sr = cfg.audio.sample_rate
        writer.add_audio("valid/input", first[0][0].clamp(-1, 1), step, sample_rate=sr)
        writer.add_audio("valid/output", first[1][0].clamp(-1, 1), step, sample_rate=sr)
        writer.add_image("valid/spectrogram", _spectrogram_image(first[0][0], first[1][0]), step, dataformats="HW")
    return out


def _spectrogram_image(x: torch.Tensor, y: torch.Tensor) -> np.ndarray:
    """Log spectrograms of input (top) and output (bottom), [H, W] in [0, 1]."""
    w = torch.hann_window(1024)
    imgs = []
    for s in (x, y):
        spec = torch.stft(s, 1024, 256, window=w, return_complex=True).abs()
        db = 20 * torch.log10(spec + 1e-5)
        imgs.append(((db.clamp(-100, 0) + 100) / 100).flip(0).numpy())
    return np.concatenate(imgs, axis=0)


@torch.no_grad()
def analyze_run_model(model: Any, ds: Any, out: Path, device: torch.device) -> Any:
    """PCA of posterior means over the validation set -> out/latent.json (fidelity, centroids per label)."""
    from foleyvae.analysis.latent import fit_latent_space

    model.eval()
    means, labels = [], []
    for i in range(len(ds)):
        x = ds[i].unsqueeze(0).to(device)
        hop = model.hop_length
        x = x[..., : x.shape[-1] // hop * hop]
        mean = model.encode(x, sample=False).mean[0]
        if mean.is_complex():  # the CVAE: real and imaginary parts as 2L real dims (its exported latent)
            mean = torch.cat([mean.real, mean.imag], dim=0)
        means.append(mean.cpu().numpy())
        labels.append(ds.label_of(i))
    space = fit_latent_space(np.stack(means).astype(np.float64), labels)
    space.save(out / "latent.json")
    return space


def _analyze_or_warn(model: Any, ds: Any, out: Path, device: torch.device, log: Callable[[str], None]) -> None:
    """:func:`analyze_run_model`, but an analysis the data cannot support (e.g. an MCLT model's single latent frame
    over a one-clip validation set) only warns: the training is done and its checkpoint stands; export works
    without ``latent.json`` (raw latent order)."""
    try:
        analyze_run_model(model, ds, out, device)
    except FoleyError as e:
        log(f"warning: no latent analysis ({e}); the checkpoint is kept, export uses the raw latent order")


def _append_jsonl(path: Path, row: dict[str, float]) -> None:
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(row) + "\n")


def _credits(data: Path) -> list[str]:
    """Licence credits of the training data (from the prepared dataset's info), for model cards."""
    try:
        from foleyvae.data.prepare import read_dataset_info

        info = read_dataset_info(data)
    except Exception:
        return []
    creds = info.get("credits") or info.get("licences") or []
    if isinstance(creds, dict):
        return [f"{k}: {v}" for k, v in creds.items()]
    return [str(c) for c in creds] if isinstance(creds, list) else []


def _tensorboard(path: Path, log: Callable[[str], None]) -> Any:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        log("tensorboard not installed: no TensorBoard logs (pip install 'foleyvae[train]')")
        return None
    return SummaryWriter(str(path))


def steps_per_epoch(n_examples: int, batch: int) -> int:
    return max(1, math.floor(n_examples / batch))

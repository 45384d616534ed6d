"""The training loop: phase 1 (spectral reconstruction + KL), phase 2 (adversarial fine-tuning, encoder frozen).

Resumable exactly: a checkpoint carries the step, model, optimizers, RNG states and the data position (epoch and
batch within it); the phase, KL weight and learning rate are pure functions of the step. Checkpoints are written
periodically, at the phase boundary, at the end and on SIGINT/SIGTERM (at the next step boundary), always
atomically, so a SIGKILL loses at most the steps since the last checkpoint.
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from foleyvae.checkpoints import CheckpointError, load_checkpoint
from foleyvae.config import Config, save_config
from foleyvae.errors import FoleyError
from foleyvae.training.checkpoint import save_checkpoint
from foleyvae.training.distributed import DistInfo, all_reduce_grads, all_reduce_mean, init_distributed, shutdown
from foleyvae.training.init import InitWeights, init_from
from foleyvae.training.schedule import beta_of, lr_of, phase_of

__all__ = ["TrainOptions", "TrainResult", "train"]


@dataclass
class TrainOptions:
    data: Path
    out: Path
    resume: bool = False
    force: bool = False
    device: str = "auto"
    progress: bool = True
    threads: int | None = None
    time_budget_s: float | None = None  # stop (with a checkpoint) after this much wall-clock time
    stop_at_step: int | None = None  # checkpoint and exit at this step (train in several sittings)
    init_from: InitWeights | None = None  # start from these generator weights (fine-tuning; read by the CLI)
    log: Callable[[str], None] = field(default=lambda s: print(s, file=sys.stderr))


@dataclass
class TrainResult:
    step: int
    stopped_early: bool  # by a signal, --stop-at or the time budget (see ``budget_spent``)
    nan_steps: int
    validations: list[dict[str, float]]
    budget_spent: bool = False


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


def train(cfg: Config, opts: TrainOptions) -> TrainResult:
    """Train ``cfg`` on the prepared dataset ``opts.data`` into the run folder ``opts.out``."""
    from foleyvae.data.dataset import FoleyDataset, make_loader
    from foleyvae.models.builders import build_model

    device = _pick_device(opts.device)
    if opts.threads:
        torch.set_num_threads(opts.threads)
    info = init_distributed(device)
    if info.enabled and device.type == "cuda":
        device = torch.device("cuda", info.local_rank)
    out = Path(opts.out)
    ckpt_dir = out / "checkpoints"
    last = ckpt_dir / "last.ckpt"
    t = cfg.train

    state: dict[str, Any] | None = None
    if opts.resume:
        if not last.is_file():
            raise FoleyError(f"{out}: nothing to resume (no checkpoints/last.ckpt)")
        state = load_checkpoint(last)
        saved = state.get("config", {})
        for key in ("model", "audio"):
            if saved.get(key) != cfg.to_dict()[key]:
                raise CheckpointError(
                    f"{last}: cannot resume, the checkpoint's {key} settings differ from the requested config "
                    f"(train into a new --out folder instead)"
                )
    elif last.is_file() and not opts.force:
        raise FoleyError(f"{out}: already holds a run (use --resume to continue it or --force to start over)")

    train_ds = FoleyDataset(opts.data, "train", t.n_samples, augment=t.augment, seed=t.seed)
    valid_ds = FoleyDataset(opts.data, "valid", t.n_samples, augment=False, seed=t.seed)
    if train_ds.sample_rate != cfg.audio.sample_rate:
        raise FoleyError(
            f"{opts.data}: dataset is {train_ds.sample_rate} Hz but the config wants {cfg.audio.sample_rate} Hz "
            f"(re-run prepare with --sample-rate {cfg.audio.sample_rate} or pick a matching preset)"
        )
    if train_ds.channels != cfg.audio.channels:
        raise FoleyError(f"{opts.data}: dataset has {train_ds.channels} channels, config wants {cfg.audio.channels}")
    if len(train_ds) < t.batch_size * info.world_size:
        raise FoleyError(
            f"{opts.data}: {len(train_ds)} training examples, fewer than one batch of {t.batch_size * info.world_size}"
            " (use a smaller --set train.batch_size=N or more data)"
        )
    loader = make_loader(
        train_ds,
        t.batch_size,
        shuffle=True,
        seed=t.seed,
        distributed=info.enabled,
        num_workers=t.num_workers,
        drop_last=True,
    )

    torch.manual_seed(t.seed + info.rank)
    model = build_model(cfg).to(device)
    gen_params = list(model.parameters())
    opt_g = torch.optim.Adam(gen_params, lr=t.lr, betas=(0.5, 0.9))
    disc: torch.nn.Module | None = None
    opt_d: torch.optim.Optimizer | None = None
    if model.supports_adversarial and t.max_steps > t.phase1_steps:
        from foleyvae.models.discriminators import CombinedDiscriminator

        disc = CombinedDiscriminator(cfg.audio.channels, t.discriminator_capacity, t.periods).to(device)
        opt_d = torch.optim.Adam(disc.parameters(), lr=t.lr_disc, betas=(0.5, 0.9))

    step, epoch, batch_in_epoch, nan_total = 0, 0, 0, 0
    validations: list[dict[str, float]] = []
    if state is not None:
        model.load_state_dict(state["model"])
        opt_g.load_state_dict(state["opt_g"])
        if disc is not None and opt_d is not None and "disc" in state:
            disc.load_state_dict(state["disc"])
            opt_d.load_state_dict(state["opt_d"])
        step, epoch, batch_in_epoch = int(state["step"]), int(state["epoch"]), int(state["batch"])
        nan_total = int(state.get("nan_steps", 0))
        _set_rng_state(state["rng"])
        opts.log(f"resumed {out} at step {step} (phase {phase_of(step, t)})")
    elif opts.init_from is not None:
        opts.log(init_from(model, cfg, opts.init_from))

    labels = train_ds.labels
    credits = _credits(Path(opts.data))
    writer = None
    if info.is_main:
        out.mkdir(parents=True, exist_ok=True)
        ckpt_dir.mkdir(exist_ok=True)
        save_config(cfg, out / "config.yaml")
        writer = _tensorboard(out / "logs", opts.log)

    def snapshot() -> dict[str, Any]:
        st: dict[str, Any] = {
            "config": cfg.to_dict(),
            "step": step,
            "phase": phase_of(step, t),
            "epoch": epoch,
            "batch": batch_in_epoch,
            "model": model.state_dict(),
            "opt_g": opt_g.state_dict(),
            "rng": _rng_state(),
            "nan_steps": nan_total,
            "labels": labels,
            "credits": credits,
            "init_from": opts.init_from.source if opts.init_from is not None else None,
        }
        if disc is not None and opt_d is not None:
            st["disc"] = disc.state_dict()
            st["opt_d"] = opt_d.state_dict()
        return st

    def checkpoint(extra_name: str | None = None) -> None:
        if not info.is_main:
            return
        st = snapshot()
        save_checkpoint(last, st)
        if extra_name:
            save_checkpoint(ckpt_dir / extra_name, st)

    from tqdm import tqdm

    bar = tqdm(
        total=t.max_steps,
        initial=step,
        disable=not (opts.progress and info.is_main),
        file=sys.stderr,
        dynamic_ncols=True,
        desc="train",
    )
    stream = _batches(loader, epoch, batch_in_epoch)
    consecutive_nan = 0
    stopped = budget_spent = False
    t_last, steps_since = time.perf_counter(), 0
    t_start = t_last
    model.train()
    with _StopFlag() as flag:
        while step < t.max_steps:
            if flag.stop:
                stopped = True
                opts.log(f"signal received: checkpoint at step {step}")
                break
            if opts.stop_at_step is not None and step >= opts.stop_at_step:
                stopped = True
                break
            if opts.time_budget_s is not None and time.perf_counter() - t_start > opts.time_budget_s:
                stopped = budget_spent = True
                opts.log(f"time budget of {opts.time_budget_s:.0f} s reached: checkpoint at step {step}")
                break
            epoch, bidx, batch = next(stream)
            x = batch.to(device, non_blocking=True)
            phase = phase_of(step, t)
            beta = beta_of(step, t)
            for g in opt_g.param_groups:
                g["lr"] = lr_of(step, t)
            logs: dict[str, float] = {}
            amp = torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda" and t.mixed_precision)
            try:
                with amp:
                    total, logs = _generator_step(model, disc, opt_d, x, phase, beta, cfg, info)
            except torch.OutOfMemoryError:
                raise FoleyError(
                    f"out of memory at batch {t.batch_size} x {t.n_samples} samples "
                    "(try --set train.batch_size=4 or a smaller train.n_samples)"
                ) from None
            finite = bool(torch.isfinite(total))
            opt_g.zero_grad(set_to_none=True)
            if finite:
                total.backward()
                all_reduce_grads(gen_params, info)
                # a finite loss can still give inf/NaN gradients; stepping on them would poison every weight
                finite = bool(torch.isfinite(torch.nn.utils.clip_grad_norm_(gen_params, t.grad_clip)))
            if finite:
                consecutive_nan = 0
                opt_g.step()
            else:
                nan_total += 1
                consecutive_nan += 1
                opt_g.zero_grad(set_to_none=True)
                if consecutive_nan >= t.max_nan_steps:
                    checkpoint()
                    raise FoleyError(
                        f"loss or gradients were NaN/inf for {consecutive_nan} consecutive steps at step {step} "
                        f"({nan_total} skipped in all); stopping. Lower train.lr or check the data."
                    )
            step += 1
            batch_in_epoch = bidx + 1
            steps_since += 1
            bar.update(1)
            if step % t.log_every == 0 and info.is_main:
                now = time.perf_counter()
                logs["perf/steps_per_s"] = steps_since / max(now - t_last, 1e-9)
                t_last, steps_since = now, 0
                logs["sched/beta"], logs["sched/lr"] = beta, lr_of(step - 1, t)
                bar.set_postfix(
                    {k.split("/")[-1]: f"{v:.3g}" for k, v in logs.items() if k.startswith(("spec", "adv", "perf"))}
                )
                if writer is not None:
                    for k, v in logs.items():
                        writer.add_scalar(k, v, step)
            if step % t.val_every == 0 or step == t.max_steps:
                val = _validate(model, valid_ds, cfg, device, info, writer, step)
                validations.append(val)
                if info.is_main:
                    _append_jsonl(out / "metrics.jsonl", val)
                    opts.log(f"step {step}: valid multiscale {val['valid/multiscale']:.4f} mel {val['valid/mel']:.4f}")
                model.train()
            if step == t.phase1_steps and t.phase1_steps > 0:
                checkpoint("phase1.ckpt")
                if info.is_main:
                    _analyze_or_warn(model, valid_ds, out, device, opts.log)
                    model.train()
            elif step % t.checkpoint_every == 0:
                checkpoint()
        if not stopped or step > 0:
            checkpoint()
        finished = budget_spent or (not stopped and step >= t.max_steps)  # not a signal or --stop-at pause
        if info.is_main and finished and t.phase1_steps != step:
            _analyze_or_warn(model, valid_ds, out, device, opts.log)
    bar.close()
    if writer is not None:
        writer.close()
    shutdown(info)
    return TrainResult(
        step=step, stopped_early=stopped, nan_steps=nan_total, validations=validations, budget_spent=budget_spent
    )


def _generator_step(
    model: Any, disc: Any, opt_d: Any, x: torch.Tensor, phase: int, beta: float, cfg: Config, info: DistInfo
) -> tuple[torch.Tensor, dict[str, float]]:
    """Losses of one step; in phase 2 also updates the discriminator. Returns (total, scalar logs)."""
    t = cfg.train
    if phase == 1 or disc is None:
        terms = model.compute_losses(x)
        recon, kl = terms.recon, terms.kl
        total = sum(recon.values(), torch.zeros((), device=x.device)) + beta * kl
        logs = {k: float(v.detach()) for k, v in recon.items()}
        logs["reg/kl"] = float(kl.detach())
        logs["total"] = float(total.detach())
        return total, logs
    from foleyvae.losses.adversarial import discriminator_loss, feature_matching, generator_loss

    with torch.no_grad():  # phase 2: the encoder is frozen
        enc = model.encode(x, sample=True)
    y_raw = model.decode(enc.z)
    recon = model.reconstruction_losses(x, y_raw)
    xa, ya = model.align(x, y_raw)
    # discriminator step
    d_loss = discriminator_loss(disc(xa), disc(ya.detach()), t.gan_loss)
    opt_d.zero_grad(set_to_none=True)
    if torch.isfinite(d_loss):
        d_loss.backward()
        all_reduce_grads(disc.parameters(), info)
        opt_d.step()
    real = disc(xa)
    fake = disc(ya)
    adv = generator_loss(fake, t.gan_loss)
    fm = feature_matching(real, fake)
    total = sum(recon.values(), torch.zeros((), device=x.device)) + t.adv_weight * adv + t.feature_matching_weight * fm
    logs = {k: float(v.detach()) for k, v in recon.items()}
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

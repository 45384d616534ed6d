"""Training schedules as pure functions of the step (so a resumed run continues exactly)."""

from __future__ import annotations

import math

from foleyvae.config import TrainConfig

__all__ = ["phase_of", "beta_of", "lr_of"]


def phase_of(step: int, cfg: TrainConfig) -> int:
    """1 (representation) for step < phase1_steps, then 2 (adversarial fine-tuning)."""
    return 1 if step < cfg.phase1_steps else 2


def beta_of(step: int, cfg: TrainConfig) -> float:
    """KL weight: log-linear warm-up beta_start -> beta_max over beta_warmup_steps (RAVE v2: 1e-6 -> 5e-2, 20k)."""
    if cfg.beta_warmup_steps == 0 or step >= cfg.beta_warmup_steps:
        return cfg.beta_max
    if cfg.beta_start <= 0:
        return cfg.beta_max * step / cfg.beta_warmup_steps
    a = math.log(cfg.beta_start)
    b = math.log(cfg.beta_max)
    return math.exp(a + (b - a) * step / cfg.beta_warmup_steps)


def lr_of(step: int, cfg: TrainConfig) -> float:
    """Generator learning rate: constant in phase 1, then cosine decay lr -> lr_final over phase 2."""
    if step < cfg.phase1_steps:
        return cfg.lr
    span = max(cfg.max_steps - cfg.phase1_steps, 1)
    frac = min((step - cfg.phase1_steps) / span, 1.0)
    return cfg.lr_final + 0.5 * (cfg.lr - cfg.lr_final) * (1 + math.cos(math.pi * frac))

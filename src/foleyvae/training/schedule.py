"""Training schedules as pure functions of the step (so a resumed run continues exactly), and the time-budget plan.

The plan (:func:`plan_for_budget`) only chooses the numbers once -- how many steps, where phase 2 starts, how long
the KL warm-up lasts, how often to validate and checkpoint -- from a measured step rate; the phase, KL weight and
learning rate stay pure functions of the step under the planned :class:`~foleyvae.config.TrainConfig`. The plan is
saved in the checkpoint, so a resumed run keeps it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any

from foleyvae.config import TrainConfig

__all__ = [
    "FINE_TUNE_DEFAULTS",
    "MIN_PHASE2_STEPS",
    "PHASE2_COST",
    "PLAN_MARGIN",
    "SchedulePlan",
    "beta_of",
    "fine_tune_defaults",
    "lr_of",
    "phase_of",
    "plan_for_budget",
]

# A phase-2 step (discriminator update + a generator pass through the discriminator) costs this many phase-1 steps
# when not measured. Measured here (2 shared cores, 1 thread, the presets' batch and crop): tiny 5.9x, foley-small
# 8.7x (0.99 s vs 8.6 s). The trainer measures it per run (a timed discriminator pass, training/loop.py).
PHASE2_COST = 6.0
# Share of the budget kept for what is neither a step nor a measured overhead (logging, the bar, the OS).
PLAN_MARGIN = 0.05
# Fewer adversarial steps than this do nothing useful (a fresh discriminator has barely started to learn) while
# costing many phase-1 steps each: a plan that would leave phase 2 fewer steps spends its time on phase 1 instead.
MIN_PHASE2_STEPS = 100
# Validate about every this many seconds of training (and at least MIN_VALIDATIONS times in a run).
VALID_EVERY_S = 120.0
MIN_VALIDATIONS = 6
# The first checkpoint within about this many seconds.
CHECKPOINT_EVERY_S = 60.0


# Fine-tuning (``--init-from``) defaults, where the user set nothing: a lower learning rate (the starting weights
# are good: 1e-3 knocked the bundled model's valid distances up before they came back) and no KL warm-up (the
# starting posterior is already regularised; a warm-up from 1e-6 lets it drift first). The encoder learns at 0.3 of
# that rate: its latent map stays near the source's, so what the decoder learns of the user's folder also reaches
# inputs the folder never had (speech, taps, music). The last 30 % of the steps decay the rate to a tenth. A
# fine-tune is phase 1 only unless ``train.phase1_steps`` is set: a fresh discriminator costs 2.5-9 phase-1 steps a
# step, and its few hundred steps in a 20-minute fine-tune left the distances where they were. Measured by
# benchmarks/finetune_gain.py, 20 min on two folders (results/finetune_*.json): encoder free + phase 2 moved the
# transfers away from one folder; frozen, or at 0.1, the held-out distances of the other improved by < 15 %; at 0.3
# every count was met (README, "Fine-tuning").
FINE_TUNE_DEFAULTS: dict[str, float | int] = {
    "lr": 3e-4,
    "beta_warmup_steps": 0,
    "encoder_lr_scale": 0.3,
    "lr_decay_tail": 0.3,
    "lr_final": 3e-5,
}


def fine_tune_defaults(t: TrainConfig, explicit: frozenset[str] | set[str]) -> dict[str, float | int]:
    """The FINE_TUNE_DEFAULTS that change ``t``, leaving the ``train.KEY`` settings in ``explicit`` as they are.

    Also ``phase1_steps = max_steps`` (phase 1 only) unless ``train.phase1_steps`` is explicit.
    """
    out = {k: v for k, v in FINE_TUNE_DEFAULTS.items() if f"train.{k}" not in explicit and getattr(t, k) != v}
    if "train.phase1_steps" not in explicit and t.phase1_steps < t.max_steps:
        out["phase1_steps"] = t.max_steps
    return out


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
    """Generator learning rate: constant in phase 1, then cosine decay lr -> lr_final over phase 2.

    A run without phase 2 (``phase1_steps >= max_steps``) decays over its last ``lr_decay_tail`` share instead.
    """
    start = cfg.phase1_steps
    if cfg.phase1_steps >= cfg.max_steps and cfg.lr_decay_tail > 0:
        start = round(cfg.max_steps * (1.0 - cfg.lr_decay_tail))
    if step < start:
        return cfg.lr
    span = max(cfg.max_steps - start, 1)
    frac = min((step - start) / span, 1.0)
    return cfg.lr_final + 0.5 * (cfg.lr - cfg.lr_final) * (1 + math.cos(math.pi * frac))


@dataclass(frozen=True)
class SchedulePlan:
    """The step numbers chosen to fit a time budget, and what they were chosen from."""

    max_steps: int
    phase1_steps: int
    beta_warmup_steps: int
    val_every: int
    checkpoint_every: int
    steps_per_s: float  # phase-1 steps per second, measured
    budget_s: float
    planned_at_step: int
    scaled: bool  # False: the configured schedule fits the budget as it is
    phase2_dropped: bool = False  # phase 2 would have had fewer than MIN_PHASE2_STEPS steps: phase 1 only

    def apply(self, t: TrainConfig) -> TrainConfig:
        """``t`` with the planned numbers (everything else unchanged)."""
        return replace(
            t,
            max_steps=self.max_steps,
            phase1_steps=self.phase1_steps,
            beta_warmup_steps=self.beta_warmup_steps,
            val_every=self.val_every,
            checkpoint_every=self.checkpoint_every,
        )

    def describe(self) -> str:
        """One line, e.g. ``... ~1400 steps: phase 1 to 1000, phase 2 after, KL warm-up to 500; ...``."""
        fit = "scaled to fit" if self.scaled else "the configured schedule fits"
        if self.phase2_dropped:
            phases = f"phase 1 only (phase 2 needs {MIN_PHASE2_STEPS}+ steps: a longer budget)"
        elif self.phase1_steps >= self.max_steps:
            phases = "phase 1 only"
        else:
            phases = f"phase 1 to {self.phase1_steps}, phase 2 after"
        warmup = f"KL warm-up to {self.beta_warmup_steps}" if self.beta_warmup_steps else "no KL warm-up"
        return (
            f"plan for {self.budget_s / 60:.3g} min at {self.steps_per_s:.2f} steps/s ({fit}): ~{self.max_steps} "
            f"steps: {phases}, {warmup}; validation every {self.val_every} steps, checkpoint every "
            f"{self.checkpoint_every}"
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SchedulePlan:
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


def plan_for_budget(
    t: TrainConfig,
    steps_per_s: float,
    budget_s: float,
    elapsed_s: float,
    done_steps: int,
    adversarial: bool = True,
    phase2_cost: float = PHASE2_COST,
    valid_s: float = 0.0,
    checkpoint_s: float = 0.0,
) -> SchedulePlan:
    """Scale ``t``'s schedule to what ``steps_per_s`` allows in the rest of ``budget_s`` (never beyond ``t``).

    The configured schedule is the recipe's shape: phase 1 keeps its share of the steps, the KL warm-up its share of
    phase 1, and phase-2 steps count ``phase2_cost`` phase-1 steps. ``elapsed_s``/``done_steps``: time and steps
    already spent when the rate was measured; ``valid_s``/``checkpoint_s``: the measured cost of one validation
    (also charged for each latent analysis) and one checkpoint, paid at the planned spacing. Pure (no clock).
    """
    plan = _fit(t, steps_per_s, budget_s, elapsed_s, done_steps, adversarial, phase2_cost, valid_s, checkpoint_s)
    if adversarial and plan.scaled and 0 < plan.max_steps - plan.phase1_steps < MIN_PHASE2_STEPS:
        plan = _fit(t, steps_per_s, budget_s, elapsed_s, done_steps, False, 1.0, valid_s, checkpoint_s)
        plan = replace(plan, phase1_steps=plan.max_steps, phase2_dropped=True, scaled=True)
    return plan


def _fit(
    t: TrainConfig,
    steps_per_s: float,
    budget_s: float,
    elapsed_s: float,
    done_steps: int,
    adversarial: bool,
    phase2_cost: float,
    valid_s: float,
    checkpoint_s: float,
) -> SchedulePlan:
    """The most steps of ``t``'s shape that fit (see :func:`plan_for_budget`)."""
    total = t.max_steps
    usable = max(budget_s * (1.0 - PLAN_MARGIN) - elapsed_s, 0.0)

    def seconds(n: int) -> float:  # steps, then validations/analyses and checkpoints at the spacing n implies
        phase1, _ = _shape(t, n, done_steps, adversarial)
        val_every, ckpt_every = _spacing(t, steps_per_s, n)
        todo = max(n - done_steps, 0)
        steps = (max(phase1 - done_steps, 0) + max(n - max(phase1, done_steps), 0) * phase2_cost) / steps_per_s
        return steps + (todo / val_every + 2) * valid_s + todo / ckpt_every * checkpoint_s

    lo, hi = done_steps + 1, max(total, done_steps + 1)  # the most steps that fit (at least one more than done)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if seconds(mid) <= usable else (lo, mid - 1)
    n = lo
    val_every, ckpt_every = _spacing(t, steps_per_s, n)
    phase1, warmup = _shape(t, n, done_steps, adversarial)
    return SchedulePlan(
        max_steps=n,
        phase1_steps=phase1,
        beta_warmup_steps=warmup,
        val_every=val_every,
        checkpoint_every=ckpt_every,
        steps_per_s=steps_per_s,
        budget_s=budget_s,
        planned_at_step=done_steps,
        scaled=n < total,
    )


def _shape(t: TrainConfig, n: int, done_steps: int, adversarial: bool) -> tuple[int, int]:
    """(phase1_steps, beta_warmup_steps) of ``t``'s schedule scaled to ``n`` steps (``t``'s own when n >= max)."""
    if n >= t.max_steps:
        return t.phase1_steps, t.beta_warmup_steps
    if not adversarial or t.phase1_steps >= t.max_steps:
        phase1 = n
    else:
        phase1 = max(done_steps, round(t.phase1_steps * n / t.max_steps))
    if t.phase1_steps:
        return phase1, round(t.beta_warmup_steps * phase1 / t.phase1_steps)
    return phase1, round(t.beta_warmup_steps * n / t.max_steps)


def _spacing(t: TrainConfig, steps_per_s: float, n: int) -> tuple[int, int]:
    """(validation, checkpoint) spacing in steps: about every 2 min / 1 min, at least MIN_VALIDATIONS points."""
    by_time = max(1, round(steps_per_s * VALID_EVERY_S))
    val_every = max(1, min(t.val_every, by_time, math.ceil(n / MIN_VALIDATIONS)))
    ckpt_every = max(1, min(t.checkpoint_every, round(steps_per_s * CHECKPOINT_EVERY_S), math.ceil(n / 4)))
    return val_every, ckpt_every

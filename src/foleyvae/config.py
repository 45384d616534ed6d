"""Configuration: frozen dataclasses, named presets, YAML load/save and ``key.sub=value`` overrides.

Config lives at the edges: builders (``models/builders.py``, ``training/loop.py``) read it and pass plain
arguments to modules; modules never see a config object. Every value is validated when the object is built,
so a bad value is refused at load time with a message naming the key, not deep inside a model.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, get_args, get_origin, get_type_hints

from foleyvae.errors import FoleyError, first_line
from foleyvae.utils.atomic import atomic_write_text

__all__ = [
    "AudioConfig",
    "Config",
    "ConfigError",
    "ModelConfig",
    "StreamConfig",
    "TrainConfig",
    "apply_overrides",
    "load_config",
    "preset",
    "preset_names",
    "save_config",
]

MODEL_KINDS = ("waveform", "mclt-2d", "mclt-3d", "mclt-gl", "mclt-cvae")


class ConfigError(FoleyError, ValueError):
    """A configuration value is invalid; the message names the key."""


def _is_pow2(n: int) -> bool:
    return n > 0 and (n & (n - 1)) == 0


def _require(cond: bool, key: str, msg: str) -> None:
    if not cond:
        raise ConfigError(f"{key}: {msg}")


@dataclass(frozen=True)
class AudioConfig:
    """Audio format the model works at."""

    sample_rate: int = 44100
    channels: int = 1

    def __post_init__(self) -> None:
        _require(
            8000 <= self.sample_rate <= 192000,
            "audio.sample_rate",
            f"must be in 8000..192000 Hz, got {self.sample_rate}",
        )
        _require(1 <= self.channels <= 2, "audio.channels", f"must be 1 or 2, got {self.channels}")


@dataclass(frozen=True)
class ModelConfig:
    """Architecture. ``kind`` picks the family: the waveform VAE or one of the MCLT spectral VAEs."""

    kind: str = "waveform"
    # waveform VAE (RAVE-style)
    n_bands: int = 16
    pqmf_attenuation: float = 100.0
    capacity: int = 32
    multipliers: tuple[int, ...] = (1, 2, 4, 8)
    strides: tuple[int, ...] = (4, 4, 2)
    dilations: tuple[int, ...] = (1, 3, 9)
    kernel_size: int = 3
    latent_size: int = 16
    causal: bool = True
    noise_bands: int = 5
    use_noise: bool = True
    # material conditioning of the decoder (models/conditioning.py): short material names, in channel order; ["auto"]
    # = every material the training data's labels name (resolved by the trainer, the saved config lists them)
    materials: tuple[str, ...] = ()
    # MCLT family
    frame_length: int = 1024
    clip_samples: int = 32768
    griffin_lim_iters: int = 32
    griffin_lim_momentum: float = 0.99

    def __post_init__(self) -> None:
        _require(self.kind in MODEL_KINDS, "model.kind", f"must be one of {', '.join(MODEL_KINDS)}, got {self.kind!r}")
        _require(
            _is_pow2(self.n_bands) and 2 <= self.n_bands <= 32,
            "model.n_bands",
            f"must be a power of two in 2..32, got {self.n_bands}",
        )
        _require(
            40.0 <= self.pqmf_attenuation <= 140.0,
            "model.pqmf_attenuation",
            f"must be in 40..140 dB, got {self.pqmf_attenuation}",
        )
        _require(self.capacity >= 1, "model.capacity", f"must be >= 1, got {self.capacity}")
        _require(
            len(self.strides) >= 1 and all(s >= 1 for s in self.strides),
            "model.strides",
            f"must be a non-empty list of positive ints, got {list(self.strides)}",
        )
        _require(
            len(self.multipliers) == len(self.strides) + 1,
            "model.multipliers",
            f"needs len(strides)+1 = {len(self.strides) + 1} entries, got {len(self.multipliers)}",
        )
        _require(all(m >= 1 for m in self.multipliers), "model.multipliers", "must be positive")
        _require(
            len(self.dilations) >= 1 and all(d >= 1 for d in self.dilations),
            "model.dilations",
            "must be a non-empty list of positive ints",
        )
        _require(
            self.kernel_size >= 1 and self.kernel_size % 2 == 1,
            "model.kernel_size",
            f"must be odd and >= 1, got {self.kernel_size}",
        )
        _require(1 <= self.latent_size <= 1024, "model.latent_size", f"must be in 1..1024, got {self.latent_size}")
        _require(self.noise_bands >= 1, "model.noise_bands", f"must be >= 1, got {self.noise_bands}")
        _require(
            len(set(self.materials)) == len(self.materials) and all(str(m).strip() for m in self.materials),
            "model.materials",
            f"must be distinct non-empty names, got {list(self.materials)}",
        )
        _require(
            not self.materials or self.kind == "waveform",
            "model.materials",
            "material conditioning is for the waveform VAE only",
        )
        _require(
            _is_pow2(self.frame_length) and self.frame_length >= 16,
            "model.frame_length",
            f"must be a power of two >= 16, got {self.frame_length}",
        )
        _require(
            self.clip_samples >= self.frame_length and self.clip_samples % (self.frame_length // 2) == 0,
            "model.clip_samples",
            f"must be a multiple of frame_length/2 = {self.frame_length // 2}",
        )
        _require(self.griffin_lim_iters >= 0, "model.griffin_lim_iters", "must be >= 0")
        _require(0.0 <= self.griffin_lim_momentum < 1.0, "model.griffin_lim_momentum", "must be in [0, 1)")

    @property
    def hop_length(self) -> int:
        """Samples per latent frame of the waveform VAE (PQMF decimation x encoder strides)."""
        return self.n_bands * math.prod(self.strides)


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation. The phase and the KL weight are pure functions of the step (training/schedule.py)."""

    batch_size: int = 8
    n_samples: int = 32768
    lr: float = 1e-3
    lr_final: float = 1e-4
    lr_disc: float = 1e-4
    phase1_steps: int = 20000
    max_steps: int = 30000
    beta_start: float = 1e-6
    beta_max: float = 0.05
    beta_warmup_steps: int = 10000
    adv_weight: float = 1.0
    feature_matching_weight: float = 10.0
    gan_loss: str = "hinge"
    discriminator_capacity: int = 16
    # phase 2's discriminator: "waveform" = multi-period + multi-scale (RAVE v2), "spectral" = multi-resolution STFT
    # (models/discriminators.py), 7x cheaper per pass on a CPU (benchmarks/results/train_speed.json)
    discriminator: str = "waveform"
    periods: tuple[int, ...] = (2, 3, 5, 7, 11)
    val_every: int = 1000
    checkpoint_every: int = 500
    log_every: int = 50
    val_examples: int = 64
    seed: int = 0
    num_workers: int = 0
    ema_decay: float = 0.0
    max_nan_steps: int = 20
    augment: bool = True
    grad_clip: float = 10.0
    mixed_precision: bool = True  # bfloat16 autocast on CUDA only; CPU training stays float32
    # conditioned models (model.materials, models/conditioning.py): share of clips trained with "no material"; the
    # latent adversary's weight (0 = off); the swap terms: the frozen judge's cross-entropy on a decode with a random
    # material (0 = off) and the L1 (dB) between that decode's loudness envelope and the input's
    material_dropout: float = 0.15
    material_critic: float = 0.0
    material_judge: float = 0.0
    material_envelope: float = 0.1
    # the encoder's learning rate as a share of lr (fine-tuning keeps the latent map near the source's: see
    # training/schedule.FINE_TUNE_DEFAULTS); and the share of a phase-1-only run's last steps over which lr decays
    # (cosine) to lr_final (0 = constant; with a phase 2, its own cosine decay applies)
    encoder_lr_scale: float = 1.0
    lr_decay_tail: float = 0.0

    def __post_init__(self) -> None:
        _require(self.batch_size >= 1, "train.batch_size", f"must be >= 1, got {self.batch_size}")
        _require(self.n_samples >= 256, "train.n_samples", f"must be >= 256, got {self.n_samples}")
        for key in ("lr", "lr_final", "lr_disc"):
            v = getattr(self, key)
            _require(0.0 < v < 1.0, f"train.{key}", f"must be in (0, 1), got {v}")
        _require(self.phase1_steps >= 0, "train.phase1_steps", "must be >= 0")
        _require(self.max_steps >= 1, "train.max_steps", "must be >= 1")
        _require(0.0 <= self.beta_start <= self.beta_max, "train.beta_start", "must be in [0, beta_max]")
        _require(self.beta_warmup_steps >= 0, "train.beta_warmup_steps", "must be >= 0")
        _require(
            self.gan_loss in ("hinge", "lsgan"), "train.gan_loss", f"must be hinge or lsgan, got {self.gan_loss!r}"
        )
        _require(all(p >= 2 for p in self.periods), "train.periods", "periods must be >= 2")
        _require(
            self.discriminator in ("waveform", "spectral"),
            "train.discriminator",
            f"must be waveform or spectral, got {self.discriminator!r}",
        )
        for key in ("val_every", "checkpoint_every", "log_every", "val_examples", "max_nan_steps"):
            _require(getattr(self, key) >= 1, f"train.{key}", "must be >= 1")
        _require(self.num_workers >= 0, "train.num_workers", "must be >= 0")
        _require(0.0 <= self.ema_decay < 1.0, "train.ema_decay", "must be in [0, 1)")
        _require(self.grad_clip > 0, "train.grad_clip", "must be > 0")
        _require(0.0 <= self.material_dropout < 1.0, "train.material_dropout", "must be in [0, 1)")
        for key in ("material_critic", "material_judge", "material_envelope"):
            _require(getattr(self, key) >= 0.0, f"train.{key}", "must be >= 0")
        _require(
            0.0 < self.encoder_lr_scale <= 1.0, "train.encoder_lr_scale", "must be in (0, 1] (0: --freeze-encoder)"
        )
        _require(0.0 <= self.lr_decay_tail < 1.0, "train.lr_decay_tail", "must be in [0, 1)")


@dataclass(frozen=True)
class StreamConfig:
    """Real-time settings."""

    block_size: int = 256

    def __post_init__(self) -> None:
        _require(16 <= self.block_size <= 65536, "stream.block_size", f"must be in 16..65536, got {self.block_size}")


@dataclass(frozen=True)
class Config:
    """The whole configuration of a run."""

    name: str = "foley-small"
    audio: AudioConfig = field(default_factory=AudioConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    stream: StreamConfig = field(default_factory=StreamConfig)

    def __post_init__(self) -> None:
        if self.model.kind == "waveform":
            _require(
                self.train.n_samples % self.model.hop_length == 0,
                "train.n_samples",
                f"must be a multiple of the model hop length {self.model.hop_length}, got {self.train.n_samples}",
            )
            _require(
                self.model.hop_length <= 8192,
                "model.strides",
                f"hop length n_bands*prod(strides) = {self.model.hop_length} is over 8192",
            )

    def to_dict(self) -> dict[str, Any]:
        return _to_plain(dataclasses.asdict(self))


# ----------------------------------------------------------------------------------------------- presets


def _preset_table() -> dict[str, Config]:
    tiny = Config(
        name="tiny",
        model=ModelConfig(
            n_bands=4,
            pqmf_attenuation=70.0,
            capacity=4,
            multipliers=(1, 2, 2),
            strides=(2, 2),
            dilations=(1, 3),
            latent_size=4,
            noise_bands=3,
        ),
        train=TrainConfig(
            batch_size=2,
            n_samples=4096,
            phase1_steps=4,
            max_steps=8,
            beta_warmup_steps=4,
            val_every=4,
            checkpoint_every=4,
            log_every=1,
            val_examples=4,
            discriminator_capacity=2,
            periods=(2, 3),
        ),
        stream=StreamConfig(block_size=64),
    )
    # foley-small: causal, 8 bands (a shorter PQMF prototype than 16 bands keeps the group delay low), hop 256 so
    # that one 256-sample block is one latent frame. Latency target: block + delay <= 12 ms at 44.1 kHz.
    small = Config(
        name="foley-small",
        model=ModelConfig(
            n_bands=8,
            pqmf_attenuation=80.0,
            capacity=24,
            multipliers=(1, 2, 4, 8),
            strides=(2, 4, 4),
            dilations=(1, 3, 9),
            latent_size=16,
            noise_bands=5,
            causal=True,
        ),
        train=TrainConfig(
            batch_size=8,
            n_samples=16384,
            phase1_steps=6000,
            max_steps=8000,
            beta_max=0.02,
            beta_warmup_steps=3000,
            val_every=500,
            checkpoint_every=250,
            discriminator_capacity=16,
            discriminator="spectral",  # the CPU preset: phase 2 at a CPU's cost (issue 23)
        ),
        stream=StreamConfig(block_size=256),
    )
    base = Config(
        name="foley-base",
        model=ModelConfig(
            n_bands=16,
            pqmf_attenuation=100.0,
            capacity=64,
            multipliers=(1, 2, 4, 8, 16),
            strides=(2, 2, 4, 4),
            dilations=(1, 3, 9),
            latent_size=64,
            causal=True,
        ),
        train=TrainConfig(
            batch_size=8,
            n_samples=65536,
            phase1_steps=200000,
            max_steps=300000,
            beta_warmup_steps=20000,
            discriminator_capacity=16,
        ),
        stream=StreamConfig(block_size=1024),
    )
    # RAVE v2 numbers (ARCHITECTURE.md section 3): 16 bands, strides [4,4,4,2] -> 2048, latent 128, beta 1e-6->5e-2
    # over 20k steps, batch 8 of 131072 samples, 1M phase-1 steps. Non-causal like RAVE v2's default.
    rave = Config(
        name="rave-v2-like",
        model=ModelConfig(
            n_bands=16,
            pqmf_attenuation=100.0,
            capacity=96,
            multipliers=(1, 2, 4, 8, 16),
            strides=(4, 4, 4, 2),
            dilations=(1, 3, 9),
            latent_size=128,
            causal=False,
        ),
        train=TrainConfig(
            batch_size=8,
            n_samples=131072,
            phase1_steps=1000000,
            max_steps=1500000,
            beta_warmup_steps=20000,
            beta_max=0.05,
            discriminator_capacity=16,
        ),
        stream=StreamConfig(block_size=2048),
    )
    # foley-lowlat: foley-small with hop 128 (strides 2, 2, 4), so one 128-sample block is one latent frame: block +
    # model delay = 128 + 92 samples = 4.6 ms at 48 kHz (foley-small: 256 + 92 = 7.3 ms), the low-latency preset of
    # issue 23 (its target: <= 10 ms monitor latency at 48 kHz with block, delay and prefill counted)
    lowlat = replace(
        small,
        name="foley-lowlat",
        model=replace(small.model, strides=(2, 2, 4)),
        stream=StreamConfig(block_size=128),
    )
    table = {c.name: c for c in (tiny, small, lowlat, base, rave)}
    for c in (small, lowlat, base, rave):
        name48 = f"{c.name}-48k"
        table[name48] = replace(c, name=name48, audio=AudioConfig(sample_rate=48000))
    # MCLT family: fixed 32768-sample clips -> 512 bins x 64 frames (ARCHITECTURE.md, MCLT family), latent 250 in the
    # original work; we use a smaller default latent for CPU training.
    for kind in ("mclt-2d", "mclt-3d", "mclt-gl", "mclt-cvae"):
        table[kind] = Config(
            name=kind,
            model=ModelConfig(kind=kind, capacity=16, latent_size=64, frame_length=1024, clip_samples=32768),
            train=TrainConfig(
                batch_size=8,
                n_samples=32768,
                phase1_steps=4000,
                max_steps=4000,
                beta_max=0.01,
                beta_warmup_steps=2000,
                val_every=500,
                checkpoint_every=250,
            ),
        )
    return table


def preset_names() -> list[str]:
    return sorted(_preset_table())


def preset(name: str) -> Config:
    """A named preset. Raises ConfigError listing the known names."""
    table = _preset_table()
    if name not in table:
        raise ConfigError(f"unknown preset {name!r}; known presets: {', '.join(sorted(table))}")
    return table[name]


# ------------------------------------------------------------------------------------- dict <-> dataclass


def _to_plain(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {k: _to_plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_to_plain(v) for v in obj]
    return obj


def _coerce(value: Any, tp: Any, key: str) -> Any:
    origin = get_origin(tp)
    if origin is tuple:
        if isinstance(value, (int, float, str)) and not isinstance(value, bool):
            value = [value]
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{key}: expected a list, got {value!r}")
        (item_tp, *_rest) = get_args(tp)
        return tuple(_coerce(v, item_tp, key) for v in value)
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no", "1", "0"):
            return value.lower() in ("true", "yes", "1")
        raise ConfigError(f"{key}: expected true/false, got {value!r}")
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ConfigError(f"{key}: expected an integer, got {value!r}")
        try:
            f = float(value)
        except ValueError:
            raise ConfigError(f"{key}: expected an integer, got {value!r}") from None
        if not math.isfinite(f) or f != int(f):
            raise ConfigError(f"{key}: expected an integer, got {value!r}")
        return int(f)
    if tp is float:
        if isinstance(value, bool):
            raise ConfigError(f"{key}: expected a number, got {value!r}")
        try:
            f = float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{key}: expected a number, got {value!r}") from None
        if not math.isfinite(f):
            raise ConfigError(f"{key}: expected a finite number, got {value!r}")
        return f
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key}: expected a string, got {value!r}")
        return value
    return value


def _build(cls: type, data: Mapping[str, Any], base: Any, prefix: str) -> Any:
    if not isinstance(data, Mapping):
        raise ConfigError(f"{prefix or 'config'}: expected a mapping, got {type(data).__name__}")
    hints = get_type_hints(cls)
    names = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(
            f"{prefix + '.' if prefix else ''}{unknown[0]}: unknown key (known: {', '.join(sorted(names))})"
        )
    kwargs: dict[str, Any] = {}
    for f in fields(cls):
        key = f"{prefix}.{f.name}" if prefix else f.name
        cur = getattr(base, f.name)
        if f.name not in data:
            kwargs[f.name] = cur
        elif dataclasses.is_dataclass(hints[f.name]):
            kwargs[f.name] = _build(hints[f.name], data[f.name], cur, key)
        else:
            kwargs[f.name] = _coerce(data[f.name], hints[f.name], key)
    try:
        return cls(**kwargs)
    except TypeError as e:  # pragma: no cover - defensive
        raise ConfigError(f"{prefix or 'config'}: {e}") from None


def from_dict(data: Mapping[str, Any]) -> Config:
    """Build a Config from a (possibly partial) mapping: missing keys come from the named preset."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"config: expected a mapping, got {type(data).__name__}")
    name = data.get("name", "foley-small")
    if not isinstance(name, str):
        raise ConfigError(f"name: expected a string, got {name!r}")
    table = _preset_table()
    base = table.get(name, table["foley-small"])
    return _build(Config, data, base, "")


def _parse_scalar(text: str) -> Any:
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def apply_overrides(cfg: Config, overrides: Iterable[str]) -> Config:
    """Apply ``key.sub=value`` overrides (values parsed as YAML: ``model.strides=[2,4]``, ``model.causal=false``)."""
    data = cfg.to_dict()
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override {item!r}: expected key.sub=value")
        key, raw = item.split("=", 1)
        parts = key.strip().split(".")
        node: Any = data
        for p in parts[:-1]:
            if not isinstance(node, dict) or p not in node or not isinstance(node[p], dict):
                raise ConfigError(f"{key}: unknown key")
            node = node[p]
        if not isinstance(node, dict) or parts[-1] not in node:
            raise ConfigError(f"{key}: unknown key")
        node[parts[-1]] = _parse_scalar(raw)
    return from_dict(data)


def save_config(cfg: Config, path: str | Path) -> None:
    """Write the config as YAML, atomically."""
    import yaml

    atomic_write_text(Path(path), yaml.safe_dump(cfg.to_dict(), sort_keys=False))


def load_config(path: str | Path) -> Config:
    """Read a YAML config; errors name the file and the key."""
    import yaml

    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{p}: config file not found") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{p}: cannot read config ({e})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ConfigError(f"{p}: invalid YAML ({first_line(e)})") from None
    if data is None:
        data = {}
    try:
        return from_dict(data)
    except ConfigError as e:
        raise ConfigError(f"{p}: {e}") from None

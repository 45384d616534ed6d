"""The examples page's tables, each rendered from the bundled models on the example sounds (:mod:`.sources`).

* ``regeneration``: each held-out recording | its regeneration by the waveform model (+ reconstruction metrics).
* ``mixes``: the 18 two-material mixes (:mod:`foleyvae.inference.recipes`): A | B | latent mix (``mixing.mix``,
  alpha 0.5, onsets aligned) | material blend (``mixing.towards`` of the taps toward ``a:0.5,b:0.5``).
* ``performances``: voice and taps steered into each material (``towards``, amount 1).
* ``morphs``: A | B | A->B morph (``mixing.morph``: the latent slides from A to B over the sound).
* ``mclt``: per MCLT variant, 8 held-out clips of 32768 samples (0.743 s): original | MCLT model | waveform model.

Every builder takes ``n`` (rows; None = all) so that ``--quick`` renders two per table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from foleyvae.audio.io import load
from foleyvae.errors import FoleyError
from foleyvae.eval import metrics as M
from foleyvae.examples.cells import CellWriter, Row, Table, align_to, reconstruction_metrics, segment_distances
from foleyvae.examples.sources import ExampleSound, Performance
from foleyvae.inference.mixing import first_onset, material_table, mix, morph, towards
from foleyvae.inference.recipes import Recipe, assign_recordings, plan_recipes
from foleyvae.inference.render import regenerate
from foleyvae.playable.protocol import StreamModel

__all__ = [
    "KIND_TITLES",
    "MORPHS",
    "PageInputs",
    "mclt_tables",
    "mixes_table",
    "morphs_table",
    "performances_table",
    "pick_sounds",
    "regeneration_table",
]

# A -> B morphs: contrasting materials, each pair once
MORPHS: tuple[tuple[str, str], ...] = (
    ("wood", "metal"), ("stone", "snow"), ("gravel", "water"), ("grass", "wood"), ("metal", "dirt"), ("sand", "ice"),
)  # fmt: skip
MCLT_CLIPS = 8
KIND_TITLES = {
    "mclt-2d": "2D-VAE on the MCLT (magnitude over phase, one image)",
    "mclt-3d": "3D-VAE on the MCLT (real and imaginary parts as two channels)",
    "mclt-gl": "MCLT magnitude VAE + Griffin-Lim",
    "mclt-cvae": "complex VAE (CVAE) on the complex MCLT",
}


@dataclass
class PageInputs:
    """What every table is rendered from: the writer, the waveform model, the example sounds, rows per table
    (None = all) and the longest source kept (s; longer recordings are cut)."""

    writer: CellWriter
    model: StreamModel
    sounds: list[ExampleSound]
    n: int | None
    max_seconds: float = 2.0

    def load(self, path: Path) -> np.ndarray:
        """A recording as ``[1, T]`` at the model's rate, cut to ``max_seconds``."""
        x, _ = load(path, sample_rate=int(self.model.sample_rate), channels=1)
        return np.ascontiguousarray(x[:, : int(self.max_seconds * self.model.sample_rate)])

    def take(self, items: Sequence[object]) -> int:
        return len(items) if self.n is None else min(self.n, len(items))


def _shift(model: StreamModel, a: np.ndarray, b: np.ndarray) -> int:
    """The shift (samples) ``mixing`` applies to b so that its first onset meets a's (whole latent frames)."""
    sr, hop = int(model.sample_rate), int(model.hop_length)
    return round((first_onset(a, sr) - first_onset(b, sr)) * sr / hop) * hop


def regeneration_table(p: PageInputs) -> Table:
    """Original | regenerated for each held-out recording (by material), with the reconstruction metrics."""
    t = Table(
        "regeneration",
        "Regeneration per material",
        f"Each held-out recording (never seen in training) encoded and decoded by the waveform model "
        f"'{p.model.name}' through the streaming engine, as it plays live.",
        ["material", "original", "regenerated"],
    )
    sr = int(p.model.sample_rate)
    for s in p.sounds[: p.take(p.sounds)]:
        x = p.load(s.path)
        y = regenerate(p.model, x)
        name = s.path.stem
        t.rows.append(
            Row(
                f"{s.material} ({s.label})",
                [
                    p.writer.cell(t.key, f"{name}_original", f"{s.material}: original ({s.label})", x),
                    p.writer.cell(
                        t.key, f"{name}_regen", f"{s.material}: regenerated", y, reconstruction_metrics(x, y, sr)
                    ),
                ],
                f"{s.package} {s.source.rsplit('/', 1)[-1]}",
            )
        )
    return t


def pick_sounds(sounds: Sequence[ExampleSound], recipes: Sequence[Recipe]) -> dict[str, tuple[Path, Path]]:
    """slug -> (recording of material a, recording of material b), like :func:`~foleyvae.inference.recipes.
    pick_recordings` (a repeated pair takes the next recordings) but over every example sound of a material:
    footsteps and impacts first, then other labels (the held-out water is a stream and a sizzle, no steps)."""
    order = {"footsteps": 0, "impacts": 1}

    def pool(material: str) -> list[Path]:
        found = sorted((s for s in sounds if s.material == material), key=lambda s: order.get(s.label.split("/")[0], 2))
        if not found:
            raise FoleyError(
                f"no example sound of {material}: rebuild assets/example_sounds (scripts/example_sounds.py)"
            )
        return [s.path for s in found]

    return assign_recordings(recipes, pool)


def mixes_table(p: PageInputs, performance: Performance) -> Table:
    """The 18 mixes: A | B | latent mix | material blend of the performance (metrics: mel distance to A / to B)."""
    recipes = plan_recipes(list(material_table(p.model).names()))
    recipes = recipes[: p.take(recipes)]
    picks = pick_sounds(p.sounds, recipes)  # every recording resolved before anything renders
    sr = int(p.model.sample_rate)
    perf = performance.audio(sr)
    t = Table(
        "mixes",
        "The 18 two-material mixes",
        "The original work's 18 pairs of surfaces, mapped onto the materials the model knows (approximate ones "
        "marked ~). Latent mix: both recordings encoded, first onsets aligned, latents averaged (alpha 0.5), "
        f"decoded. Material blend: the {performance.name} steered half-way to each material (its timing kept).",
        ["mix", "A", "B", "latent mix", "material blend"],
    )
    for r in recipes:
        a, b = p.load(picks[r.slug][0]), p.load(picks[r.slug][1])
        y = mix(p.model, a, b, 0.5)
        blend = towards(p.model, perf, r.blend, 1.0)
        aa, bb = align_to(a, 0, y.shape[1]), align_to(b, _shift(p.model, a, b), y.shape[1])
        names = [f"{m}{'~' if ap else ''}" for m, ap in zip(r.materials, r.approximate, strict=True)]
        head = f"{r.index}. {r.surfaces[0]} + {r.surfaces[1]} ({' + '.join(names)})"
        w, k = p.writer, r.slug
        t.rows.append(
            Row(
                head,
                [
                    w.cell(t.key, f"{k}_a", f"mix {r.index} A: {r.surfaces[0]} ({r.materials[0]})", a),
                    w.cell(t.key, f"{k}_b", f"mix {r.index} B: {r.surfaces[1]} ({r.materials[1]})", b),
                    w.cell(t.key, f"{k}_mix", f"mix {r.index}: latent mix", y, segment_distances(y, aa, bb, sr)),
                    w.cell(
                        t.key,
                        f"{k}_blend",
                        f"mix {r.index}: {performance.name} as {r.blend}",
                        blend,
                        {"loudness_corr": M.loudness_correlation(perf, blend, sr)},
                    ),
                ],  # fmt: skip
                f"A: {picks[r.slug][0].name}, B: {picks[r.slug][1].name}",
            )
        )
    return t


def performances_table(p: PageInputs, perfs: Sequence[Performance]) -> Table:
    """Each performance steered fully toward each material the example sounds cover (metric: envelope kept)."""
    sr = int(p.model.sample_rate)
    known = material_table(p.model).names()
    materials = [m for m in dict.fromkeys(s.material for s in p.sounds) if m in known]
    t = Table(
        "performances",
        "Voice and taps into each material",
        "A performance (speech, finger taps) encoded, moved by each material's offset in the latent (amount 1: "
        "its frame-to-frame motion kept) and decoded. The metric is the loudness-envelope correlation with the "
        "performance: how much of its timing survives.",
        ["material", *[q.name for q in perfs]],
    )
    audio = [q.audio(sr) for q in perfs]
    t.rows.append(
        Row(
            "performance",
            [p.writer.cell(t.key, q.name, f"{q.name}: original", x) for q, x in zip(perfs, audio, strict=True)],
        )
    )
    for m in materials[: p.take(materials)]:
        cells = []
        for q, x in zip(perfs, audio, strict=True):
            y = towards(p.model, x, m, 1.0)
            cells.append(
                p.writer.cell(
                    t.key, f"{q.name}_{m}", f"{q.name} into {m}", y, {"loudness_corr": M.loudness_correlation(x, y, sr)}
                )
            )
        t.rows.append(Row(m, cells))
    return t


def walk(p: PageInputs, sounds: Sequence[ExampleSound], steps: int = 4, every: float = 0.5) -> np.ndarray:
    """A walk on one material: ``steps`` of its recordings (taken in turn, each cut to ``every`` s with a 20 ms
    fade-out) every ``every`` seconds -> ``[1, steps * every * sample_rate]``. A morph over a single one-shot would
    be heard only at its onset; over a walk, the first steps are A and the last ones B."""
    sr = int(p.model.sample_rate)
    hop = int(every * sr)
    out = np.zeros((1, steps * hop), np.float32)
    fade = np.linspace(1.0, 0.0, int(0.02 * sr), dtype=np.float32)
    for i in range(steps):
        x = p.load(sounds[i % len(sounds)].path)[:, :hop].copy()
        n = min(fade.size, x.shape[1])
        x[:, x.shape[1] - n :] *= fade[fade.size - n :]
        out[:, i * hop : i * hop + x.shape[1]] = x
    return out


def morphs_table(p: PageInputs) -> Table:
    """Walk A | walk B | morph A->B; metrics: mel distance to A and to B over the first and the last quarter."""
    sr = int(p.model.sample_rate)
    by_material: dict[str, list[ExampleSound]] = {}
    for s in p.sounds:
        by_material.setdefault(s.material, []).append(s)
    pairs = [(a, b) for a, b in MORPHS if a in by_material and b in by_material]
    t = Table(
        "morphs",
        "A -> B morphs",
        "Four steps on A and four on B (the held-out recordings, every 0.5 s), both encoded; the latent slides "
        "linearly from A's to B's over the 2 s, so the first step should sound like A and the last like B: mel "
        "distances to A and to B over the first and the last step.",
        ["morph", "A", "B", "morph A -> B"],
    )
    for a_name, b_name in pairs[: p.take(pairs)]:
        a, b = walk(p, by_material[a_name]), walk(p, by_material[b_name])
        y = morph(p.model, a, b)
        n = y.shape[1]
        aa, bb = align_to(a, 0, n), align_to(b, _shift(p.model, a, b), n)
        q = n // 4
        start = segment_distances(y, aa, bb, sr, slice(0, q))
        end = segment_distances(y, aa, bb, sr, slice(n - q, n))
        metrics = {"start_mel_to_a": start["mel_to_a"], "start_mel_to_b": start["mel_to_b"],
                   "end_mel_to_a": end["mel_to_a"], "end_mel_to_b": end["mel_to_b"]}  # fmt: skip
        k, w = f"{a_name}-{b_name}", p.writer
        t.rows.append(
            Row(
                f"{a_name} -> {b_name}",
                [
                    w.cell(t.key, f"{k}_a", f"morph A: steps on {a_name}", a),
                    w.cell(t.key, f"{k}_b", f"morph B: steps on {b_name}", b),
                    w.cell(t.key, f"{k}_morph", f"morph {a_name} to {b_name}", y, metrics),
                ],
            )
        )
    return t


def mclt_clips(p: PageInputs, clip: int) -> list[tuple[ExampleSound, np.ndarray]]:
    """Up to ``MCLT_CLIPS`` held-out clips of ``clip`` samples, one material each first (zero-padded or cut)."""
    order = list({s.material: s for s in reversed(p.sounds)}.values())[::-1]  # first sound of each material
    order += [s for s in p.sounds if s not in order]
    out = []
    for s in order[:MCLT_CLIPS]:
        x = p.load(s.path)[:, :clip]
        out.append((s, np.pad(x, ((0, 0), (0, clip - x.shape[1])))))
    return out


def mclt_tables(p: PageInputs, variants: Sequence[StreamModel]) -> tuple[Table, list[Table]]:
    """A summary (one row per variant: mean metrics beside the waveform model's on the same clips) and one table
    per variant (original | MCLT | waveform per clip)."""
    sr = int(p.model.sample_rate)
    summary = Table(
        "mclt",
        "The MCLT family beside the waveform model",
        "Four clip models on the MCLT (Camara & Blanco 2022), each coding a 0.743 s clip (32768 samples) as one "
        f"latent vector, and the waveform model '{p.model.name}', on the same held-out clips. Means over the clips "
        "below (lower distances and higher SI-SDR / envelope correlation are better).",
        ["variant", "MCLT model (mean)", f"{p.model.name} (mean)"],
    )
    tables = []
    reference: dict[str, tuple[np.ndarray, dict[str, float]]] = {}  # clip -> the waveform model's output, metrics
    for v in variants:
        clip = int(v.hop_length)
        clips = mclt_clips(p, clip)
        clips = clips[: p.take(clips)]
        t = Table(
            v.name,
            f"{v.name}: {KIND_TITLES.get(v.name, v.name)}",
            "",
            ["clip", "original", v.name, p.model.name],
        )
        rows_v, rows_w = [], []
        for s, x in clips:
            ck = f"{s.path.stem}-{clip}"
            if ck not in reference:
                yw = regenerate(p.model, x)
                reference[ck] = (yw, reconstruction_metrics(x, yw, sr))
            yw, mw = reference[ck]
            yv = regenerate(v, x)
            mv = reconstruction_metrics(x, yv, sr)
            rows_v.append(mv)
            rows_w.append(mw)
            t.rows.append(
                Row(
                    f"{s.material} ({s.label})",
                    [
                        p.writer.cell("mclt", f"{ck}_original", f"{s.material} clip: original", x),
                        p.writer.cell(t.key, f"{ck}_{v.name}", f"{s.material} clip: {v.name}", yv, mv),
                        p.writer.cell("mclt", f"{ck}_{p.model.name}", f"{s.material} clip: {p.model.name}", yw, mw),
                    ],
                )
            )
        keys = ("multiscale", "mel", "si_sdr", "loudness_corr")
        numbers = [M.aggregate(rows_v, keys), M.aggregate(rows_w, keys)]
        summary.rows.append(Row(v.name, [], f"{len(clips)} clips", [{k: d[k] for k in keys} for d in numbers]))
        tables.append(t)
    return summary, tables

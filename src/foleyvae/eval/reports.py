"""Evaluation reports: a JSON of every number, and a Markdown or HTML page with tables and spectrogram pictures.

The page is readable without running anything: tables are plain Markdown/HTML and the spectrograms are PNGs
written next to it in ``<report stem>_files/`` (matplotlib, Agg backend, no display needed). Both formats are
rendered from one list of :class:`Section` objects, so they always hold the same content.
"""

from __future__ import annotations

import html
import io
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from foleyvae.errors import FoleyError
from foleyvae.utils.atomic import atomic_write_bytes, atomic_write_text

__all__ = ["Section", "build_sections", "summary_lines", "write_json", "write_report", "write_sections", "draw_figure"]


@dataclass
class Section:
    title: str
    paragraphs: list[str] = field(default_factory=list)
    tables: list[tuple[list[str], list[list[str]]]] = field(default_factory=list)  # (header, rows)
    images: list[tuple[str, str]] = field(default_factory=list)  # (relative path, caption)


def _f(v: Any, digits: int = 3) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float):
        if not math.isfinite(v):
            return "n/a"
        return f"{v:.{digits}f}"
    return str(v)


def write_json(numbers: dict[str, Any], path: str | Path) -> Path:
    """Write ``numbers`` as indented JSON (atomically)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(p, json.dumps(numbers, indent=2, sort_keys=False) + "\n")
    return p


def _spectrogram_db(x: np.ndarray, n_fft: int = 1024, hop: int = 256) -> np.ndarray:
    """Log magnitude (dB re the clip's peak bin, floored at -90) ``[n_fft // 2 + 1, frames]`` of ``x: [T]``."""
    a = np.asarray(x, np.float64)
    a = np.pad(a, (n_fft // 2, n_fft // 2 + max(0, n_fft - len(a))))
    n = 1 + (len(a) - n_fft) // hop
    frames = np.lib.stride_tricks.sliding_window_view(a, n_fft)[: n * hop : hop]
    mag = np.abs(np.fft.rfft(frames * np.hanning(n_fft), axis=-1)).T
    db = 20.0 * np.log10(mag + 1e-9)
    return np.maximum(db - db.max(), -90.0)


def draw_figure(figure: Any, path: str | Path) -> Path:
    """Draw an ``eval.common.Figure`` (stacked spectrogram panels, shared colour scale) as a PNG."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure as MplFigure

    panels = figure.panels
    fig = MplFigure(figsize=(8.0, 1.9 * len(panels) + 0.6), dpi=90, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(panels), 1, squeeze=False)[:, 0]
    sr = int(figure.sample_rate)
    image = None
    for ax, (caption, audio) in zip(axes, panels, strict=True):
        db = _spectrogram_db(audio)
        extent = (0.0, len(audio) / sr, 0.0, sr / 2000.0)
        image = ax.imshow(db, origin="lower", aspect="auto", extent=extent, cmap="magma", vmin=-90, vmax=0)
        ax.set_ylabel("kHz")
        ax.set_title(caption, fontsize=9, loc="left")
    axes[-1].set_xlabel("time (s)")
    fig.suptitle(figure.title, fontsize=10)
    if image is not None:
        fig.colorbar(image, ax=list(axes), label="dB", fraction=0.025)
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    save_png_small(buf.getvalue(), p)
    return p


def save_png_small(png: bytes, path: Path) -> None:
    """Write ``png`` as a 128-colour palette PNG: spectrograms are noise-like and compress badly in RGBA (about
    4x smaller, which keeps the bundled models' reports light); the colour steps are invisible at this range."""
    from PIL import Image

    with Image.open(io.BytesIO(png)) as im:
        small = im.convert("RGB").quantize(128, method=Image.Quantize.MEDIANCUT)
    out = io.BytesIO()
    small.save(out, format="PNG", optimize=True)
    atomic_write_bytes(path, out.getvalue())


def _model_section(numbers: dict[str, Any]) -> Section:
    """The model, dataset and embedding the numbers come from (+ a note when aisfx was not used)."""
    m, emb = numbers["model"], numbers["embedding"]
    s = Section("Model and data")
    s.tables.append(
        (
            ["item", "value"],
            [
                ["model", str(m["name"])],
                ["sample rate / channels", f"{m['sample_rate']} Hz / {m['channels']}"],
                ["hop / latent / delay", f"{m['hop_length']} / {m['latent_size']} / {m['delay_samples']} samples"],
                ["dataset", str(numbers["data"]["root"])],
                ["held-out files / labels", f"{numbers['data']['n_valid']} / {', '.join(numbers['data']['labels'])}"],
                ["embedding", f"{emb['backend']}: {emb['description']}"],
                ["run time", f"{_f(numbers.get('seconds'), 1)} s"],
            ],
        )
    )
    if emb["backend"] != "aisfx":
        s.paragraphs.append(
            "**Note:** the aisfx sound-effects CNN was not used (not installed, or not requested); Frechet and "
            "embedding distances use the hand-made spectral-statistics embedding and are not comparable with "
            "aisfx numbers. Install it with `pip install --no-deps aisfx`."
        )
    return s


def _reconstruction_section(rec: dict[str, Any], images: dict[str, str]) -> Section:
    """Per-label and overall reconstruction table + the ``recon_*`` pictures."""
    s = Section("Reconstruction (held-out split)")
    s.paragraphs.append(
        "Each held-out file's deterministic example is encoded and decoded through the streaming engine "
        "(delay-compensated). Multiscale and mel are distances (lower is better, 0 = identical); SI-SDR in dB "
        "(higher is better); loudness r = Pearson correlation of A-weighted loudness curves (1 = same envelope)."
    )
    head = ["label", "n", "multiscale", "mel", "SI-SDR (dB)", "loudness r"]
    rows = []
    for lab, agg in rec["per_label"].items():
        rows.append([lab, _f(agg["n"], 0)] + [_f(agg[k]) for k in ("multiscale", "mel", "si_sdr", "loudness_corr")])
    o = rec["overall"]
    rows.append(["**all**", _f(o["n"], 0)] + [_f(o[k]) for k in ("multiscale", "mel", "si_sdr", "loudness_corr")])
    s.tables.append((head, rows))
    s.images += [(images[n], n) for n in sorted(images) if n.startswith("recon_")]
    return s


def _transfer_section(tr: dict[str, Any], images: dict[str, str]) -> Section:
    """Per-kind and per-item transfer tables + the ``transfer_*`` pictures."""
    s = Section("Timbre transfer of non-Foley inputs")
    corp = tr["corpus"]
    s.paragraphs.append(
        f"Inputs: espeak-ng speech, synthetic taps, music-like chirps/arpeggios, rendered through the model. "
        f"Onset F1: output onsets vs input onsets within 30 ms. FD = Frechet distance of the embeddings to "
        f"{corp['n']} training-corpus crops ({corp['split']} split); the transfer should make FD out < FD in "
        f"(ratio < 1). Reference: held-out Foley vs corpus FD = {_f(corp['fd_heldout_foley'], 2)}. "
        f"'closer' = fraction of items whose embedding moved closer to the corpus mean."
    )
    head = ["kind", "n", "onset F1", "loudness r", "FD in", "FD out", "FD out/in", "closer"]
    rows = []
    for kind, agg in list(tr["per_kind"].items()) + [("**all**", tr["overall"])]:
        rows.append(
            [kind, _f(agg["n"], 0), _f(agg["onset_f1"]), _f(agg["loudness_corr"]), _f(agg["fd_in"], 2)]
            + [_f(agg["fd_out"], 2), _f(agg["fd_ratio"]), _f(agg["closer_fraction"], 2)]
        )
    s.tables.append((head, rows))
    head = ["input", "s", "onsets in/out", "onset F1", "F1 vs truth", "loudness r", "dist in", "dist out"]
    rows = []
    for r in tr["items"]:
        rows.append(
            [r["name"], _f(r["seconds"], 2), f"{_f(r['onsets_in'], 0)}/{_f(r['onsets_out'], 0)}", _f(r["onset_f1"])]
            + [_f(r.get("onset_f1_truth")), _f(r["loudness_corr"]), _f(r["corpus_dist_in"], 2)]
            + [_f(r["corpus_dist_out"], 2)]
        )
    s.tables.append((head, rows))
    s.images += [(images[n], n) for n in sorted(images) if n.startswith("transfer_")]
    return s


def _mixing_section(mx: dict[str, Any], images: dict[str, str]) -> Section:
    """Per-pair mixing-sweep table with its mean row + the ``mix_*`` pictures."""
    s = Section("Mixing sweeps")
    alphas = ", ".join(_f(a, 2) for a in mx["alphas"])
    s.paragraphs.append(
        f"Pairs of held-out sounds with different labels are mixed in latent space at alpha = {alphas}. "
        "The embedding distance to A should grow with alpha (Spearman +1) and the distance to B shrink "
        "(Spearman -1); 'monotone' = fraction of steps in the expected direction; 'range' = how far each "
        "distance moves over the sweep (a flat sweep makes the rank statistics meaningless)."
    )
    if mx.get("note"):
        s.paragraphs.append(str(mx["note"]))
    head = ["A -> B", "Spearman(d_A)", "Spearman(d_B)", "monotone A", "monotone B", "range A / B"]
    head += ["d_A sweep", "d_B sweep"]
    rows = []
    for r in mx["pairs"]:
        rows.append(
            [f"{r['a']} -> {r['b']}", _f(r["spearman_a"]), _f(r["spearman_b"]), _f(r["monotone_a"], 2)]
            + [_f(r["monotone_b"], 2), f"{_f(r['range_a'], 3)} / {_f(r['range_b'], 3)}"]
            + [" ".join(_f(v, 2) for v in r["dist_to_a"]), " ".join(_f(v, 2) for v in r["dist_to_b"])]
        )
    sm = mx["summary"]
    if mx["pairs"]:
        rows.append(
            ["**mean**", _f(sm["spearman_a"]), _f(sm["spearman_b"]), _f(sm["monotone_a"], 2)]
            + [_f(sm["monotone_b"], 2), f"{_f(sm['range_a'], 3)} / {_f(sm['range_b'], 3)}", "", ""]
        )
    s.tables.append((head, rows))
    s.images += [(images[n], n) for n in sorted(images) if n.startswith("mix_")]
    return s


def build_sections(numbers: dict[str, Any], images: dict[str, str] | None = None) -> list[Section]:
    """The report's content from the numbers of ``eval.suite.evaluate`` (+ image paths by figure name)."""
    images = images or {}
    return [
        _model_section(numbers),
        _reconstruction_section(numbers["reconstruction"], images),
        _transfer_section(numbers["transfer"], images),
        _mixing_section(numbers["mixing"], images),
    ]


def _markdown(title: str, sections: list[Section]) -> str:
    lines = [f"# {title}", ""]
    for s in sections:
        lines += [f"## {s.title}", ""]
        for p in s.paragraphs:
            lines += [p, ""]
        for head, rows in s.tables:
            lines.append("| " + " | ".join(head) + " |")
            lines.append("|" + "|".join("---" for _ in head) + "|")
            lines += ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in rows]
            lines.append("")
        for path, caption in s.images:
            lines += [f"![{caption}]({path})", ""]
    return "\n".join(lines)


def _inline_md(text: str) -> str:
    """HTML-escape, then render **bold** and `code` (the only Markdown the sections use)."""
    import re

    t = html.escape(text)
    t = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", t)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", t)


def _html(title: str, sections: list[Section]) -> str:
    css = (
        "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}"
        "table{border-collapse:collapse;margin:1em 0;font-size:14px}th,td{border:1px solid #ccc;padding:3px 8px;"
        "text-align:right}th{background:#f2f2f2}td:first-child,th:first-child{text-align:left}"
        "img{max-width:100%;display:block;margin:1em 0}code{background:#f4f4f4;padding:0 3px}"
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{css}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    for s in sections:
        parts.append(f"<h2>{html.escape(s.title)}</h2>")
        parts += [f"<p>{_inline_md(p)}</p>" for p in s.paragraphs]
        for head, rows in s.tables:
            parts.append("<table><thead><tr>" + "".join(f"<th>{_inline_md(h)}</th>" for h in head) + "</tr></thead>")
            parts.append("<tbody>")
            parts += ["<tr>" + "".join(f"<td>{_inline_md(c)}</td>" for c in r) + "</tr>" for r in rows]
            parts.append("</tbody></table>")
        for path, caption in s.images:
            parts.append(f'<figure><img src="{html.escape(path)}" alt="{html.escape(caption)}"></figure>')
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def write_report(result: Any, path: str | Path, title: str | None = None) -> Path:
    """Write ``result`` (an ``eval.suite.EvalResult``) as ``path`` (.md or .html) + PNGs in ``<stem>_files/``.

    Raises:
        FoleyError: the suffix is neither .md nor .html.
    """
    name = title or f"Foley-VAE evaluation: {result.numbers['model']['name']}"
    return write_sections(name, build_sections, result, path)


def write_sections(
    title: str,
    sections: Callable[[dict[str, Any], dict[str, str]], list[Section]],
    result: Any,
    path: str | Path,
) -> Path:
    """Draw ``result.figures`` into ``<stem>_files/`` and write ``sections(numbers, images)`` as .md or .html."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in (".md", ".markdown", ".html", ".htm"):
        raise FoleyError(f"{p}: the report must end in .md or .html")
    assets = p.parent / f"{p.stem}_files"
    images: dict[str, str] = {}
    for fig in result.figures:
        png = draw_figure(fig, assets / f"{fig.name}.png")
        images[fig.name] = f"{assets.name}/{png.name}"
    content = sections(result.numbers, images)
    text = _html(title, content) if suffix in (".html", ".htm") else _markdown(title, content)
    p.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(p, text)
    return p


def summary_lines(numbers: dict[str, Any]) -> list[str]:
    """A short plain-text summary for the terminal."""
    rec, tr, mx = numbers["reconstruction"], numbers["transfer"], numbers["mixing"]
    o = rec["overall"]
    lines = [
        f"model {numbers['model']['name']} | embedding {numbers['embedding']['backend']} "
        f"({numbers['embedding']['dim']}-d)",
        f"reconstruction ({_f(o['n'], 0)} held-out): multiscale {_f(o['multiscale'])}  mel {_f(o['mel'])}  "
        f"SI-SDR {_f(o['si_sdr'], 2)} dB  loudness r {_f(o['loudness_corr'])}",
    ]
    for lab, agg in rec["per_label"].items():
        lines.append(
            f"  {lab:<12} n={_f(agg['n'], 0):<3} multiscale {_f(agg['multiscale'])}  mel {_f(agg['mel'])}  "
            f"SI-SDR {_f(agg['si_sdr'], 2)} dB  loudness r {_f(agg['loudness_corr'])}"
        )
    lines.append(f"transfer (corpus FD of held-out Foley: {_f(tr['corpus']['fd_heldout_foley'], 2)}):")
    for kind, agg in list(tr["per_kind"].items()) + [("all", tr["overall"])]:
        lines.append(
            f"  {kind:<12} n={_f(agg['n'], 0):<3} onset F1 {_f(agg['onset_f1'])}  loudness r "
            f"{_f(agg['loudness_corr'])}  FD in {_f(agg['fd_in'], 2)} -> out {_f(agg['fd_out'], 2)}  "
            f"closer {_f(agg['closer_fraction'], 2)}"
        )
    sm = mx["summary"]
    if mx["pairs"]:
        lines.append(
            f"mixing ({len(mx['pairs'])} pairs): Spearman d_A {_f(sm['spearman_a'])} (want +1), d_B "
            f"{_f(sm['spearman_b'])} (want -1); monotone A {_f(sm['monotone_a'], 2)}, B {_f(sm['monotone_b'], 2)}; "
            f"range A {_f(sm['range_a'], 3)}, B {_f(sm['range_b'], 3)}"
        )
    else:
        lines.append(f"mixing: {mx.get('note') or 'no pairs'}")
    return lines

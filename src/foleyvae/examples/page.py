"""The examples page as HTML: one static ``index.html`` that opens from disk (no server, no network, no script).

Every link is relative (``audio/...``, ``img/...``); every player is an ``<audio controls>`` inside a ``<figure>``
whose ``<figcaption>`` labels it (``aria-labelledby``), with its spectrogram below and its metrics under that.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from typing import Any

from foleyvae.examples.cells import Cell, Row, Table
from foleyvae.examples.sources import ExampleSound, Performance

__all__ = ["METRIC_LABELS", "render_html"]

# metric key -> (short label, unit, how to read it)
METRIC_LABELS: dict[str, tuple[str, str, str]] = {
    "multiscale": ("MSS", "", "multiscale STFT distance to the original (RAVE's; lower is closer)"),
    "mel": ("mel", "", "log-mel distance to the original (lower is closer)"),
    "si_sdr": ("SI-SDR", " dB", "scale-invariant signal-to-distortion ratio (waveform match; higher is closer)"),
    "loudness_corr": ("env r", "", "correlation of the loudness envelopes (1 = same envelope)"),
    "mel_to_a": ("mel->A", "", "log-mel distance to A (onset-aligned)"),
    "mel_to_b": ("mel->B", "", "log-mel distance to B (onset-aligned)"),
    "start_mel_to_a": ("start->A", "", "first step of the morph: mel distance to A"),
    "start_mel_to_b": ("start->B", "", "first step of the morph: mel distance to B"),
    "end_mel_to_a": ("end->A", "", "last step of the morph: mel distance to A"),
    "end_mel_to_b": ("end->B", "", "last step of the morph: mel distance to B"),
}

_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:1.5em auto;max-width:1280px;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.6em 0 1.6em}td,th{border:1px solid #ccc;padding:4px 6px;vertical-align:top}
th{background:#f3f3f3;text-align:left}figure{margin:0}figcaption{font-size:12px;color:#444;max-width:240px}
audio{width:240px;height:32px;display:block}img{display:block;width:240px;height:80px}
.m{font:11px/1.3 monospace;color:#333;max-width:240px}.note{font-size:11px;color:#666}
code{background:#f3f3f3;padding:0 3px}
"""


def _fmt(key: str, value: float) -> str:
    label, unit, _ = METRIC_LABELS.get(key, (key, "", ""))
    return f"{label} {value:.3g}{unit}" if math.isfinite(value) else f"{label} n/a"


def _metrics(values: Mapping[str, float]) -> str:
    if not values:
        return ""
    text = " · ".join(_fmt(k, float(v)) for k, v in values.items() if k in METRIC_LABELS)
    return f'<div class="m">{html.escape(text)}</div>'


def _cell(c: Cell, ident: str) -> str:
    cap = html.escape(c.caption)
    return (
        f'<td><figure><figcaption id="{ident}">{cap} ({c.seconds:.2f} s)</figcaption>'
        f'<audio controls preload="metadata" src="{html.escape(c.audio)}" aria-labelledby="{ident}"></audio>'
        f'<img src="{html.escape(c.image)}" width="240" height="80" alt="spectrogram: {cap}">'
        f"{_metrics(c.metrics)}</figure></td>"
    )


def _row(t: Table, i: int, r: Row) -> str:
    note = f'<div class="note">{html.escape(r.note)}</div>' if r.note else ""
    cells = "".join(_cell(c, f"{t.key}-{i}-{j}") for j, c in enumerate(r.cells))
    cells += "".join(f"<td>{_metrics(n)}</td>" for n in r.numbers)
    return f'<tr><th scope="row">{html.escape(r.header)}{note}</th>{cells}</tr>'


def _table(t: Table) -> str:
    head = "".join(f'<th scope="col">{html.escape(c)}</th>' for c in t.columns)
    rows = "\n".join(_row(t, i, r) for i, r in enumerate(t.rows))
    intro = f"<p>{html.escape(t.intro)}</p>" if t.intro else ""
    return (
        f'<section id="{html.escape(t.key)}"><h2>{html.escape(t.title)}</h2>{intro}\n'
        f'<table data-table="{html.escape(t.key)}"><thead><tr>{head}</tr></thead><tbody>\n{rows}\n</tbody></table>'
        "</section>"
    )


def _models(models: Sequence[Mapping[str, Any]]) -> str:
    rows = []
    for m in models:
        metrics = m.get("metrics", {})
        held = ", ".join(
            f"{k.replace('held-out ', '')} {v}" for k, v in metrics.items() if str(k).startswith("held-out")
        )
        rows.append(
            "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in (
                m["name"], m.get("kind", ""), m.get("file_size_mb", ""), m.get("parameters", ""), m.get("steps", ""),
                m.get("minutes", ""), held or "not evaluated")) + "</tr>"
        )  # fmt: skip
    head = "".join(
        f"<th>{h}</th>" for h in ("model", "kind", "file (MB)", "parameters", "training steps", "training minutes",
                                  "model card: held-out metrics")
    )  # fmt: skip
    return (
        f'<section id="models"><h2>Models</h2><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></section>"
    )


def _credits(sounds: Sequence[ExampleSound], perfs: Sequence[Performance], model_credits: Sequence[str]) -> str:
    items = "".join(
        f"<li><code>{html.escape(s.path.name)}</code>: {html.escape(s.label)}, from the Debian package "
        f"{html.escape(s.package)} {html.escape(s.version)} (<code>{html.escape(s.source)}</code>), "
        f"licence {html.escape(s.licence)}</li>"
        for s in sounds
    )
    items += "".join(f"<li>{html.escape(q.name)}: {html.escape(q.credit)}</li>" for q in perfs)
    models = "".join(f"<li>{html.escape(c)}</li>" for c in model_credits)
    return (
        '<section id="credits"><h2>Sources and licences</h2><p>Source recordings (held-out files of the models\' '
        "dataset; the copyright files of their packages ship in <code>foleyvae/assets/example_sounds/licences/</code>"
        "):</p><ul>" + items + "</ul><p>The models were trained on:</p><ul>" + models + "</ul><p>The sounds on "
        "this page are derived from CC-BY-SA-3.0 recordings (minetest-data: Minetest contributors; 0ad-data: "
        "Wildfire Games and contributors) and from models trained on CC-BY-SA-3.0 and GPL-2+ material: they are "
        "shared under CC-BY-SA-3.0, crediting those projects.</p></section>"
    )


def render_html(
    title: str,
    intro: str,
    tables: Sequence[Table],
    models: Sequence[Mapping[str, Any]],
    sounds: Sequence[ExampleSound],
    perfs: Sequence[Performance],
    model_credits: Sequence[str],
) -> str:
    """The whole page (UTF-8 text)."""
    toc = "".join(f'<li><a href="#{html.escape(t.key)}">{html.escape(t.title)}</a></li>' for t in tables)
    legend = "".join(
        f"<li><b>{html.escape(lab)}</b>: {html.escape(desc)}</li>" for lab, _, desc in METRIC_LABELS.values()
    )
    body = "\n".join(_table(t) for t in tables)
    return (
        f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{_STYLE}</style></head><body>\n'
        f"<h1>{html.escape(title)}</h1><p>{html.escape(intro)}</p><ul>{toc}"
        '<li><a href="#models">Models</a></li><li><a href="#credits">Sources and licences</a></li></ul>'
        f"<details><summary>Metrics</summary><ul>{legend}</ul></details>\n{body}\n{_models(models)}\n"
        f"{_credits(sounds, perfs, model_credits)}\n</body></html>\n"
    )

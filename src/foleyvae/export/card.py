"""Model cards: what a bundled model was trained on, how, with which licences, and how well it does.

``card.json`` (machine-readable, shown by the studio and ``foleyvae models``) and ``card.md`` (for people) sit
next to ``model.ts`` in ``foleyvae/assets/<name>/``.
"""

from __future__ import annotations

import json
import platform
from collections import Counter
from pathlib import Path
from typing import Any

from foleyvae.utils.atomic import atomic_write_text

__all__ = ["corpus_credits", "write_card", "render_markdown"]


def corpus_credits(raw_dirs: list[Path], used_labels: set[str] | None = None) -> list[dict[str, Any]]:
    """Per fetched corpus (``foleyvae data fetch`` folders): package, version, licences and file counts."""
    out = []
    for d in raw_dirs:
        src = d / "source.json"
        man = d / "manifest.jsonl"
        if not src.is_file() or not man.is_file():
            continue
        info = json.loads(src.read_text())
        lic: Counter[str] = Counter()
        n = 0
        for line in man.read_text().splitlines():
            row = json.loads(line)
            if used_labels is not None and not any(row["label"].startswith(u) for u in used_labels):
                continue
            lic[row.get("licence", info.get("default_licence", "see copyright"))] += 1
            n += 1
        out.append(
            {
                "corpus": info.get("corpus", d.name),
                "package": info.get("package"),
                "version": info.get("version"),
                "files": n,
                "licences": dict(lic),
                "copyright_file": "copyright (Debian package copyright file, shipped beside this card)",
            }
        )
    return out


def write_card(folder: Path, card: dict[str, Any]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_text(folder / "card.json", json.dumps(card, indent=2))
    atomic_write_text(folder / "card.md", render_markdown(card))


def hardware() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import os

    return f"{cpu}, {os.cpu_count()} cores (CPU only)"


def render_markdown(card: dict[str, Any]) -> str:
    lines = [f"# {card.get('title', card.get('name', 'model'))}", "", card.get("description", ""), ""]
    lines += ["## Model", "", "| field | value |", "|---|---|"]
    for k in (
        "preset",
        "sample_rate",
        "latent_size",
        "full_latent_size",
        "hop_length",
        "delay_samples",
        "latency_ms_at_256",
        "parameters",
        "file_size_mb",
    ):
        if k in card:
            lines.append(f"| {k} | {card[k]} |")
    tr = card.get("training", {})
    if tr:
        lines += ["", "## Training", "", "| field | value |", "|---|---|"]
        lines += [f"| {k} | {v} |" for k, v in tr.items()]
    data = card.get("data", {})
    if data:
        lines += ["", "## Data and licences", ""]
        for c in data.get("corpora", []):
            lics = ", ".join(f"{k} ({v} files)" for k, v in c["licences"].items())
            source = f"{c['package']} {c['version']}" if c.get("package") else c.get("corpus", "?")
            lines.append(f"- **{source}**: {c['files']} files; {lics}")
        if data.get("labels"):
            lines += ["", "Labels (files): " + ", ".join(f"{k} ({v})" for k, v in data["labels"].items())]
        lines += ["", data.get("credit_note", "")]
    met = card.get("metrics", {})
    if met:
        lines += ["", "## Measured quality", "", "| metric | value |", "|---|---|"]
        lines += [f"| {k} | {v} |" for k, v in met.items()]
    if card.get("limits"):
        lines += ["", "## Known limits", ""] + [f"- {x}" for x in card["limits"]]
    return "\n".join(lines) + "\n"

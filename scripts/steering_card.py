"""Put a model's material vocabulary and steering scorecard into its card (card.json "materials"/"steering" and a
"Material control" section of card.md, replaced if present).

Usage: scripts/steering_card.py NAME SCORECARD.json
(SCORECARD.json from `foleyvae evaluate --model NAME --steering data/raw/minetest --json SCORECARD.json`)
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from foleyvae.export.loader import assets_dir, load_model
from foleyvae.inference.mixing import material_table
from foleyvae.utils.atomic import atomic_write_text


def main(argv: list[str]) -> int:
    name, scorecard = argv[0], Path(argv[1])
    folder = assets_dir() / name
    numbers = json.loads(scorecard.read_text())
    card = json.loads((folder / "card.json").read_text())
    summary = [s for s in numbers["summary"] if s["material"] == "*"]
    materials = sorted({r["material"] for r in numbers.get("rows", []) if r["material"] != "-"}) or ["?"] * 6
    card["steering"] = {"classifier_loo_accuracy": numbers["classifier_loo_accuracy"], "summary": summary,
                        "command": f"foleyvae evaluate --model {name} --steering data/raw/minetest"}  # fmt: skip
    atomic_write_text(folder / "card.json", json.dumps(card, indent=2) + "\n")
    table = material_table(load_model(folder / "model.ts"))
    if table.method == "conditioned":  # the names are the model's own material channels (models/conditioning.py)
        card["materials"] = {
            "method": "conditioned: the decoder's material channels, set by --towards (models/conditioning.py)",
            "names": table.names(),
        }
        atomic_write_text(folder / "card.json", json.dumps(card, indent=2) + "\n")
    names = card.get("materials", {}).get("names", {})
    lines = ["## Material control", "", "`--towards NAME` (or a blend `a:0.6,b:0.4`) with these names:", ""]
    lines += [f"- `{n}`: {', '.join(labels)}" for n, labels in names.items()]
    lines += ["", f"Steering scorecard (`{card['steering']['command']}`; classifier leave-one-out accuracy "
              f"{numbers['classifier_loo_accuracy']:.2f} on all frames, "
              f"{numbers.get('classifier_active_loo_accuracy', float('nan')):.2f} on active frames; materials "
              f"{', '.join(materials)}, chance 1/{len(materials)}):", "",
              "| method | inputs | amount | hit rate (all frames / active frames) "
              "| level vs unsteered (median / worst) | onset F1 vs input |",
              "|---|---|---|---|---|---|"]  # fmt: skip
    for s in summary:
        hit = "-" if s["hit_rate"] is None else f"{s['hit_rate']:.2f}"
        if s.get("hit_rate_active") is not None:
            hit += f" / {s['hit_rate_active']:.2f}"
        lines.append(f"| {s['approach']} | {s['group']} | {s['amount']:.1f} | {hit} | "
                     f"{s['level_change_db_median']:+.1f} / {s['level_change_db_min']:+.1f} dB | "
                     f"{s['onset_f1_median']:.2f} |")  # fmt: skip
    section = "\n".join(lines) + "\n"
    md = (folder / "card.md").read_text()
    md = re.sub(r"## Material control\n.*?(?=\n## |\Z)", "", md, flags=re.S).rstrip() + "\n\n"
    limits = md.find("## Known limits")
    md = md[:limits] + section + "\n" + md[limits:] if limits >= 0 else md + section
    atomic_write_text(folder / "card.md", md)
    print(f"{name}: card updated ({len(names)} names)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

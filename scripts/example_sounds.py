"""Build ``src/foleyvae/assets/example_sounds/``: the recordings ``foleyvae examples`` renders its page from.

Usage: python scripts/example_sounds.py [DATASET] [OUT]   (defaults: data/datasets/foley, the assets folder)

The sounds are the **held-out** files (split ``valid``) of the dataset the bundled models were trained on
(``scripts/bundled_model.sh``: ``data/datasets/foley``), so every regeneration on the page is of a sound the models
never saw. Only the CC-BY-SA-3.0 corpora (minetest-data, 0ad-data) are used, up to ``PER_MATERIAL`` files per short
material name (footsteps first). The files are copied byte for byte from the fetched corpus (``data/raw/<corpus>``:
their sha256 is checked against the corpus manifest), with a ``manifest.jsonl`` in the
:func:`foleyvae.inference.recipes.library_recordings` format plus provenance (package, version, licence, source
path in the package) and the packages' copyright files in ``licences/``.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path

from foleyvae.inference.materials import material_of

PER_MATERIAL = 2
CORPORA = ("minetest", "0ad")  # CC-BY-SA-3.0 only: one licence for the whole page
SKIP = {"flesh", "boot"}


def main(argv: list[str]) -> None:
    dataset = Path(argv[0]) if argv else Path("data/datasets/foley")
    out = Path(argv[1]) if len(argv) > 1 else Path("src/foleyvae/assets/example_sounds")
    raw = Path("data/raw")
    rows = [json.loads(line) for line in (dataset / "manifest.jsonl").read_text().splitlines() if line.strip()]
    provenance = {
        c: {
            json.loads(line)["file"]: json.loads(line) for line in (raw / c / "manifest.jsonl").read_text().splitlines()
        }
        for c in CORPORA
    }
    picked: dict[str, list[dict[str, object]]] = {}
    # footsteps before impacts before water, then by file name: deterministic
    order = {"footsteps": 0, "impacts": 1, "water": 2}
    for r in sorted(rows, key=lambda r: (order.get(r["label"].split("/")[0], 9), r["file"])):
        corpus = Path(r["path"]).parts[Path(r["path"]).parts.index("bundled_src") + 1]
        mat = material_of(r["label"])
        if r["split"] == "train" or corpus not in CORPORA or mat is None or mat in SKIP:
            continue
        if len(picked.setdefault(mat, [])) >= PER_MATERIAL:
            continue
        src = provenance[corpus][r["file"]]
        data = (raw / corpus / r["file"]).read_bytes()
        if hashlib.sha256(data).hexdigest() != src["sha256"]:
            raise SystemExit(f"{corpus}/{r['file']}: sha256 differs from the corpus manifest")
        name = f"{mat}_{len(picked[mat]) + 1}_{Path(r['file']).name}"
        picked[mat].append(
            {
                "file": f"sounds/{name}",
                "label": r["label"],
                "material": mat,
                "split": r["split"],
                "corpus": corpus,
                "package": src["package"],
                "version": src["version"],
                "licence": src["licence"],
                "source": src["source"],
                "sha256": src["sha256"],
                "_bytes": data,
            }
        )
    if out.exists():
        shutil.rmtree(out)
    (out / "sounds").mkdir(parents=True)
    (out / "licences").mkdir()
    lines = []
    for mat in sorted(picked):
        for entry in picked[mat]:
            (out / str(entry["file"])).write_bytes(entry.pop("_bytes"))  # type: ignore[arg-type]
            lines.append(json.dumps(entry, sort_keys=True))
    (out / "manifest.jsonl").write_text("\n".join(lines) + "\n")
    for c in CORPORA:
        shutil.copy(raw / c / "copyright", out / "licences" / f"{c}.copyright")
    print(f"{len(lines)} sounds, {len(picked)} materials -> {out}")


if __name__ == "__main__":
    main(sys.argv[1:])

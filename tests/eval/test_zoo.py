"""``foleyvae evaluate --zoo``: every bundled model on every category's held-out sounds, with a report."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from foleyvae.cli.main import main
from foleyvae.eval.zoo import ZooOptions, evaluate_zoo
from tests.eval.test_suite_reports import OracleStream


def test_identity_models_keep_everything(tiny_dataset: Path) -> None:
    """Two perfect codecs: diagonal reconstruction is exact, onsets all kept, no move toward any corpus."""
    opts = ZooOptions(examples=2, corpus_examples=3, embedding="handmade")
    res = evaluate_zoo(
        {"a": OracleStream(), "b": OracleStream()},  # type: ignore[dict-item]
        {"a": tiny_dataset, "b": tiny_dataset},
        opts,
    )
    cells = res.numbers["cells"]
    assert set(cells) == {"a", "b"} and set(cells["a"]) == {"a", "b"}
    for m in ("a", "b"):
        assert cells[m][m]["multiscale"] < 1e-3 and "multiscale" not in cells[m]["b" if m == "a" else "a"]
        for c in ("a", "b"):
            assert cells[m][c]["onset_f1"] == 1.0 and cells[m][c]["n"] == 2
            assert cells[m][c]["dist_out"] == pytest.approx(cells[m][c]["dist_in"], rel=1e-3)
    assert [f.name for f in res.figures] == ["cross_b_to_a", "cross_a_to_b"]


def test_zoo_cli_report(tiny_dataset: Path, tiny_model: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import foleyvae.export.loader as loader

    root = tmp_path / "datasets"
    for name in ("water", "footsteps"):
        shutil.copytree(tiny_dataset, root / name)
    monkeypatch.setattr(loader, "list_bundled", lambda: ["footsteps", "impacts", "water"])  # impacts: no dataset
    monkeypatch.setattr(loader, "load_model", lambda name: tiny_model)
    report, js = tmp_path / "zoo.md", tmp_path / "zoo.json"
    argv = ["evaluate", "--zoo", "--datasets", str(root), "--examples", "2", "--corpus-examples", "3"]
    assert main(argv + ["--embedding", "handmade", "--report", str(report), "--json", str(js)]) == 0
    numbers = json.loads(js.read_text())
    assert set(numbers["cells"]) == {"footsteps", "water"}
    text = report.read_text()
    assert "Cross-model transfer" in text
    assert any(line.startswith("| water | ") for line in text.splitlines())  # a matrix row per model
    assert (tmp_path / "zoo_files" / "cross_footsteps_to_water.png").stat().st_size > 1000  # footsteps through water
    assert (tmp_path / "zoo_files" / "cross_water_to_footsteps.png").stat().st_size > 1000
    monkeypatch.setattr(loader, "list_bundled", lambda: ["footsteps"])
    assert main(["evaluate", "--zoo", "--datasets", str(root)]) == 1  # fewer than two: a clear error
    assert main(["evaluate", "--model", "x"]) == 1  # --data missing

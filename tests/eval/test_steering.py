"""Material-steering scorecard: the classifier is fitted on raw labelled clips, the scorecard scores both methods,
and `foleyvae evaluate --steering CORPUS` prints it and writes its JSON."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from foleyvae.cli.main import main
from foleyvae.errors import FoleyError
from foleyvae.eval.steering import MaterialClassifier, SteeringInput, scorecard, summarise, table_lines
from tests.conftest import SR, footstep
from tests.inference.toy import ToyStream


def _corpus(root: Path) -> Path:
    """A fetched-corpus look-alike: 4 wood and 4 metal footsteps (+ a label the classifier must ignore)."""
    rows = []
    for mat in ("wood", "metal"):
        for i in range(4):
            f = f"footsteps/{mat}/{i}.wav"
            (root / f).parent.mkdir(parents=True, exist_ok=True)
            sf.write(root / f, footstep(mat, seed=i), SR, subtype="FLOAT")  # no 16-bit noise floor in silences
            rows.append({"file": f, "label": f"footsteps/{mat}"})
    (root / "fire").mkdir()
    sf.write(root / "fire" / "f.wav", footstep("wood", seed=9), SR)
    rows.append({"file": "fire/f.wav", "label": "fire/burning"})
    (root / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return root


def test_classifier_and_scorecard_score_both_methods(tmp_path: Path) -> None:
    clf = MaterialClassifier(_corpus(tmp_path), SR)
    assert clf.materials == ("metal", "wood") and clf.n_clips == 8
    assert clf.loo_accuracy == 1.0  # the synthetic materials are far apart
    assert clf(footstep("metal", seed=7)[None]) == "metal" and clf(footstep("wood", seed=7)[None]) == "wood"
    m = ToyStream()
    x = np.zeros((1, int(0.6 * SR)), np.float32)
    x[0, 2000 : 2000 + len(footstep())] = footstep()
    rows = scorecard(m, [SteeringInput("step", x, "footsteps")], clf, materials=("wood", "metal"), amounts=(1.0,))
    assert [r["approach"] for r in rows] == ["unsteered", "offset", "centroid", "offset", "centroid"]
    assert rows[0]["level_change_db"] == 0.0 and all(r["heard_as"] in ("wood", "metal") for r in rows)
    summary = summarise(rows)
    assert [(s["approach"], s["renders"]) for s in summary] == [("unsteered", 1), ("offset", 2), ("centroid", 2)]
    assert len(table_lines(summary)) == 4
    with pytest.raises(FoleyError, match="has no snow"):
        scorecard(m, [SteeringInput("step", x, "footsteps")], clf, materials=("snow",))


def test_classifier_refuses_a_folder_without_manifest(tmp_path: Path) -> None:
    with pytest.raises(FoleyError, match="no manifest.jsonl"):
        MaterialClassifier(tmp_path, SR)


def test_evaluate_steering_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    import foleyvae.export.loader as loader

    monkeypatch.setattr(loader, "load_model", lambda name: ToyStream())
    out = tmp_path / "steer.json"
    corpus = _corpus(tmp_path / "corpus")
    assert main(["evaluate", "--model", "toy", "--steering", str(corpus), "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "leave-one-out accuracy 1.00" in printed and "offset" in printed and "centroid" in printed
    numbers = json.loads(out.read_text())
    assert {r["input"] for r in numbers["rows"]} >= {"taps", "speech_en", "footsteps_wood"}  # the sample library
    assert {s["material"] for s in numbers["per_material"]} >= {"wood", "metal"}

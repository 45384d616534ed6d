"""End to end: ``foleyvae evaluate`` on a tiny random model and a prepared footstep dataset, with espeak-ng speech."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from foleyvae.cli.main import main


@pytest.fixture
def tiny_loader(monkeypatch: pytest.MonkeyPatch, tiny_model: Any) -> list[str]:
    """``load_model(name)`` returns the tiny random model; records the names asked for."""
    import foleyvae.export.loader as loader

    asked: list[str] = []

    def fake(name: str | Path) -> Any:
        asked.append(str(name))
        return tiny_model

    monkeypatch.setattr(loader, "load_model", fake)
    return asked


@pytest.mark.slow  # > 15 s on a slow day: CI runs it right after the default suite (.ci/run)
@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed (apt-get install espeak-ng)")
def test_evaluate_cli_end_to_end(
    tiny_loader: list[str], tiny_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report, js = tmp_path / "rep" / "eval.html", tmp_path / "eval.json"
    args = ["evaluate", "--model", "tiny", "--data", str(tiny_dataset), "--report", str(report), "--json", str(js)]
    args += ["--max-examples", "3", "--corpus-examples", "4", "--pairs", "1", "--speech-cache", str(tmp_path / "sp")]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert tiny_loader == ["tiny"]
    assert "reconstruction (3 held-out)" in out and "speech" in out and "mixing (1 pairs)" in out
    numbers = json.loads(js.read_text())
    assert sorted(numbers["transfer"]["per_kind"]) == ["music", "speech", "taps"]
    assert numbers["transfer"]["per_kind"]["speech"]["n"] == 3.0
    page = report.read_text()
    assert "<th>onset F1</th>" in page and "<td>speech_0</td>" in page
    assert (report.parent / "eval_files" / "transfer_speech.png").is_file()
    assert main(args) == 1  # outputs exist: refused without --force
    assert "already exists" in capsys.readouterr().err


def test_evaluate_cli_errors(
    tiny_loader: list[str], tiny_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["evaluate", "--model", "tiny", "--no-speech"]
    assert main(base + ["--data", str(tiny_dataset), "--report", str(tmp_path / "r.pdf")]) == 1
    assert ".md or .html" in capsys.readouterr().err
    assert main(base + ["--data", str(tmp_path / "missing")]) == 1
    assert main(base + ["--data", str(tiny_dataset), "--max-examples", "0"]) == 1
    assert "--max-examples" in capsys.readouterr().err

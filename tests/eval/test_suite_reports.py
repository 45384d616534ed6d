"""eval.suite on a tiny random model and dataset, and the reports written from its numbers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from foleyvae.errors import FoleyError
from foleyvae.eval.common import clean, round_robin
from foleyvae.eval.mixing_sweeps import mixing_pairs
from foleyvae.eval.reports import summary_lines, write_json, write_report
from foleyvae.eval.suite import EvalOptions, EvalResult, evaluate


@pytest.fixture
def result(tiny_model: Any, tiny_dataset: Path) -> EvalResult:
    opts = EvalOptions(
        max_examples=3, corpus_examples=4, n_pairs=1, speech=False, embedding="handmade", n_samples=8192, n_figures=1
    )
    return evaluate(tiny_model, tiny_dataset, opts)


def test_evaluate_numbers(result: EvalResult) -> None:
    n = result.numbers
    rec = n["reconstruction"]
    assert sorted(rec["per_label"]) == ["gravel", "metal", "wood"]  # one held-out file per material
    assert rec["overall"]["n"] == 3.0
    for key in ("multiscale", "mel", "si_sdr", "loudness_corr"):
        assert isinstance(rec["overall"][key], float)
    assert rec["overall"]["multiscale"] > 0.0  # random weights: far from the input
    tr = n["transfer"]
    assert sorted(tr["per_kind"]) == ["music", "taps"]  # speech=False
    assert len(tr["items"]) == 6 and tr["corpus"]["n"] == 4 and tr["corpus"]["split"] == "train"
    for agg in tr["per_kind"].values():
        assert agg["fd_in"] > 0 and agg["fd_out"] > 0 and 0.0 <= agg["closer_fraction"] <= 1.0
    assert all(r["onset_f1_truth"] is not None for r in tr["items"] if r["kind"] == "taps")
    mx = n["mixing"]
    assert len(mx["pairs"]) == 1 and len(mx["pairs"][0]["dist_to_a"]) == len(mx["alphas"]) == 5
    assert mx["pairs"][0]["dist_to_a"][0] < mx["pairs"][0]["dist_to_a"][-1]  # alpha=0 decodes A's latent
    assert n["embedding"]["backend"] == "handmade"
    json.dumps(n, allow_nan=False)  # strictly JSON (nan -> null)
    assert {f.name for f in result.figures} == {"recon_1", "transfer_taps", "transfer_music", "mix_sweep"}


def test_reports_written_with_tables(result: EvalResult, tmp_path: Path) -> None:
    md = write_report(result, tmp_path / "out" / "report.md")
    text = md.read_text()
    assert "| label | n | multiscale | mel | SI-SDR (dB) | loudness r |" in text
    assert "| wood | 1 |" in text and "| **all** | 3 |" in text
    assert "| kind | n | onset F1 |" in text and "| taps | 3 |" in text
    assert "Spearman(d_A)" in text and "hand-made" in text  # the fallback is stated
    pngs = sorted(p.name for p in (tmp_path / "out" / "report_files").glob("*.png"))
    assert pngs == ["mix_sweep.png", "recon_1.png", "transfer_music.png", "transfer_taps.png"]
    assert "![recon_1](report_files/recon_1.png)" in text
    assert all((tmp_path / "out" / "report_files" / p).stat().st_size > 5000 for p in pngs)
    page = write_report(result, tmp_path / "report.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "<th>SI-SDR (dB)</th>" in page and "<td>wood</td>" in page
    assert '<img src="report_files/mix_sweep.png"' in page
    with pytest.raises(FoleyError, match=".md or .html"):
        write_report(result, tmp_path / "report.pdf")
    js = write_json(result.numbers, tmp_path / "n.json")
    assert json.loads(js.read_text())["reconstruction"]["overall"]["n"] == 3.0
    lines = summary_lines(result.numbers)
    assert lines[1].startswith("reconstruction (3 held-out)") and any("mixing (1 pairs)" in ln for ln in lines)


def test_round_robin_and_options() -> None:
    assert round_robin(["b", "a", "a", "b", "c"], 4) == [1, 0, 4, 2]
    with pytest.raises(FoleyError):
        EvalOptions(max_examples=0)


def test_mixing_pairs_take_each_label_pair_once_and_clean_makes_strict_json() -> None:
    x = np.zeros((1, 4), np.float32)
    held = [("wood", x), ("metal", x), ("wood", x), ("gravel", x)]
    assert mixing_pairs(held, 5) == [(1, 0), (3, 0), (3, 1)]  # metal<wood, gravel<wood, gravel<metal; no repeat
    assert mixing_pairs(held, 1) == [(1, 0)] and mixing_pairs(held[:1] + held[2:3], 3) == []  # one label: none
    assert clean({"a": np.float32(1.5), "b": [np.int64(2), float("nan")], 3: np.array([np.inf])}) == {
        "a": 1.5,
        "b": [2, None],
        "3": [None],
    }


class OracleStream:
    """A perfect codec with a delay: the latent is the audio itself (hop 16 -> 16 dims), decode adds 40 samples
    of delay. The suite must compensate the delay and find a perfect reconstruction/transfer."""

    name, sample_rate, channels, hop_length, latent_size, delay_samples = "oracle", 44100, 1, 16, 16, 40
    metadata: dict[str, Any] = {}

    def __init__(self) -> None:
        import torch

        self.state = torch.zeros(1, 1, self.delay_samples)

    def encode(self, x: Any) -> Any:
        b, _, n = x.shape
        return x.reshape(b, n // 16, 16).transpose(1, 2)

    def decode(self, z: Any) -> Any:
        import torch

        b, _, f = z.shape
        y = torch.cat([self.state.expand(b, 1, -1), z.transpose(1, 2).reshape(b, 1, f * 16)], dim=-1)
        self.state = y[:1, :, -self.delay_samples :].clone()
        return y[..., : f * 16]

    def reset(self) -> None:
        self.state.zero_()


def test_perfect_codec_scores_perfectly(tiny_dataset: Path) -> None:
    opts = EvalOptions(max_examples=3, corpus_examples=4, n_pairs=1, speech=False, embedding="handmade", n_figures=0)
    n = evaluate(OracleStream(), tiny_dataset, opts, log=lambda _m: None).numbers  # type: ignore[arg-type]
    rec = n["reconstruction"]["overall"]
    assert rec["si_sdr"] > 60.0 and rec["multiscale"] < 1e-3 and rec["loudness_corr"] > 0.999
    tr = n["transfer"]["overall"]
    assert tr["onset_f1"] == 1.0 and tr["loudness_corr"] > 0.999
    assert tr["fd_out"] == pytest.approx(tr["fd_in"], rel=1e-3)  # identity: no move toward the corpus
    pair = n["mixing"]["pairs"][0]
    assert pair["dist_to_a"][0] < 1e-3 and pair["dist_to_b"][-1] < 0.5  # b is onset-aligned onto a
    assert pair["spearman_a"] > 0.5 and pair["spearman_b"] < -0.5 and pair["range_a"] > 0.5

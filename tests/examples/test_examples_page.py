"""The examples page: the quick page rebuilt with the current code is complete (every table, every referenced file
exists, decodes and is the right kind of file; relative links only), the committed page under docs/examples is
complete and small, the README links it, and the MCLT models are bundled, loadable by name and documented."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from foleyvae.cli.main import main
from foleyvae.examples.build import MCLT_MODELS, TABLE_KEYS
from foleyvae.examples.cells import align_to
from foleyvae.examples.spectrogram import PALETTE, png_bytes, spectrogram_image
from foleyvae.export.loader import assets_dir, list_bundled, load_model
from foleyvae.inference.recipes import MIXES

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs" / "examples"


class _Links(HTMLParser):
    """Every src/href of a page, the audio elements (their attributes) and the ids of labels."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.audio: list[dict[str, str]] = []
        self.ids: set[str] = set()
        self.tables: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.links += [a[k] for k in ("src", "href") if k in a]
        if tag == "audio":
            self.audio.append(a)
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "table" and "data-table" in a:
            self.tables.append(a["data-table"])


def check_page(index: Path) -> tuple[_Links, dict]:
    """Assert the page at ``index`` is complete; returns its parsed links and index.json."""
    page = _Links()
    page.feed(index.read_text())
    numbers = json.loads((index.parent / "index.json").read_text())
    files = [x for x in page.links if not x.startswith("#")]
    assert files, "the page references no files"
    for link in files:
        assert not re.match(r"^[a-z]+:|^/", link), f"not a relative link: {link}"
        assert ".." not in link.split("/"), link
        assert (index.parent / link).is_file(), f"missing: {link}"
    for a in page.audio:
        assert a.get("aria-labelledby") in page.ids, f"player without a label: {a}"
    for key in TABLE_KEYS:
        assert key in page.tables, f"table {key} missing"
    for name in MCLT_MODELS:
        assert name in page.tables, f"MCLT table of {name} missing"
    tables = {t["key"]: t for t in numbers["tables"]}
    assert all(t["rows"] for t in tables.values())
    referenced = {c[k] for t in tables.values() for r in t["rows"] for c in r["cells"] for k in ("audio", "image")}
    assert referenced <= set(files), "index.json names files the page does not show"
    return page, numbers


def test_quick_page_is_complete(quick_page: Path) -> None:
    page, numbers = check_page(quick_page)
    assert numbers["quick"] is True
    tables = {t["key"]: t for t in numbers["tables"]}
    assert len(tables["regeneration"]["rows"]) == 2 and len(tables["mixes"]["rows"]) == 2
    assert len(tables["performances"]["rows"]) == 3  # the performances themselves + two materials
    assert [r["header"] for r in tables["mclt"]["rows"]] == list(MCLT_MODELS)
    for name in MCLT_MODELS:
        rows = tables[name]["rows"]
        assert len(rows) == 2 and all(len(r["cells"]) == 3 for r in rows)
        assert {"multiscale", "mel", "si_sdr", "loudness_corr"} <= set(rows[0]["cells"][1]["metrics"])
    # every sound decodes to audio of the stated length; every picture is a PNG of the stated size
    for t in tables.values():
        for r in t["rows"]:
            for c in r["cells"]:
                x, sr = sf.read(str(quick_page.parent / c["audio"]), dtype="float32")
                assert sr == 44100 and abs(len(x) / sr - c["seconds"]) < 0.01 and np.isfinite(x).all()
                png = (quick_page.parent / c["image"]).read_bytes()
                assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[16:24] == (240).to_bytes(4, "big") + (80).to_bytes(
                    4, "big"
                )
    regen = tables["regeneration"]["rows"][0]["cells"][1]["metrics"]
    assert regen["loudness_corr"] > 0.5  # the trained waveform model follows a held-out recording's envelope
    assert "CC-BY-SA-3.0" in quick_page.read_text() and "minetest-data" in quick_page.read_text()


def test_committed_page_is_complete_small_and_linked() -> None:
    index = DOCS / "index.html"
    assert index.is_file(), "docs/examples is not built: foleyvae examples -o docs/examples"
    _, numbers = check_page(index)
    assert numbers["quick"] is False
    tables = {t["key"]: t for t in numbers["tables"]}
    assert len(tables["mixes"]["rows"]) == len(MIXES) == 18
    assert all(len(tables[n]["rows"]) == 8 for n in MCLT_MODELS)
    size = sum(p.stat().st_size for p in DOCS.rglob("*") if p.is_file())
    assert size <= 15e6, f"docs/examples is {size / 1e6:.1f} MB"
    assert "docs/examples/index.html" in (REPO / "README.md").read_text()


@pytest.mark.parametrize("name", MCLT_MODELS)
def test_mclt_model_is_bundled_with_its_card(name: str) -> None:
    assert name in list_bundled()
    card = json.loads((assets_dir() / name / "card.json").read_text())
    m = load_model(name)
    assert card["name"] == name and card["model_kind"] == name and m.metadata["model_kind"] == name
    assert m.hop_length == 32768 and m.latent_size == card["latent_size"]
    assert "held-out multiscale spectral distance" in card["metrics"]
    assert card["training"]["steps"] > 0 and float(card["training"]["time_budget_minutes"]) <= 20
    assert abs(card["file_size_mb"] - (assets_dir() / name / "model.ts").stat().st_size / 1e6) < 0.01


def test_bundled_assets_stay_under_60_mb() -> None:
    total = sum(p.stat().st_size for p in assets_dir().rglob("*") if p.is_file())
    assert total <= 60e6, f"bundled assets: {total / 1e6:.1f} MB"


def test_spectrogram_png_and_alignment() -> None:
    import io

    from PIL import Image

    t = np.arange(44100) / 44100
    img = spectrogram_image(np.sin(2 * np.pi * 1000 * t), 44100, width=50, height=40)
    assert img.shape == (40, 50) and img.max() == len(PALETTE) - 1
    row = int(np.argmax(img[:, 25]))  # the loudest row is the 1 kHz tone: log axis 40 Hz .. 22.05 kHz, top = high
    freq = np.geomspace(40.0, 22050.0, 40)[::-1][row]
    assert 800 < freq < 1250
    with Image.open(io.BytesIO(png_bytes(img))) as im:
        assert im.size == (50, 40) and im.mode == "P" and np.array_equal(np.asarray(im), img)
    b = np.arange(1, 6, dtype=np.float32)[None]
    assert align_to(b, 2, 6).tolist() == [[0, 0, 1, 2, 3, 4]]
    assert align_to(b, -2, 4).tolist() == [[3, 4, 5, 0]]


def test_cli_refuses_an_existing_folder_and_bad_models(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "page").mkdir()
    assert main(["examples", "-o", str(tmp_path / "page"), "--quick"]) == 1
    assert "already exists" in capsys.readouterr().err
    assert main(["examples", "-o", str(tmp_path / "p2"), "--quick", "--mclt", "no-such-model"]) == 1
    assert "no-such-model" in capsys.readouterr().err
    assert not (tmp_path / "p2").exists()

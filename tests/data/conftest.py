"""Data-test fixtures: the real minetest-data corpus, fetched once per session into the repo's ignored .cache/."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CACHE = REPO / ".cache"


@pytest.fixture(scope="session")
def minetest_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """minetest-data's Foley sounds as label/file.ogg (apt-get download cached in .cache/debs; CI fetches once)."""
    from foleyvae.data.sources import FetchError, fetch_source

    debs = CACHE / "debs"
    if not any(debs.glob("minetest-data_*.deb")) and shutil.which("apt-get") is None:
        pytest.skip("apt-get not available and no cached minetest-data .deb in .cache/debs")
    out = tmp_path_factory.mktemp("corpus") / "minetest"
    try:
        fetch_source("minetest", out, cache_dir=debs)
    except FetchError as e:
        pytest.skip(f"cannot fetch minetest-data: {e}")
    return out


@pytest.fixture(scope="session")
def minetest_dataset(minetest_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from foleyvae.data.prepare import PrepareOptions, prepare_dataset

    out = tmp_path_factory.mktemp("ds") / "minetest"
    prepare_dataset([minetest_dir], out, PrepareOptions(valid_fraction=0.1, seed=0), workers=0)
    return out

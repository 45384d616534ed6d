"""Studio fixtures: a config with the untrained demo model, a TestClient, and the token."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

TOKEN = "test-token-0123456789abcdef"


@pytest.fixture(scope="session")
def demo_factory() -> Any:
    """A loader that returns a fresh demo model per call (each one built from the same seed)."""
    import functools

    from foleyvae.playable.demo import demo_model

    return functools.partial(demo_model, seed=0)  # picklable: the native route's engine process loads it too


@pytest.fixture
def studio_cfg(tmp_path: Path, demo_factory: Any) -> Any:
    from foleyvae.studio.app import StudioConfig
    from foleyvae.studio.session import ModelEntry

    runs = tmp_path / "runs"
    runs.mkdir()
    entry = ModelEntry("demo", "demo (untrained)", "demo", "random weights", demo_factory)
    return StudioConfig(
        token=TOKEN,
        session_dir=tmp_path / "work" / "session-test",
        runs_dir=runs,
        extra_models=[entry],
        default_model="demo",
        max_upload_bytes=2 * 1024 * 1024,
        default_block_size=256,
        test_client_host=True,  # TestClient sends Host: testserver; a real studio accepts loopback names only
    )


@pytest.fixture
def client(studio_cfg: Any) -> Iterator[Any]:
    import warnings

    with warnings.catch_warnings():  # starlette's note about httpx2: not ours to fix
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    from foleyvae.studio.app import Studio, create_app

    studio = Studio(studio_cfg)
    studio.open_default()
    with TestClient(create_app(studio_cfg, studio)) as c:
        c.headers["X-Studio-Token"] = TOKEN
        yield c

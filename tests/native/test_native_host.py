"""The exported file works in a C++ libtorch host calling it as nn~ does (tests/native/nn_host.cpp).

The host is built with CMake against the torch in this venv (``torch.utils.cmake_prefix_path``) into
tests/native/build (git-ignored, kept between runs: only the first run compiles, ~30-60 s).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import torch

from foleyvae.config import preset
from foleyvae.export.torchscript import export_model
from foleyvae.models.builders import build_model

HERE = Path(__file__).resolve().parent
BUILD = HERE / "build"

pytestmark = pytest.mark.filterwarnings("ignore:.*torch.jit:DeprecationWarning")


def _build_host() -> Path:
    for tool in ("cmake", "make", "g++"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} not installed (make sysdeps)")
    BUILD.mkdir(exist_ok=True)
    if not (BUILD / "CMakeCache.txt").is_file():
        subprocess.run(
            [
                "cmake",
                f"-DCMAKE_PREFIX_PATH={torch.utils.cmake_prefix_path}",
                "-DCMAKE_BUILD_TYPE=Release",
                str(HERE),
            ],
            cwd=BUILD,
            check=True,
            capture_output=True,
            timeout=300,
        )
    subprocess.run(["make", "-j2"], cwd=BUILD, check=True, capture_output=True, timeout=600)
    return BUILD / "nn_host"


@pytest.mark.slow  # > 15 s: CI runs it (.ci/run), the default suite stays under 8 minutes
@pytest.mark.parametrize("streaming", [True, False])
def test_native_host_runs_export(tmp_path: Path, streaming: bool) -> None:
    host = _build_host()
    torch.manual_seed(0)
    out = tmp_path / "tiny.ts"
    export_model(build_model(preset("tiny")), preset("tiny"), None, out, streaming=streaming, check_block_sizes=(2048,))
    res = subprocess.run([str(host), str(out), "2048", "4096"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "PASSED: 0 failure(s)" in res.stdout
    for method in ("encode", "decode", "forward"):
        for buffer in (2048, 4096):
            for batch in (1, 2):
                assert any(
                    ln.startswith(f"ok {method} ") and f"buffer {buffer} batch {batch}:" in ln
                    for ln in res.stdout.splitlines()
                ), res.stdout
    assert "attribute temperature" in res.stdout and "sr: 44100" in res.stdout


@pytest.mark.slow  # > 20 s on a slow day: CI runs it right after the default suite (.ci/run)
def test_native_host_rejects_garbage(tmp_path: Path) -> None:
    host = _build_host()
    bad = tmp_path / "bad.ts"
    bad.write_bytes(b"not a model")
    res = subprocess.run([str(host), str(bad)], capture_output=True, text=True, timeout=60)
    assert res.returncode == 1 and "FAIL load" in res.stderr

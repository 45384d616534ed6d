"""``foleyvae studio`` as a user runs it: prints the tokenised URL, serves on 127.0.0.1, refuses tokenless calls."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("uvicorn")


def test_studio_command_serves_with_token(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    cmd = [sys.executable, "-m", "foleyvae.cli.main", "studio", "--port", "0", "--no-browser", "--model", "demo"]
    cmd += ["--workdir", str(tmp_path / "w"), "--runs", str(tmp_path / "runs")]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        url = None
        deadline = time.monotonic() + 60
        assert proc.stdout is not None
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            m = re.search(r"(http://127\.0\.0\.1:\d+/\?token=[\w-]+)", line)
            if m:
                url = m.group(1)
                break
            if proc.poll() is not None:
                break
        assert url, "the studio did not print its URL"
        token = url.split("token=")[1]
        assert len(token) >= 40
        base = url.split("/?")[0]
        with urllib.request.urlopen(f"{base}/api/state?token={token}", timeout=10) as r:
            assert r.status == 200 and b"demo" in r.read()
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(f"{base}/api/state", timeout=10)
        assert e.value.code == 401
        assert (tmp_path / "w").is_dir()
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_studio_bad_model_is_one_line_error(tmp_path: Path) -> None:
    from foleyvae.cli.main import main

    rc = main(["studio", "--no-browser", "--model", "nope", "--workdir", str(tmp_path), "--runs", str(tmp_path)])
    assert rc == 1

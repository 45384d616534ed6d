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


def test_browser_is_opened_without_the_token_on_its_command_line(tmp_path: Path) -> None:
    """The browser gets a one-time /login?code= URL (its command line is readable by every local user); the code
    leads to the page once, then it is spent."""
    argv_file = tmp_path / "browser-argv"
    fake = tmp_path / "fake-browser"
    fake.write_text(f'#!/bin/sh\nprintf "%s\\n" "$0" "$@" > {argv_file}\n')
    fake.chmod(0o755)
    env = dict(os.environ, PYTHONUNBUFFERED="1", BROWSER=str(fake))
    cmd = [sys.executable, "-m", "foleyvae.cli.main", "studio", "--port", "0", "--model", "demo"]
    cmd += ["--workdir", str(tmp_path / "w"), "--runs", str(tmp_path / "runs")]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        assert proc.stdout is not None
        url = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and url is None:
            m = re.search(r"(http://127\.0\.0\.1:\d+/\?token=[\w-]+)", proc.stdout.readline())
            url = m.group(1) if m else None
            assert proc.poll() is None, "the studio exited"
        assert url
        token = url.split("token=")[1]
        while not argv_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        argv = argv_file.read_text()
        assert token not in argv
        login = re.search(r"(http://127\.0\.0\.1:\d+/login\?code=[\w-]+)", argv)
        assert login, argv
        with urllib.request.urlopen(login.group(1), timeout=10) as r:  # follows the redirect to the page
            assert r.status == 200 and token in r.read().decode()
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(login.group(1), timeout=10)
        assert e.value.code == 403
        modes = {p: oct(p.stat().st_mode & 0o777) for p in [tmp_path / "w", *(tmp_path / "w").rglob("*")]}
        assert all(m == "0o700" for p, m in modes.items() if p.is_dir()) and len(modes) >= 5, modes
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_studio_osc_port_takes_controls(tmp_path: Path) -> None:
    """``--osc-port 0``: the studio prints its OSC port, binds it on 127.0.0.1, and /api/state shows what arrives."""
    import json
    import queue
    import socket
    import threading

    from foleyvae.control.osc import encode_message

    env = dict(os.environ, PYTHONUNBUFFERED="1")
    cmd = [sys.executable, "-m", "foleyvae.cli.main", "studio", "--port", "0", "--no-browser", "--model", "demo"]
    cmd += ["--workdir", str(tmp_path / "w"), "--runs", str(tmp_path / "runs"), "--osc-port", "0"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    lines: queue.Queue[str] = queue.Queue()
    assert proc.stdout is not None
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout], daemon=True).start()  # type: ignore[union-attr]
    try:
        url = port = None
        deadline = time.monotonic() + 60
        while (url is None or port is None) and time.monotonic() < deadline:
            try:
                line = lines.get(timeout=1.0)
            except queue.Empty:
                assert proc.poll() is None, "the studio exited"
                continue
            if m := re.search(r"OSC on udp://127\.0\.0\.1:(\d+)", line):
                port = int(m.group(1))
            if m := re.search(r"(http://127\.0\.0\.1:\d+/\?token=[\w-]+)", line):
                url = m.group(1)
        assert url and port, "the studio did not print its URL and OSC port"
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(encode_message("/foleyvae/temperature", 0.7), ("127.0.0.1", port))
            s.sendto(b"not osc!", ("127.0.0.1", port))
        base, token = url.split("/?")[0], url.split("token=")[1]
        state: dict = {}
        while time.monotonic() < deadline:
            with urllib.request.urlopen(f"{base}/api/state?token={token}", timeout=10) as r:
                state = json.loads(r.read())
            if state["osc"]["packets"] >= 2:
                break
            time.sleep(0.05)
        assert state["control_values"]["temperature"] == 0.7
        assert state["osc"] == {**state["osc"], "port": port, "applied": 1, "dropped": 1}
    finally:
        proc.terminate()
        proc.wait(timeout=20)

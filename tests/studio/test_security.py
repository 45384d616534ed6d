"""The studio's security helpers on their own: tokens, origins, hosts, file names, ids, control validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from foleyvae.studio.security import (
    SecurityError,
    check_id,
    host_ok,
    inside,
    new_token,
    origin_ok,
    safe_name,
    token_ok,
    validate_controls,
)


def test_tokens() -> None:
    a, b = new_token(), new_token()
    assert a != b and len(a) >= 40
    assert token_ok(a, a) and not token_ok(b, a) and not token_ok(None, a) and not token_ok("", a)


@pytest.mark.parametrize(
    ("origin", "host", "ok"),
    [
        (None, "127.0.0.1:8000", True),  # non-browser client (still needs the token)
        ("http://127.0.0.1:8000", "127.0.0.1:8000", True),
        ("http://127.0.0.1:8000/", "127.0.0.1:8000", True),
        ("http://localhost:8000", "127.0.0.1:8000", False),
        ("http://127.0.0.1:8001", "127.0.0.1:8000", False),
        ("https://evil.example", "127.0.0.1:8000", False),
        ("null", "127.0.0.1:8000", False),
        ("http://127.0.0.1:8000", None, False),
    ],
)
def test_origin(origin: str | None, host: str | None, ok: bool) -> None:
    assert origin_ok(origin, host) is ok


def test_host_header_against_dns_rebinding() -> None:
    assert host_ok("127.0.0.1:8000", "127.0.0.1", 8000)
    assert host_ok("localhost:8000", "127.0.0.1", 8000)
    assert host_ok("[::1]:8000", "127.0.0.1", 8000)
    assert not host_ok("evil.example:8000", "127.0.0.1", 8000)
    assert not host_ok(None, "127.0.0.1", 8000)
    assert host_ok("192.168.1.5:8000", "0.0.0.0", 8000)  # bound to the network on purpose: token only


def test_safe_name_and_ids(tmp_path: Path) -> None:
    exts = (".wav", ".flac")
    assert safe_name("../../etc/x.wav", exts) == "x.wav"
    assert safe_name("C:\\Users\\me\\my take (2).WAV", exts) == "my_take_2_.wav"
    for bad in ("x.exe", "x", "x.wav.sh", "", ".wav"):
        with pytest.raises(SecurityError):
            safe_name(bad, exts)
    assert check_id("take-001") == "take-001"
    for bad in ("..", "a/../b", "/etc", "a b", "", "-x", "x" * 200):
        with pytest.raises(SecurityError):
            check_id(bad)
    (tmp_path / "a").mkdir()
    (tmp_path / "link").symlink_to("/etc")
    assert inside(tmp_path, tmp_path / "a" / "f") and not inside(tmp_path / "a", tmp_path / "a" / ".." / "b")
    assert not inside(tmp_path, tmp_path / "link" / "passwd")


def test_validate_controls() -> None:
    labels = ["metal", "wood"]
    ok = validate_controls(
        {"type": "controls", "bias": [1, -2.5], "scale": [0.5], "temperature": 0.3, "dry_wet": 0.2, "input_gain_db": -6,
         "freeze": True, "limiter": False, "towards": {"label": "wood", "amount": 0.4}},
        4, labels,
    )  # fmt: skip
    assert ok["bias"] == [1.0, -2.5] and ok["towards"] == {"label": "wood", "amount": 0.4} and ok["freeze"] is True
    assert validate_controls({"towards": None}, 4, labels) == {"towards": None}
    bad = [
        [],
        {"bias": [0] * 5},
        {"bias": [float("nan")]},
        {"bias": [1e6]},
        {"bias": "1"},
        {"scale": [True]},
        {"temperature": -1},
        {"dry_wet": 1.5},
        {"input_gain_db": float("inf")},
        {"freeze": 1},
        {"towards": {"label": "lava", "amount": 1}},
        {"towards": {"label": "wood", "amount": 2}},
        {"towards": {"label": "wood", "amount": 0.5, "x": 1}},
        {"unknown": 1},
    ]
    for b in bad:
        with pytest.raises(SecurityError):
            validate_controls(b, 4, labels)

"""The studio's security rules, as small pure functions the app and its tests share.

Threat model: the studio is a local tool, but a browser on the same machine visits other sites. So every HTTP
route and the WebSocket need the session token (query ``token`` or header ``X-Studio-Token``), WebSockets from
another origin are refused (a page elsewhere cannot drive the microphone path), the Host header must name the
server when bound to loopback (DNS rebinding), uploads are size-limited and decoded before being kept, and no
client-supplied string is ever used as a path: clients name things by ids that the server made.
"""

from __future__ import annotations

import hmac
import math
import re
import secrets
import threading
import time
from pathlib import Path
from typing import Any

from foleyvae.errors import FoleyError
from foleyvae.inference.control_spec import ControlError, control
from foleyvae.inference.materials import MaterialError, parse_blend

__all__ = [
    "TOKEN_HEADER",
    "LoginCodes",
    "SecurityError",
    "new_token",
    "token_ok",
    "origin_ok",
    "host_ok",
    "safe_name",
    "inside",
    "private_file",
    "validate_controls",
    "LOOPBACK_HOSTS",
]

TOKEN_HEADER = "x-studio-token"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
_DOTS = re.compile(r"\.{2,}")
MAX_NAME = 80
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


class SecurityError(FoleyError):
    """A request the studio refuses; the message is shown to the user."""


def new_token() -> str:
    """A fresh random session token (URL-safe, 256 bits)."""
    return secrets.token_urlsafe(32)


class LoginCodes:
    """One-time login codes: the studio opens the browser on ``/login?code=C`` instead of the tokenised URL, since a
    browser's command line (``/proc/PID/cmdline``) is readable by every local user. A code works once, within
    ``ttl_s`` seconds; the page it leads to gets the token from the server, not from the command line.
    """

    def __init__(self, ttl_s: float = 120.0) -> None:
        self.ttl_s = ttl_s
        self._codes: dict[str, float] = {}
        self._lock = threading.Lock()

    def issue(self) -> str:
        code = secrets.token_urlsafe(24)
        with self._lock:
            now = time.monotonic()
            self._codes = {c: t for c, t in self._codes.items() if t > now}
            self._codes[code] = now + self.ttl_s
        return code

    def redeem(self, code: str) -> bool:
        """True once for a fresh code (constant-time comparison); the code is spent either way."""
        with self._lock:
            now = time.monotonic()
            hit = None
            for c in list(self._codes):
                if hmac.compare_digest(c.encode(), str(code).encode()):
                    hit = c
            expires = self._codes.pop(hit, 0.0) if hit is not None else 0.0
        return expires > now


def token_ok(given: str | None, expected: str) -> bool:
    """Constant-time comparison (a missing token is never ok)."""
    return bool(given) and hmac.compare_digest(str(given).encode(), expected.encode())


def origin_ok(origin: str | None, host_header: str | None) -> bool:
    """A WebSocket's Origin must be this server itself (same scheme-less host:port as the Host header).

    Browsers always send Origin on WebSocket handshakes; a missing Origin means a non-browser client (tests,
    scripts), which still needs the token.
    """
    if origin is None:
        return True
    if not host_header:
        return False
    o = origin.lower().rstrip("/")
    for scheme in ("http://", "https://"):
        if o.startswith(scheme):
            return o[len(scheme) :] == host_header.lower()
    return False


def host_ok(host_header: str | None, bind_host: str, port: int | None, extra: tuple[str, ...] = ()) -> bool:
    """When bound to loopback, the Host header must be a loopback name (blocks DNS-rebinding pages).

    ``extra`` adds accepted names: only the tests pass ``("testserver",)`` (the test client's Host), through
    ``StudioConfig.test_client_host``; a running studio accepts loopback names only.
    """
    if bind_host not in LOOPBACK_HOSTS:
        return True
    if not host_header:
        return False
    h = host_header.lower()
    if h.startswith("["):
        name = h.split("]")[0] + "]"
    else:
        name = h.rsplit(":", 1)[0] if ":" in h else h
    return name in LOOPBACK_HOSTS or name in extra


def safe_name(name: str, allowed_suffixes: tuple[str, ...], default_stem: str = "file") -> str:
    """A client file name -> a plain basename with only ``[A-Za-z0-9._-]`` and an allowed suffix.

    Raises SecurityError for a suffix not in ``allowed_suffixes``; folders in the name are dropped. Runs of dots
    become one (``take..final.wav`` -> ``take.final.wav``: ids made from names may not hold ``..``), and a long
    name loses the end of its stem, never its suffix (at most ``MAX_NAME`` characters in all).
    """
    base = re.split(r"[\\/]", name or "")[-1]
    base = _DOTS.sub(".", _SAFE.sub("_", base)).lstrip(".")
    suffix = Path(base).suffix.lower()
    if suffix not in allowed_suffixes:
        raise SecurityError(
            f"unsupported file type {suffix or '(no extension)'!r}; supported: {', '.join(allowed_suffixes)}"
        )
    stem = Path(base).stem[: MAX_NAME - len(suffix)].rstrip(".") or default_stem
    return stem + suffix


def check_id(value: str, what: str = "id") -> str:
    """Ids made by the server are short ``[A-Za-z0-9._-]`` strings without ``..``; anything else is refused."""
    if not isinstance(value, str) or not _ID.match(value) or ".." in value:
        raise SecurityError(f"invalid {what}")
    return value


def private_file(root: Path, candidate: Path) -> bool:
    """True when ``candidate`` is a regular file inside ``root`` and no symlink: a link planted in the session
    folder is never followed, not even to another file inside it."""
    try:
        if candidate.is_symlink() or not candidate.is_file():
            return False
        rel = candidate.relative_to(root)
    except (ValueError, OSError):
        return False
    parent = root
    for part in rel.parts[:-1]:  # no linked folder on the way either
        parent = parent / part
        if parent.is_symlink():
            return False
    return inside(root, candidate)


def inside(root: Path, candidate: Path) -> bool:
    """True when ``candidate`` (resolved, symlinks followed) lies inside ``root``."""
    try:
        candidate.resolve().relative_to(root.resolve())
    except (ValueError, OSError):
        return False
    return True


# --------------------------------------------------------------------------------------------- controls


def _num(v: Any, what: str, lo: float, hi: float) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise SecurityError(f"{what}: expected a number")
    f = float(v)
    if not math.isfinite(f):
        raise SecurityError(f"{what}: must be finite")
    if not lo <= f <= hi:
        raise SecurityError(f"{what}: {f:g} out of range [{lo:g}, {hi:g}]")
    return f


def _vector(v: Any, what: str, n: int, lo: float, hi: float) -> list[float]:
    if not isinstance(v, list):
        raise SecurityError(f"{what}: expected a list of numbers")
    if len(v) > n:
        raise SecurityError(f"{what}: {len(v)} values for a {n}-dim latent")
    return [_num(x, f"{what}[{i}]", lo, hi) for i, x in enumerate(v)]


def validate_controls(msg: Any, latent_size: int, labels: list[str]) -> dict[str, Any]:
    """Check a control update from the page; returns the clean subset (only known keys, typed, in range).

    Keys and ranges are those of ``inference.control_spec.CONTROLS``: ``bias``/``scale`` (lists, PCA order, at most
    latent_size; bias in dim stds, the spec's ui range), ``temperature``, ``dry_wet``, ``input_gain_db``, ``freeze``,
    ``limiter``, ``towards`` ({"label": one of labels or a blend of them such as ``"wood:0.6,metal:0.4"``
    (``inference.materials.parse_blend``), "amount": in the spec's range} or null). Unknown keys are refused so
    that typos do not silently do nothing.
    """
    if not isinstance(msg, dict):
        raise SecurityError("controls: expected a JSON object")
    out: dict[str, Any] = {}
    for key, value in msg.items():
        if key in ("type", "id"):
            continue
        try:
            spec = control(str(key))
        except ControlError:
            raise SecurityError(f"controls: unknown key {str(key)[:40]!r}") from None
        if spec.kind == "dims":
            out[key] = _vector(value, key, latent_size, *spec.ui_range)
        elif spec.kind == "number":
            out[key] = _num(value, key, spec.lo, spec.hi)
        elif spec.kind == "bool":
            if not isinstance(value, bool):
                raise SecurityError(f"{key}: expected true or false")
            out[key] = value
        elif spec.kind == "material":
            if value is None:
                out[key] = None
                continue
            if not isinstance(value, dict) or set(value) - {"label", "amount"}:
                raise SecurityError('towards: expected {"label": ..., "amount": ...} or null')
            label = value.get("label")
            if not isinstance(label, str) or len(label) > 400:
                raise SecurityError("towards: label must be a material name or a blend such as wood:0.6,metal:0.4")
            try:
                names = [name for name, _ in parse_blend(label).terms]
            except MaterialError as e:
                raise SecurityError(f"towards: {e}") from None
            unknown = [n for n in names if n not in labels]
            if unknown:
                raise SecurityError(f"towards: unknown material {unknown[0]!r}; this model knows {', '.join(labels)}")
            amount = _num(value.get("amount", 0.0), "towards.amount", spec.lo, spec.hi)
            out[key] = {"label": label, "amount": amount}
    return out

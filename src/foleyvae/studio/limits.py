"""Request limits of the studio: JSON bodies read with a size cap while streaming, and a nesting-depth cap.

A JSON route used to read the whole body before checking its size (a 1 GB body to ``/api/presets/NAME`` was
refused after 203 s at 2.34 GB peak memory), and ``[`` x 50000 made ``json.loads`` raise RecursionError (a 500).
Here the body is refused at ``limit`` bytes while it arrives (413), and the depth is measured on the raw bytes
before parsing (400), so neither the size nor the depth of a hostile body reaches the parser.
"""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np

from foleyvae.studio.security import SecurityError

__all__ = ["HttpError", "MAX_JSON_BYTES", "MAX_JSON_DEPTH", "json_depth", "parse_json", "read_body", "read_json"]

MAX_JSON_BYTES = 256 * 1024
MAX_JSON_DEPTH = 32  # the studio's JSON is at most 3 levels deep ({"controls": {"towards": {...}}})
# A JSON string: quote, then plain characters or backslash escapes, then quote (linear: no nested quantifiers).
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)


class HttpError(Exception):
    """A refusal with its own HTTP status (413 too large, 415 wrong type...); the message is shown to the user."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def json_depth(raw: bytes) -> int:
    """Deepest ``[``/``{`` nesting of a JSON text (brackets inside strings do not count); O(len) with numpy."""
    if not raw:
        return 0
    outside = np.frombuffer(_STRING.sub(b'""', raw), np.uint8)
    step = (outside == ord("[")).astype(np.int32) + (outside == ord("{"))
    step -= (outside == ord("]")).astype(np.int32) + (outside == ord("}"))
    return int(np.cumsum(step).max(initial=0))


def parse_json(raw: bytes | str, max_depth: int = MAX_JSON_DEPTH, what: str = "request body") -> Any:
    """Parse a JSON text that came from a client; SecurityError (one line) when it is too deep or invalid."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    if json_depth(data) > max_depth:
        raise SecurityError(f"{what}: JSON nested deeper than {max_depth} levels")
    try:
        return json.loads(data or b"null")
    except (ValueError, RecursionError):
        raise SecurityError(f"{what} is not valid JSON") from None


def _too_large(limit: int) -> HttpError:
    size = f"{limit // 1024} KB" if limit < 1024 * 1024 else f"{limit // (1024 * 1024)} MB"
    return HttpError(413, f"request body larger than the {size} limit")


async def read_body(request: Any, limit: int) -> bytes:
    """The request body, read chunk by chunk and refused (413) as soon as it passes ``limit`` bytes.

    A declared ``Content-Length`` over the limit is refused before reading anything.
    """
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    buf = bytearray()
    async for chunk in request.stream():
        if len(buf) + len(chunk) > limit:
            raise _too_large(limit)
        buf += chunk
    return bytes(buf)


async def read_json(request: Any, limit: int = MAX_JSON_BYTES, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """:func:`read_body` then :func:`parse_json`."""
    return parse_json(await read_body(request, limit), max_depth)

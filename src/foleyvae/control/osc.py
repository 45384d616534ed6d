"""OSC 1.0 packets: parse (messages and bundles) and encode (for clients and tests). No I/O, no threads.

A packet is a message or a bundle (https://opensoundcontrol.stanford.edu/spec-1_0.html):

- message: address (OSC-string, starts with ``/``), type tag string (OSC-string, starts with ``,``), arguments;
- bundle: ``#bundle\\0``, an 8-byte time tag, then elements, each an int32 size and a packet of that size.

OSC-strings are ASCII, NUL-terminated and padded with NULs to a multiple of 4 bytes; numbers are big-endian.
Argument types read here: ``i`` int32, ``f`` float32, ``s`` string, ``b`` blob, ``T``/``F`` (true/false, no data).
Anything else (an unknown tag, a length that runs past the packet, a string without its NUL, a bundle nested deeper
than :data:`MAX_BUNDLE_DEPTH`) raises :class:`OscError`: the server drops the whole packet and counts it.
:func:`parse_timed` gives each message the time tag of its bundle (NTP format: seconds since 1900 in the high 32
bits, the fraction in the low 32; :data:`IMMEDIATELY` for a plain message; a nested bundle's tag must not be earlier
than its parent's, as the spec says); :func:`tag_to_unix` turns one into wall-clock seconds for the server's schedule.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from foleyvae.errors import FoleyError

__all__ = [
    "IMMEDIATELY",
    "MAX_BUNDLE_DEPTH",
    "OscError",
    "OscMessage",
    "encode_bundle",
    "encode_message",
    "parse_packet",
    "parse_timed",
    "tag_to_unix",
    "unix_to_tag",
]

MAX_BUNDLE_DEPTH = 8
MAX_ARGS = 64
BUNDLE_TAG = b"#bundle\x00"
IMMEDIATELY = 1  # the time tag that means "now" (OSC 1.0: 63 zero bits and a one)
NTP_TO_UNIX_S = 2208988800  # seconds from 1900-01-01 (NTP's epoch) to 1970-01-01 (RFC 868)
OscArg = int | float | str | bytes | bool


class OscError(FoleyError, ValueError):
    """A malformed OSC packet (the one-line reason says where)."""


@dataclass(frozen=True)
class OscMessage:
    """One OSC message: its address (``/foleyvae/bias/0``), the type tags (``"f"``) and the arguments."""

    address: str
    tags: str
    args: tuple[OscArg, ...]


def _string(data: bytes, pos: int, what: str) -> tuple[str, int]:
    """The OSC-string at ``pos`` and the position after its padding."""
    end = data.find(b"\x00", pos)
    if end < 0:
        raise OscError(f"{what}: no NUL terminator")
    try:
        text = data[pos:end].decode("ascii")
    except UnicodeDecodeError:
        raise OscError(f"{what}: not ASCII") from None
    nxt = (end + 4) & ~3  # past the NUL, up to the next multiple of 4
    if nxt > len(data):
        raise OscError(f"{what}: padding runs past the packet")
    if data[end:nxt].strip(b"\x00"):
        raise OscError(f"{what}: padding is not NUL")
    return text, nxt


def _need(data: bytes, pos: int, n: int, what: str) -> None:
    if pos + n > len(data):
        raise OscError(f"{what}: needs {n} bytes at offset {pos}, the packet has {len(data)}")


def _shortest(raw: bytes) -> float:
    """A float32 as the shortest decimal that is the same float32 (0.8f -> 0.8, not 0.800000011920929)."""
    v = struct.unpack(">f", raw)[0]
    for digits in range(6, 10):
        short = float(f"{v:.{digits}g}")
        if struct.pack(">f", short) == raw:
            return short
    return float(v)  # NaN (its payload) and the like


def _argument(tag: str, data: bytes, pos: int) -> tuple[OscArg, int]:
    """One argument of type ``tag`` at ``pos`` -> (value, next position)."""
    if tag == "i":
        _need(data, pos, 4, "int32")
        return struct.unpack_from(">i", data, pos)[0], pos + 4
    if tag == "f":
        _need(data, pos, 4, "float32")
        return _shortest(data[pos : pos + 4]), pos + 4
    if tag == "s":
        return _string(data, pos, "string argument")
    if tag == "b":
        _need(data, pos, 4, "blob size")
        n = struct.unpack_from(">i", data, pos)[0]
        if n < 0:
            raise OscError(f"blob size {n} < 0")
        _need(data, pos + 4, (n + 3) & ~3, "blob")
        return bytes(data[pos + 4 : pos + 4 + n]), pos + 4 + ((n + 3) & ~3)
    if tag in "TF":
        return tag == "T", pos
    raise OscError(f"unsupported type tag {tag!r} (i, f, s, b, T, F)")


def _message(data: bytes) -> OscMessage:
    address, pos = _string(data, 0, "address")
    if not address.startswith("/"):
        raise OscError(f"address must start with '/', got {address[:40]!r}")
    if pos == len(data):
        raise OscError("no type tag string (OSC 1.0 messages carry one)")
    tags, pos = _string(data, pos, "type tags")
    if not tags.startswith(","):
        raise OscError(f"type tags must start with ',', got {tags[:20]!r}")
    tags = tags[1:]
    if len(tags) > MAX_ARGS:
        raise OscError(f"{len(tags)} arguments: at most {MAX_ARGS}")
    args = []
    for tag in tags:
        value, pos = _argument(tag, data, pos)
        args.append(value)
    if pos != len(data):
        raise OscError(f"{len(data) - pos} bytes after the last argument")
    return OscMessage(address, tags, tuple(args))


def parse_packet(data: bytes) -> list[OscMessage]:
    """A UDP datagram -> its messages in order (a bundle's elements flattened); OscError when malformed."""
    return [m for _, m in parse_timed(data)]


def parse_timed(data: bytes, depth: int = 0, parent_tag: int = IMMEDIATELY) -> list[tuple[int, OscMessage]]:
    """A UDP datagram -> ``(time tag, message)`` in order; a message outside a bundle gets ``parent_tag``."""
    if len(data) == 0 or len(data) % 4:
        raise OscError(f"packet size {len(data)} is not a positive multiple of 4")
    if not data.startswith(BUNDLE_TAG):
        return [(parent_tag, _message(data))]
    if depth >= MAX_BUNDLE_DEPTH:
        raise OscError(f"bundles nested deeper than {MAX_BUNDLE_DEPTH}")
    _need(data, 8, 8, "bundle time tag")
    tag = struct.unpack_from(">Q", data, 8)[0]
    if depth > 0 and tag != IMMEDIATELY and parent_tag != IMMEDIATELY and tag < parent_tag:
        raise OscError("a nested bundle's time tag is earlier than its parent's")
    if tag == IMMEDIATELY and depth > 0:
        tag = parent_tag  # "now" inside a timed bundle: when the bundle is due
    pos, out = 16, []
    while pos < len(data):
        _need(data, pos, 4, "bundle element size")
        n = struct.unpack_from(">i", data, pos)[0]
        if n <= 0 or n % 4:
            raise OscError(f"bundle element size {n} is not a positive multiple of 4")
        _need(data, pos + 4, n, "bundle element")
        out += parse_timed(data[pos + 4 : pos + 4 + n], depth + 1, tag)
        pos += 4 + n
    return out


def tag_to_unix(tag: int) -> float | None:
    """An NTP time tag -> seconds since 1970 (``time.time()``'s clock); None for "immediately" (0 or 1)."""
    if tag <= IMMEDIATELY:
        return None
    return (tag >> 32) - NTP_TO_UNIX_S + (tag & 0xFFFFFFFF) / 2.0**32


def unix_to_tag(t: float) -> int:
    """Seconds since 1970 -> an NTP time tag (what a client puts on a bundle due at ``t``)."""
    whole = int(t)
    return ((whole + NTP_TO_UNIX_S) << 32) | min(0xFFFFFFFF, int(round((t - whole) * 2.0**32)))


# ------------------------------------------------------------------------------------------------ encoding


def _pad(b: bytes) -> bytes:
    return b + b"\x00" * (4 - len(b) % 4)  # always at least one NUL (the terminator)


def encode_message(address: str, *args: OscArg) -> bytes:
    """An OSC message: ``int`` -> ``i``, ``float`` -> ``f``, ``str`` -> ``s``, ``bytes`` -> ``b``, ``bool`` -> T/F."""
    tags, payload = ",", b""
    for a in args:
        if isinstance(a, bool):
            tags += "T" if a else "F"
        elif isinstance(a, int):
            tags, payload = tags + "i", payload + struct.pack(">i", a)
        elif isinstance(a, float):  # NaN and inf are legal float32s: a client may send them, the checks refuse them
            tags, payload = tags + "f", payload + struct.pack(">f", a)
        elif isinstance(a, str):
            tags, payload = tags + "s", payload + _pad(a.encode("ascii"))
        elif isinstance(a, bytes):
            tags, payload = tags + "b", payload + struct.pack(">i", len(a)) + a + b"\x00" * (-len(a) % 4)
        else:
            raise TypeError(f"cannot encode {type(a).__name__} as an OSC argument")
    return _pad(address.encode("ascii")) + _pad(tags.encode("ascii")) + payload


def encode_bundle(*elements: bytes, timetag: int = 1) -> bytes:
    """An OSC bundle of already encoded messages or bundles (time tag 1 = "immediately")."""
    body = b"".join(struct.pack(">i", len(e)) + e for e in elements)
    return BUNDLE_TAG + struct.pack(">Q", timetag) + body

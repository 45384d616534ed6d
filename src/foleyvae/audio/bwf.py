"""Broadcast WAV (EBU Tech 3285): a RIFF/WAVE file of 24-bit PCM with a ``bext`` chunk and an ``iXML`` chunk.

A DAW places a BWF on its timeline at ``TimeReference``: the file's first sample, counted in samples since
midnight at the file's rate. The ``iXML`` chunk (ixml.info 2.x) repeats it and adds the scene, take, tape and
timecode rate. Written here by hand (atomic: a temp file renamed over the target); :func:`read_bwf` reads the
header fields back (used by the tests and by anyone checking a file).

Layout written: ``RIFF`` size ``WAVE`` | ``bext`` (602 bytes + coding history) | ``fmt `` (PCM, 16 bytes) |
``iXML`` | ``data``; chunks of odd size get a pad byte, as RIFF requires.
"""

from __future__ import annotations

import struct
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from foleyvae.audio.timecode import RATES, rate
from foleyvae.errors import FoleyError
from foleyvae.utils.atomic import atomic_path

__all__ = ["BwfError", "BwfMeta", "BwfInfo", "write_bwf", "read_bwf", "BEXT_SIZE"]

BEXT_SIZE = 602  # the fixed part of the bext chunk (v2), before the coding history
_BEXT = struct.Struct("<256s32s32s10s8sIIH64s5h180s")
assert _BEXT.size == BEXT_SIZE
_FMT = struct.Struct("<HHIIHH")
MAX_DATA_BYTES = 0xFFFFFFFF - 4096  # RIFF sizes are u32: a bigger take needs RF64, which this writer does not do


class BwfError(FoleyError, ValueError):
    """A Broadcast WAV that cannot be written or read; the message names the file."""


@dataclass(frozen=True)
class BwfMeta:
    """What goes into the bext and iXML chunks.

    time_reference: samples since midnight (at the file's rate) of the first sample.
    timecode_rate: a ``timecode.RATES`` name (``25``, ``29.97``...), written to iXML's TIMECODE_RATE/FLAG.
    """

    time_reference: int
    timecode_rate: str = "25"
    description: str = ""
    originator: str = "foleyvae"
    originator_reference: str = ""
    project: str = ""
    scene: str = ""
    take: str = ""
    tape: str = ""
    note: str = ""
    track_names: tuple[str, ...] = ()
    created: float = field(default_factory=time.time)  # origination date/time (local), epoch seconds


@dataclass(frozen=True)
class BwfInfo:
    """Header fields read back from a file."""

    sample_rate: int
    channels: int
    bits: int
    frames: int
    time_reference: int
    description: str
    originator: str
    origination_date: str
    origination_time: str
    coding_history: str
    ixml: dict[str, str]  # flat: tag -> text for the leaf elements (first occurrence), e.g. "SCENE", "TIMECODE_RATE"
    chunks: tuple[str, ...]  # chunk ids in file order


def _ascii(s: str, n: int) -> bytes:
    return s.encode("ascii", "replace")[:n].ljust(n, b"\0")


def _chunk(cid: bytes, body: bytes) -> bytes:
    return cid + struct.pack("<I", len(body)) + body + (b"\0" if len(body) % 2 else b"")


def _bext(meta: BwfMeta, sample_rate: int, channels: int, bits: int) -> bytes:
    t = time.localtime(meta.created)
    tr = int(meta.time_reference)
    history = f"A=PCM,F={sample_rate},W={bits},M={'mono' if channels == 1 else 'stereo'},T=foleyvae\r\n"
    fixed = _BEXT.pack(
        _ascii(meta.description, 256),
        _ascii(meta.originator, 32),
        _ascii(meta.originator_reference, 32),
        time.strftime("%Y-%m-%d", t).encode(),
        time.strftime("%H:%M:%S", t).encode(),
        tr & 0xFFFFFFFF,
        tr >> 32,
        2,  # version 2: loudness fields present (0x7FFF: not measured)
        b"\0" * 64,
        *([0x7FFF] * 5),
        b"\0" * 180,
    )
    return fixed + history.encode("ascii")


def _ixml(meta: BwfMeta, sample_rate: int, channels: int, bits: int) -> bytes:
    r = rate(meta.timecode_rate)
    root = ET.Element("BWFXML")

    def add(parent: ET.Element, tag: str, text: object) -> ET.Element:
        el = ET.SubElement(parent, tag)
        el.text = str(text)
        return el

    add(root, "IXML_VERSION", "2.10")
    for tag, s in (("PROJECT", meta.project), ("SCENE", meta.scene), ("TAKE", meta.take), ("TAPE", meta.tape)):
        add(root, tag, s)
    add(root, "NOTE", meta.note)
    speed = ET.SubElement(root, "SPEED")
    for tag, v in (
        ("MASTER_SPEED", r.ixml_rate),
        ("CURRENT_SPEED", r.ixml_rate),
        ("TIMECODE_RATE", r.ixml_rate),
        ("TIMECODE_FLAG", "DF" if r.drop else "NDF"),
        ("FILE_SAMPLE_RATE", sample_rate),
        ("AUDIO_BIT_DEPTH", bits),
        ("DIGITIZER_SAMPLE_RATE", sample_rate),
        ("TIMESTAMP_SAMPLES_SINCE_MIDNIGHT_HI", int(meta.time_reference) >> 32),
        ("TIMESTAMP_SAMPLES_SINCE_MIDNIGHT_LO", int(meta.time_reference) & 0xFFFFFFFF),
        ("TIMESTAMP_SAMPLE_RATE", sample_rate),
    ):
        add(speed, tag, v)
    tracks = ET.SubElement(root, "TRACK_LIST")
    add(tracks, "TRACK_COUNT", channels)
    for c in range(channels):
        tr = ET.SubElement(tracks, "TRACK")
        add(tr, "CHANNEL_INDEX", c + 1)
        add(tr, "INTERLEAVE_INDEX", c + 1)
        add(tr, "NAME", meta.track_names[c] if c < len(meta.track_names) else f"ch{c + 1}")
    body: bytes = ET.tostring(root, encoding="UTF-8", xml_declaration=True)
    return body


def _pcm24(audio: np.ndarray) -> bytes:
    """``[C, T]`` float -> interleaved little-endian 24-bit PCM (clipped to full scale, rounded; no dither)."""
    full = 8388608.0
    q = np.clip(np.rint(audio.T.astype(np.float64) * full), -full, full - 1).astype("<i4")  # [T, C]
    return q.reshape(-1, 1).view(np.uint8).reshape(-1, 4)[:, :3].tobytes()


def write_bwf(path: str | Path, audio: np.ndarray, sample_rate: int, meta: BwfMeta) -> Path:
    """Write ``audio [C, T]`` (float, [-1, 1]) as a 24-bit PCM Broadcast WAV with bext + iXML, atomically.

    Raises:
        BwfError: wrong shape, non-finite samples, an unknown timecode rate, a negative time reference, or more
            than 4 GB of samples.
    """
    p = Path(path)
    a = np.asarray(audio, np.float32)
    if a.ndim == 1:
        a = a[None]
    if a.ndim != 2 or not 1 <= a.shape[0] <= 64:
        raise BwfError(f"{p}: expected audio [C, T] with 1..64 channels, got shape {a.shape}")
    if not np.isfinite(a).all():
        raise BwfError(f"{p}: refusing to write NaN/inf samples")
    if meta.timecode_rate not in RATES:
        raise BwfError(f"{p}: unknown timecode rate {meta.timecode_rate!r}; one of {', '.join(RATES)}")
    if not 0 <= int(meta.time_reference) < 2**64 or not 0 < sample_rate < 2**32:
        raise BwfError(f"{p}: time reference {meta.time_reference} or sample rate {sample_rate} out of range")
    channels, bits = a.shape[0], 24
    data = _pcm24(a)
    if len(data) > MAX_DATA_BYTES:
        raise BwfError(f"{p}: {len(data)} bytes of audio do not fit a RIFF file (4 GB); write a shorter take")
    block_align = channels * bits // 8
    fmt = _FMT.pack(1, channels, sample_rate, sample_rate * block_align, block_align, bits)
    body = b"WAVE" + b"".join(
        (
            _chunk(b"bext", _bext(meta, sample_rate, channels, bits)),
            _chunk(b"fmt ", fmt),
            _chunk(b"iXML", _ixml(meta, sample_rate, channels, bits)),
            _chunk(b"data", data),
        )
    )
    with atomic_path(p) as tmp:
        tmp.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    return p


def _chunks(raw: bytes, p: Path) -> dict[str, bytes]:
    if len(raw) < 12 or raw[:4] != b"RIFF" or raw[8:12] != b"WAVE":
        raise BwfError(f"{p}: not a RIFF/WAVE file")
    end = min(len(raw), 8 + struct.unpack_from("<I", raw, 4)[0])
    out: dict[str, bytes] = {}
    pos = 12
    while pos + 8 <= end:
        cid = raw[pos : pos + 4].decode("latin-1")
        (size,) = struct.unpack_from("<I", raw, pos + 4)
        if pos + 8 + size > end:
            raise BwfError(f"{p}: chunk {cid!r} runs past the end of the file")
        out.setdefault(cid, raw[pos + 8 : pos + 8 + size])
        pos += 8 + size + (size % 2)
    return out


def _text(b: bytes) -> str:
    return b.split(b"\0", 1)[0].decode("ascii", "replace")


def _ixml_fields(body: bytes, p: Path) -> dict[str, str]:
    if not body:
        return {}
    try:
        root = ET.fromstring(body.rstrip(b"\0"))
    except ET.ParseError as e:
        raise BwfError(f"{p}: unreadable iXML chunk ({e})") from None
    out: dict[str, str] = {}
    for el in root.iter():
        if len(el) == 0:
            out.setdefault(el.tag, el.text or "")
    return out


def read_bwf(path: str | Path) -> BwfInfo:
    """The format, bext and iXML fields of a WAV file (a plain WAV reads with time reference 0 and no iXML)."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as e:
        raise BwfError(f"{p}: cannot read ({e.strerror})") from None
    chunks = _chunks(raw, p)
    if "fmt " not in chunks or "data" not in chunks or len(chunks["fmt "]) < _FMT.size:
        raise BwfError(f"{p}: no fmt or data chunk")
    _, channels, sample_rate, _, block_align, bits = _FMT.unpack_from(chunks["fmt "])
    bext = chunks.get("bext", b"")
    fields = _BEXT.unpack_from(bext) if len(bext) >= BEXT_SIZE else None
    return BwfInfo(
        sample_rate=sample_rate,
        channels=channels,
        bits=bits,
        frames=len(chunks["data"]) // max(1, block_align),
        time_reference=(fields[5] | (fields[6] << 32)) if fields else 0,
        description=_text(fields[0]) if fields else "",
        originator=_text(fields[1]) if fields else "",
        origination_date=_text(fields[3]) if fields else "",
        origination_time=_text(fields[4]) if fields else "",
        coding_history=bext[BEXT_SIZE:].decode("ascii", "replace").rstrip("\0") if fields else "",
        ixml=_ixml_fields(chunks.get("iXML", b""), p),
        chunks=tuple(chunks),
    )

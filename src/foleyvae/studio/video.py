"""Putting a take onto a video with ffmpeg, reading only what the studio means it to read.

ffmpeg guesses a file's format from its content: an "x.mp4" that is really an HLS playlist or a DASH manifest
makes it open the files (or ``file://`` addresses) the playlist names, so an upload could pull another video of
the machine into the muxed result. Here the picture's container is recognised from its first bytes (MP4/MOV/M4V
boxes or the Matroska/WebM EBML magic) and forced with ``-f``; each input also gets ``-format_whitelist`` (no other
demuxer may open, not even one nested inside) and ``-protocol_whitelist file``; the paths must be plain files
inside the session folder, given to ffmpeg as ``file:`` URLs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from foleyvae.errors import FoleyError
from foleyvae.studio.security import SecurityError, inside

__all__ = ["VIDEO_SUFFIXES", "ffmpeg_path", "sniff_container", "mux_take"]

VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".webm", ".m4v")
# ISO BMFF / QuickTime top-level boxes a video file may start with (the size is bytes 0-3, the type bytes 4-7).
_MOV_BOXES = (b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot")
_EBML = b"\x1a\x45\xdf\xa3"
# ffmpeg demuxer to force -> its whitelist entry ("mov" is the mov/mp4/m4a/3gp demuxer, "matroska" also reads webm)
DEMUXERS = {"mov": "mov,mp4,m4a,3gp,3g2,mj2", "matroska": "matroska,webm"}


def ffmpeg_path() -> str | None:
    return shutil.which("ffmpeg")


def sniff_container(path: Path) -> str:
    """The ffmpeg demuxer for ``path`` from its first bytes: ``mov`` or ``matroska``; SecurityError otherwise."""
    with open(path, "rb") as f:
        head = f.read(12)
    if head[:4] == _EBML:
        return "matroska"
    if len(head) >= 8 and head[4:8] in _MOV_BOXES:
        return "mov"
    raise SecurityError("the picture is not an MP4/MOV/M4V or Matroska/WebM video file")


def _plain_inside(root: Path | None, p: Path, what: str) -> None:
    if p.is_symlink() or (root is not None and not inside(root, p)):
        raise SecurityError(f"{what}: not a file of this session")


def _input(demuxer: str, path: Path) -> list[str]:
    opts = ["-f", demuxer.split(",")[0], "-format_whitelist", demuxer, "-protocol_whitelist", "file"]
    if demuxer.startswith("mov"):
        opts += ["-enable_drefs", "0"]  # (the default) never open the external files a movie may reference
    return [*opts, "-i", f"file:{path}"]


def mux_take(
    video: Path, wet: Path, out: Path, video_offset_s: float, root: Path | None = None, timeout_s: float = 300.0
) -> Path:
    """Put ``wet`` onto ``video``'s picture, starting at ``video_offset_s`` of the video (server-side ffmpeg).

    The video stream is copied; the take becomes the only audio track (AAC, or Opus in .webm). ``root``: the
    session folder that ``video``, ``wet`` and ``out`` must lie in.
    """
    exe = ffmpeg_path()
    if exe is None:
        raise FoleyError("ffmpeg is not installed on the studio's machine; install it (apt-get install ffmpeg)")
    for p, what in ((video, "video"), (wet, "take"), (out, "output")):
        _plain_inside(root, p, what)
    demuxer = DEMUXERS[sniff_container(video)]
    delay_ms = max(0, int(round(video_offset_s * 1000.0)))
    codec = ["-c:a", "libopus"] if out.suffix == ".webm" else ["-c:a", "aac", "-b:a", "256k"]
    cmd = [exe, "-nostdin", "-y", "-loglevel", "error", *_input(demuxer, video), *_input("wav", wet)]
    cmd += ["-map", "0:v:0", "-map", "1:a:0", "-c:v", "copy", "-af", f"adelay={delay_ms}:all=1", *codec]
    cmd += ["-protocol_whitelist", "file", f"file:{out}"]
    # created here 0600 (ffmpeg -y truncates it, keeping the mode; made by ffmpeg it would follow the umask)
    os.close(os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600))
    try:
        r = subprocess.run(cmd, capture_output=True, timeout=timeout_s, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise FoleyError(f"ffmpeg took longer than {timeout_s:.0f} s and was stopped") from None
    if r.returncode != 0:
        msg = (r.stderr.decode(errors="replace").strip().splitlines() or ["unknown error"])[-1]
        raise FoleyError(f"ffmpeg could not mux the take: {msg[:200]}")
    return out

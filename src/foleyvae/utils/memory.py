"""Process memory housekeeping."""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

__all__ = ["trim_heap"]


def trim_heap() -> bool:
    """Ask glibc to return freed heap memory to the OS (``malloc_trim(0)``); returns False where unavailable.

    glibc keeps freed blocks (a replaced model's tensors: tens of MB) in its arenas, so RSS would stay at the
    high-water mark of a model swap although nothing leaks. Not for the audio thread: it walks the heap.
    """
    if not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("c") or "libc.so.6"
    try:
        libc = ctypes.CDLL(name)
        return bool(libc.malloc_trim(0))
    except (OSError, AttributeError):
        return False

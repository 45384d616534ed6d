"""Duplex audio backends: the seam between a live session and the library that talks to the device.

A backend opens a full-duplex stream of float32 ``[frames, channels]`` blocks at a fixed block size and calls
``callback(indata, outdata, frames, status)`` on the device thread, where ``status`` has the boolean attributes
``input_overflow``, ``input_underflow``, ``output_overflow``, ``output_underflow`` and ``priming_output`` (truthy
when any is set). :class:`SoundDeviceBackend` (PortAudio through sounddevice, which reaches ALSA, JACK, CoreAudio
and WASAPI) is the one in use; a JACK-native or test backend implements the same two calls.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any, Protocol

import numpy as np

from foleyvae.errors import MissingDependencyError

__all__ = [
    "DuplexBackend",
    "DuplexCallback",
    "DuplexStream",
    "PORTAUDIO_HINT",
    "SoundDeviceBackend",
    "import_sounddevice",
    "list_devices",
]

PORTAUDIO_HINT = "PortAudio is missing: install it with `apt-get install libportaudio2` (or your OS's portaudio)"

# (indata [frames, C], outdata [frames, C] to fill, frames, status flags)
DuplexCallback = Callable[[np.ndarray, np.ndarray, int, Any], None]


class DuplexStream(Protocol):
    """An open stream: started, stopped and closed by the session."""

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def close(self) -> None: ...


class DuplexBackend(Protocol):
    """Opens duplex streams; ``name`` says which library does the I/O (for logs and stats)."""

    name: str

    def open(
        self,
        sample_rate: int,
        block_size: int,
        channels: int,
        input_device: int | str | None,
        output_device: int | str | None,
        callback: DuplexCallback,
    ) -> DuplexStream: ...


def import_sounddevice() -> ModuleType:
    """Import sounddevice with one-line errors for a missing package or a missing PortAudio library."""
    try:
        import sounddevice  # optional (the live extra): imported where a device is opened
    except ImportError:
        raise MissingDependencyError(
            "sounddevice is not installed; install it with: pip install 'foleyvae[live]'"
        ) from None
    except OSError as e:  # sounddevice raises OSError when libportaudio cannot be loaded
        raise MissingDependencyError(f"{PORTAUDIO_HINT} ({e})") from None
    return sounddevice


def list_devices() -> str:
    """The audio devices PortAudio sees (one per line, as sounddevice prints them)."""
    return str(import_sounddevice().query_devices())


class SoundDeviceBackend:
    """PortAudio through sounddevice, float32. ``block_size`` 0 lets the host pick its period (on JACK: the server's; a
    fixed size there costs one more block of latency): the session then re-blocks (``live.adapter``)."""

    name = "sounddevice"

    def open(
        self,
        sample_rate: int,
        block_size: int,
        channels: int,
        input_device: int | str | None,
        output_device: int | str | None,
        callback: DuplexCallback,
    ) -> DuplexStream:
        sd = import_sounddevice()

        def on_block(indata: np.ndarray, outdata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
            callback(indata, outdata, frames, status)  # sounddevice's CallbackFlags has the attributes we read

        stream: DuplexStream = sd.Stream(
            samplerate=sample_rate,
            blocksize=block_size,
            device=(input_device, output_device),
            channels=channels,
            dtype="float32",
            callback=on_block,
        )
        return stream

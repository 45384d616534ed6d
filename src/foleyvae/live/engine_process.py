"""The streaming engine in a child process: model loads and swaps never stall the audio process.

Why: ``torch.jit.load`` holds the GIL for ~140 ms (measured on the foley model) and freeing a model ~14 ms; a
Python audio callback in the same process cannot run through that, so an in-process model swap glitches. Here the
audio process (device callback, rings, controls) holds no model at all. Each model lives in its own child
process with its own GIL; a swap starts a new child, lets it load and warm up while the old one keeps playing,
then feeds both for a few blocks and crossfades.

Per block (``x: [C, n]`` float32)::

    parent: x -> shared in-block, controls -> shared control vector, one byte down the command pipe
    child:  read the byte -> StreamingEngine.process -> shared out-block, counters -> one byte back
    parent: read the byte -> out-block      (no pickling, no allocation; a dead child is EOF at once)

:class:`EngineProcess` has the part of :class:`~foleyvae.inference.engine.StreamingEngine`'s interface that
:class:`~foleyvae.live.audio_io.LiveSession` uses (``process``, ``reset``, ``latency()``, ``controls``,
``stats``...), so a session runs either. Swaps take a model *source* (a name or path for ``load_model``, or a
picklable zero-argument factory) instead of a loaded model: loading is the child's job.
"""

from __future__ import annotations

import contextlib
import gc
import json
import mmap
import os
import pickle
import select
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from foleyvae.errors import first_line
from foleyvae.export.loader import load_model
from foleyvae.inference.controls import DEFAULT_SMOOTHING_MS, SCALAR_FIELDS, Controls
from foleyvae.inference.engine import EngineError, EngineStats, Latency, StreamingEngine
from foleyvae.inference.materials import MaterialTable
from foleyvae.live.realtime import RT_PRIORITY_WORKER, promote_thread

__all__ = ["EngineProcess", "ModelSource"]

ModelSource = str | Callable[[], Any]  # load_model() argument, or a picklable factory returning a StreamModel

MAX_LATENT = 1024  # control vector capacity (allocated before the child knows its model's latent size)
_CMD_PROCESS, _CMD_RESET, _CMD_RESET_STATS, _CMD_QUIT = 0, 1, 2, 3  # the byte sent down the command pipe
# control vector: [unused, bias k, scale k, centroid k, then SCALAR_FIELDS]; its layout is private to this module
_CTL_LEN = 1 + 3 * MAX_LATENT + len(SCALAR_FIELDS)
_BOOL_FIELDS = frozenset(("freeze", "limiter"))
# child counters: blocks, nan_blocks, model_calls, max_process_s, total_process_s, last_process_s
_N_STATS = 6
_REAP_TIMEOUT_S = 5.0  # how long a child whose pipes hit EOF may take to become reapable


def _pack_controls(c: Controls, ctl: np.ndarray) -> None:
    """Controls -> ``ctl[1:]`` (float64; no allocation)."""
    k = c.latent_size
    ctl[1 : 1 + k] = c.bias
    ctl[1 + MAX_LATENT : 1 + MAX_LATENT + k] = c.scale
    ctl[1 + 2 * MAX_LATENT : 1 + 2 * MAX_LATENT + k] = c.centroid
    base = 1 + 3 * MAX_LATENT
    for i, name in enumerate(SCALAR_FIELDS):
        ctl[base + i] = float(getattr(c, name))


def _unpack_controls(ctl: np.ndarray, c: Controls) -> None:
    """``ctl[1:]`` -> Controls (child side; values were validated by the parent's setters)."""
    k = c.latent_size
    c.bias[:] = ctl[1 : 1 + k]
    c.scale[:] = ctl[1 + MAX_LATENT : 1 + MAX_LATENT + k]
    c.centroid[:] = ctl[1 + 2 * MAX_LATENT : 1 + 2 * MAX_LATENT + k]
    base = 1 + 3 * MAX_LATENT
    for i, name in enumerate(SCALAR_FIELDS):
        v = ctl[base + i]
        setattr(c, name, bool(v) if name in _BOOL_FIELDS else float(v))


def _load_source(source: ModelSource) -> Any:
    return source() if callable(source) else load_model(source)


def _layout(channels: int, block_size: int) -> tuple[int, int, int]:
    """Byte offsets of the control vector and the counters in the shared map, and its total size."""
    ctl_at = 4 * 2 * channels * block_size  # float32 in-block then out-block
    stat_at = ctl_at + 8 * _CTL_LEN
    return ctl_at, stat_at, stat_at + 8 * _N_STATS


def _views(buf: Any, channels: int, block_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(x [C, n], y [C, n], ctl [_CTL_LEN], stat [_N_STATS])`` views of the shared map."""
    c, n = channels, block_size
    ctl_at, stat_at, _ = _layout(c, n)
    audio = np.frombuffer(buf, np.float32, 2 * c * n)
    ctl = np.frombuffer(buf, np.float64, _CTL_LEN, ctl_at)
    stat = np.frombuffer(buf, np.float64, _N_STATS, stat_at)
    return audio[: c * n].reshape(c, n), audio[c * n :].reshape(c, n), ctl, stat


def child_main() -> None:
    """Entry point of the engine child (``python -c``): the job arrives pickled on stdin, answers go to stdout.

    fds (passed by the parent): ``shm_fd`` the shared map, ``cmd_fd`` one byte per command in, ``done_fd`` one
    byte per answer out. EOF on ``cmd_fd`` (the audio process died or closed it) ends the child.
    """
    job = pickle.loads(sys.stdin.buffer.read())
    # the protocol keeps the real stdout; anything else that prints (a model's code, a library, C code writing to
    # fd 1) goes to stderr, so it can neither garble the answers nor fill a pipe nobody reads
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    def say(kind: str, payload: object) -> None:
        out.write(json.dumps([kind, payload]) + "\n")
        out.flush()

    try:
        import torch

        torch.set_num_threads(1)
        torch.set_flush_denormal(True)
        torch._C._set_graph_executor_optimize(False)  # no compile stalls on first calls (see LiveSession.start)
        model = _load_source(job["source"])
        k = int(model.latent_size)
        if k > MAX_LATENT:
            raise EngineError(f"model {model.name!r} has {k} latent dims; the engine process takes <= {MAX_LATENT}")
        controls = Controls(k, float(job["smoothing_ms"]))
        engine = StreamingEngine(model, int(job["block_size"]), controls)
        c, n = engine.channels, engine.block_size
        if c > int(job["channels"]):
            raise EngineError(f"model {model.name!r} has {c} channels; the engine process was opened for fewer")
        shm = mmap.mmap(int(job["shm_fd"]), _layout(int(job["channels"]), n)[2])
        x, y, ctl, stat = _views(shm, c, n)
        for _ in range(16):  # first calls allocate and pick kernels (tens of ms): not in the first live blocks
            engine.process(np.zeros((c, n), np.float32))
        engine.reset()
        engine.reset_stats()
        lat = engine.latency()
        info: dict[str, Any] = {
            "name": str(model.name),
            "sample_rate": engine.sample_rate,
            "channels": c,
            "latent_size": k,
            "fifo_samples": lat.fifo_samples,
            "model_delay_samples": lat.model_delay_samples,
            "centroids": _centroid_table(model),
            # the material offsets (inference.materials): --towards and the studio's pad resolve from this table
            "materials": MaterialTable.from_metadata(getattr(model, "metadata", None), k, str(model.name)).to_json(),
            "pid": os.getpid(),
        }
        del model
        gc.collect()
        gc.freeze()  # no full collections over torch's objects while serving blocks (see LiveSession.start)
        info["realtime"] = bool(job["realtime"] and promote_thread(RT_PRIORITY_WORKER))
    except BaseException as e:
        say("error", f"{type(e).__name__}: {first_line(e)}")
        return
    say("ready", info)
    cmd_fd, done_fd = int(job["cmd_fd"]), int(job["done_fd"])
    try:
        while True:
            cmd = os.read(cmd_fd, 1)
            if not cmd or cmd[0] == _CMD_QUIT:
                return
            if cmd[0] == _CMD_RESET:
                engine.reset()
            elif cmd[0] == _CMD_RESET_STATS:
                engine.reset_stats()
            else:
                _unpack_controls(ctl, controls)
                np.copyto(y, engine.process(x))
                s = engine.stats
                stat[:] = (s.blocks, s.nan_blocks, s.model_calls, s.max_process_s, s.total_process_s, s.last_process_s)
            os.write(done_fd, b"\x00")
    except BaseException as e:  # the parent sees the closed done pipe and reads this line
        say("error", f"{type(e).__name__}: {first_line(e)}")


def _centroid_table(model: Any) -> dict[str, list[float]]:
    """The model's material centroids (``metadata["centroids"]``) as JSON-able lists, for the audio process's
    ``--towards`` (which then never needs the model itself); entries that are not numeric vectors are dropped."""
    table = (getattr(model, "metadata", None) or {}).get("centroids") or {}
    out: dict[str, list[float]] = {}
    if not isinstance(table, dict):
        return out
    for label, vec in table.items():
        try:
            out[str(label)] = [float(v) for v in np.asarray(vec, dtype=np.float64).reshape(-1)]
        except (TypeError, ValueError):
            continue
    return out


def _sum_stats(a: EngineStats, b: EngineStats) -> EngineStats:
    return EngineStats(
        blocks=a.blocks + b.blocks,
        nan_blocks=a.nan_blocks + b.nan_blocks,
        model_calls=a.model_calls + b.model_calls,
        max_process_s=max(a.max_process_s, b.max_process_s),
        total_process_s=a.total_process_s + b.total_process_s,
        last_process_s=b.last_process_s,
    )


@dataclass
class _Child:
    """One engine child process, its pipes and its views of the shared map."""

    proc: subprocess.Popen[bytes]
    shm: mmap.mmap
    x: np.ndarray  # [C, n] block in
    y: np.ndarray  # [C, n] block out
    ctl: np.ndarray  # [_CTL_LEN] control vector
    stat: np.ndarray  # [_N_STATS] counters
    cmd_w: int
    done_r: int
    info: dict[str, Any]
    offset: EngineStats = field(default_factory=EngineStats)  # counters from before it became the current model

    @classmethod
    def start(
        cls, source: ModelSource, block_size: int, channels: int, smoothing_ms: float, realtime: bool, timeout_s: float
    ) -> _Child:
        """Start, load and warm up (blocks the calling thread, never the audio process's other threads)."""
        size = _layout(channels, block_size)[2]
        with tempfile.TemporaryFile(prefix="foleyvae-engine-") as f:  # unlinked at once; lives on as the map
            f.truncate(size)
            shm = mmap.mmap(f.fileno(), size)
            shm_fd = os.dup(f.fileno())
        cmd_r, cmd_w = os.pipe()
        done_r, done_w = os.pipe()
        fds = (shm_fd, cmd_r, done_w)
        job = {"source": source, "block_size": block_size, "channels": channels, "smoothing_ms": smoothing_ms}
        job.update(realtime=realtime, shm_fd=shm_fd, cmd_fd=cmd_r, done_fd=done_w)
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p or os.getcwd() for p in sys.path))  # same imports as here
        try:
            blob = pickle.dumps(job)
            proc = subprocess.Popen(
                [sys.executable, "-c", "from foleyvae.live.engine_process import child_main; child_main()"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                pass_fds=fds,
                env=env,
            )
        except Exception as e:  # e.g. an unpicklable factory
            for fd in (*fds, cmd_w, done_r):
                os.close(fd)
            shm.close()
            raise EngineError(f"cannot start the engine process: {first_line(e)}") from None
        for fd in fds:
            os.close(fd)
        assert proc.stdin is not None and proc.stdout is not None
        with contextlib.suppress(BrokenPipeError):
            proc.stdin.write(blob)
            proc.stdin.close()
        msg = _read_line(proc, timeout_s)
        if msg is None or msg[0] != "ready":
            try:  # EOF on stdout: the child is exiting, collect its code
                exited: int | None = proc.wait(1.0) if msg is None else None
            except subprocess.TimeoutExpired:
                exited = None
            proc.kill()
            proc.wait(5.0)
            os.close(cmd_w)
            os.close(done_r)
            shm.close()
            if msg is not None:
                why = str(msg[1])
            elif exited is not None:
                why = f"it exited with code {exited} before it was ready (its stderr says why)"
            else:
                why = f"no answer in {timeout_s:g} s"
            raise EngineError(f"engine process could not open the model: {why}")
        info = msg[1]
        x, y, ctl, stat = _views(shm, int(info["channels"]), block_size)
        return cls(proc=proc, shm=shm, x=x, y=y, ctl=ctl, stat=stat, cmd_w=cmd_w, done_r=done_r, info=info)

    def post(self, cmd: int) -> None:
        try:
            os.write(self.cmd_w, bytes((cmd,)))
        except OSError:  # EPIPE: the child closed its end, i.e. it is exiting
            raise EngineError(f"engine process failed: {self._failure(exiting=True)}") from None

    def wait(self, timeout_s: float) -> None:
        """Wait for the answer to the last post; EngineError if the child died, failed or hung."""
        ready, _, _ = select.select([self.done_r], [], [], timeout_s)
        if not ready:
            raise EngineError(f"engine process failed: {self._failure(exiting=False)}")
        if not os.read(self.done_r, 1):  # EOF: only the child's exit closes its end
            raise EngineError(f"engine process failed: {self._failure(exiting=True)}")

    def _failure(self, exiting: bool) -> str:
        """Why the child stopped answering: its error line, its exit code, or that it hangs.

        ``exiting``: its pipe reached EOF. A dying process's pipes close a moment before it can be reaped (the
        kernel closes its files, then makes it a zombie), so the exit code is waited for (bounded) rather than
        polled once: under load a single poll saw it still running and misreported a killed child as hung.
        """
        msg = _read_line(self.proc, 1.0)
        if msg is not None:
            return str(msg[1])
        try:
            code = self.proc.wait(_REAP_TIMEOUT_S) if exiting else self.proc.poll()
        except subprocess.TimeoutExpired:
            code = None
        return "it stopped answering" if code is None else f"it exited with code {code}"

    def stats(self) -> EngineStats:
        """The child's counters, less ``offset``."""
        s, o = self.stat, self.offset
        return EngineStats(
            blocks=int(s[0]) - o.blocks,
            nan_blocks=int(s[1]) - o.nan_blocks,
            model_calls=int(s[2]) - o.model_calls,
            max_process_s=float(s[3]),
            total_process_s=float(s[4]) - o.total_process_s,
            last_process_s=float(s[5]),
        )

    def close(self) -> None:
        """Quit (EOF on its command pipe), wait, kill if it does not go; idempotent."""
        if self.cmd_w >= 0:
            os.close(self.cmd_w)
            self.cmd_w = -1
        try:
            self.proc.wait(5.0)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5.0)
        if self.done_r >= 0:
            os.close(self.done_r)
            self.done_r = -1
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        # the numpy views keep the map's buffer exported; it is unmapped with the last of them


def _read_line(proc: subprocess.Popen[bytes], timeout_s: float) -> list[Any] | None:
    """The child's next JSON line from stdout, or None (timeout, EOF, or not JSON)."""
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout_s)
    if not ready:
        return None
    line = proc.stdout.readline()
    try:
        msg = json.loads(line)
    except ValueError:
        return None
    return msg if isinstance(msg, list) and len(msg) == 2 else None


class EngineProcess:
    """A :class:`StreamingEngine` in a child process; same block interface, model swaps without GIL stalls.

    Args:
        source: the model: a name or path for :func:`~foleyvae.export.loader.load_model`, or a picklable
            zero-argument factory returning a StreamModel (tests).
        block_size: samples per :meth:`process` call.
        controls: the :class:`Controls` to tweak from any thread (created when None); their values travel to the
            child with every block.
        channels: the most channels a model may have (the shared block buffers are sized for it).
        realtime: the child asks for SCHED_FIFO once warmed up (``info["realtime"]`` says whether granted).
        overlap_blocks: blocks a swap feeds both models before the crossfade (the new model's state fills up).
        crossfade_blocks: blocks of the linear crossfade from the old model's output to the new one's.
        start_timeout_s: how long a child may take to load and warm up.
    """

    def __init__(
        self,
        source: ModelSource,
        block_size: int,
        controls: Controls | None = None,
        channels: int = 2,
        realtime: bool = True,
        overlap_blocks: int = 8,
        crossfade_blocks: int = 8,
        start_timeout_s: float = 120.0,
    ) -> None:
        if int(block_size) < 1:
            raise EngineError(f"block_size must be >= 1, got {block_size}")
        self.block_size = int(block_size)
        self.max_channels = int(channels)
        self.realtime = bool(realtime)
        self.overlap_blocks = max(0, int(overlap_blocks))
        self.crossfade_blocks = max(1, int(crossfade_blocks))
        self.start_timeout_s = float(start_timeout_s)
        smoothing = controls.smoothing_ms if controls is not None else DEFAULT_SMOOTHING_MS
        self._child = _Child.start(
            source, self.block_size, self.max_channels, smoothing, self.realtime, self.start_timeout_s
        )
        info = self._child.info
        self.sample_rate = int(info["sample_rate"])
        self.channels = int(info["channels"])
        if controls is None:
            controls = Controls(int(info["latent_size"]))
        elif controls.latent_size != int(info["latent_size"]):
            self._child.close()
            raise EngineError(
                f"controls address {controls.latent_size} latent dims; model {info['name']!r} has {info['latent_size']}"
            )
        self.controls = controls
        self._lock = threading.Lock()  # guards the pending/retired hand-over (never held across a block)
        self._pending: tuple[_Child, Controls] | None = None
        self._next: tuple[_Child, Controls] | None = None  # the model being faded in (audio thread only)
        self._fade_i = 0
        self._retired: list[_Child] = []
        self._base = EngineStats()  # counters of children already retired
        self._swaps = 0
        n, c = self.block_size, self.channels
        self._out = np.zeros((c, n), np.float32)
        self._ramp = np.zeros((1, n), np.float32)
        self._closed = False

    # ------------------------------------------------------------------------------------------ properties
    @property
    def info(self) -> dict[str, Any]:
        """The current child's model: name, rate, channels, latent size, latency parts, centroids, real-time flag."""
        return dict(self._child.info)

    def latency(self) -> Latency:
        i = self._child.info
        return Latency(self.sample_rate, self.block_size, int(i["fifo_samples"]), int(i["model_delay_samples"]))

    @property
    def latency_samples(self) -> int:
        return self.latency().samples

    @property
    def latency_ms(self) -> float:
        return self.latency().ms

    @property
    def stats(self) -> EngineStats:
        """Counters over every child of this engine (a swap's overlap blocks count once)."""
        s = _sum_stats(self._base, self._child.stats())
        s.swaps = self._swaps
        return s

    # ------------------------------------------------------------------------------------------ control
    def _running(self) -> list[_Child]:
        """The current child and, during a swap's fade, the new one."""
        return [self._child] + ([self._next[0]] if self._next else [])

    def _command(self, cmd: int) -> None:
        for child in self._running():
            child.post(cmd)
            child.wait(self.start_timeout_s)

    def reset(self) -> None:
        """Forget the stream in the child (model state, FIFOs, smoothing); controls and stats are kept."""
        self._command(_CMD_RESET)

    def reset_stats(self) -> None:
        self._command(_CMD_RESET_STATS)
        self._child.offset = EngineStats()
        self._base = EngineStats()
        self._swaps = 0

    def swap(self, source: ModelSource) -> None:
        """Load ``source`` in a new child (this call blocks until it is warm; the audio keeps running on the old
        one), then hand it to the audio thread, which fades it in. Thread-safe; EngineError on a model with
        another sample rate or channel count (the stream's I/O is fixed)."""
        self.release_retired()
        child = _Child.start(
            source, self.block_size, self.max_channels, self.controls.smoothing_ms, self.realtime, self.start_timeout_s
        )
        info = child.info
        if int(info["sample_rate"]) != self.sample_rate or int(info["channels"]) != self.channels:
            child.close()
            raise EngineError(
                f"cannot swap to {info['name']!r}: {info['channels']} ch at {info['sample_rate']} Hz, the engine has "
                f"{self.channels} ch at {self.sample_rate} Hz"
            )
        controls = self.controls
        if int(info["latent_size"]) != controls.latent_size:
            controls = controls.resized(int(info["latent_size"]))
        with self._lock:
            old, self._pending = self._pending, (child, controls)
        if old is not None:  # a swap that never reached the audio thread
            old[0].close()

    def release_retired(self) -> bool:
        """Stop the children that swaps replaced (call from a control thread; ``swap`` also does). Returns whether
        any was stopped."""
        with self._lock:
            retired, self._retired = self._retired, []
        for child in retired:
            child.close()
        return bool(retired)

    def close(self) -> None:
        """Stop every child (idempotent)."""
        if self._closed:
            return
        self._closed = True
        with self._lock:
            pending, self._pending = self._pending, None
        for child in self._running() + ([pending[0]] if pending else []):
            child.close()
        self.release_retired()

    def __enter__(self) -> EngineProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------------------------------ hot path
    def process(self, block: np.ndarray) -> np.ndarray:
        """block ``[C, n]`` float32 -> output ``[C, n]`` (an internal buffer: copy to keep it)."""
        cur = self._child
        if block.shape != cur.x.shape:
            raise EngineError(f"expected a block of shape {cur.x.shape}, got {tuple(block.shape)}")
        if self._next is None and self._pending is not None:
            with self._lock:
                self._next, self._pending = self._pending, None
            self._fade_i = 0
        np.copyto(cur.x, block)
        _pack_controls(self.controls, cur.ctl)
        cur.post(_CMD_PROCESS)
        nxt = self._next
        if nxt is not None:  # both models run in parallel (two processes) during a swap
            np.copyto(nxt[0].x, block)
            _pack_controls(nxt[1], nxt[0].ctl)
            nxt[0].post(_CMD_PROCESS)
        cur.wait(self.start_timeout_s)
        np.copyto(self._out, cur.y)
        if nxt is not None:
            nxt[0].wait(self.start_timeout_s)
            self._fade(nxt[0].y)
        return self._out

    def _fade(self, new_y: np.ndarray) -> None:
        """Mix the faded-in model's block into ``_out``; switch over once the crossfade is complete."""
        assert self._next is not None
        i = self._fade_i - self.overlap_blocks  # crossfade block index (< 0: still filling the new model's state)
        self._fade_i += 1
        if i < 0:
            return
        n, m = self.block_size, self.crossfade_blocks
        self._ramp[0] = (np.arange(n, dtype=np.float32) + (i * n + 1)) / float(m * n)  # 0 -> 1 over m blocks
        self._out += self._ramp * (new_y - self._out)  # one temporary; runs m blocks per swap only
        if i + 1 < m:
            return
        child, controls = self._next
        old = self._child
        self._base = _sum_stats(self._base, old.stats())
        child.offset = child.stats()  # its overlap blocks were heard through (and counted by) the old one
        self._child, self._next = child, None
        self.controls = controls
        self._swaps += 1
        with self._lock:
            self._retired.append(old)

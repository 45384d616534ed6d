"""Offline work (renders, mixes) as jobs: one at a time, in order, each with progress and a cancel switch.

A render of a 10-minute file used to run inside its HTTP request with no word until it ended, and a second one
waited silently behind it. Here every job is visible: ``waiting`` (with how many jobs are ahead of it), ``running``
(with ``progress`` 0..1), then ``done`` (its take), ``failed`` (one-line error) or ``cancelled``. One worker
thread runs them in submission order (the CPU is the limit: two renders at once would only both be slower). A
job's work function receives the :class:`Job` and calls :meth:`Job.step` as it goes, which raises
:class:`Cancelled` once cancel was asked.
"""

from __future__ import annotations

import collections
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from foleyvae.errors import FoleyError
from foleyvae.studio.security import SecurityError, check_id

__all__ = ["Cancelled", "Job", "JobQueue", "FINISHED"]

FINISHED = ("done", "failed", "cancelled")


class Cancelled(FoleyError):
    """Raised inside a job's work once its cancel was asked."""


@dataclass
class Job:
    """One offline job. ``work(job)`` returns the public record of what it made (a take)."""

    kind: str
    describe: str
    work: Callable[[Job], dict[str, Any]] = field(repr=False)
    id: str = field(default_factory=lambda: f"job-{uuid.uuid4().hex[:10]}")
    state: str = "waiting"
    progress: float = 0.0
    stage: str = "waiting"
    result: dict[str, Any] | None = None
    error: str | None = None
    created: float = field(default_factory=time.time)
    started: float | None = None
    ended: float | None = None
    cancel_asked: threading.Event = field(default_factory=threading.Event, repr=False)
    finished: threading.Event = field(default_factory=threading.Event, repr=False)

    def step(self, done: int, total: int, stage: str = "rendering") -> None:
        """Progress ``done``/``total`` of the current stage; raises :class:`Cancelled` once cancel was asked."""
        if self.cancel_asked.is_set():
            raise Cancelled("cancelled")
        self.stage = stage
        self.progress = round(min(1.0, max(0.0, done / max(1, total))), 4)

    def public(self, ahead: int = 0) -> dict[str, Any]:
        elapsed = (self.ended or time.time()) - self.started if self.started else 0.0
        return {
            "id": self.id,
            "kind": self.kind,
            "what": self.describe,
            "state": self.state,
            "stage": self.stage,
            "progress": self.progress,
            "ahead": ahead,
            "elapsed_s": round(elapsed, 2),
            "take": self.result,
            "error": self.error,
        }


class JobQueue:
    """Jobs run one at a time in order by a worker thread (started on the first job); the last ``keep`` finished
    jobs stay readable."""

    def __init__(self, keep: int = 64, max_waiting: int = 16) -> None:
        self.keep = keep
        self.max_waiting = max_waiting
        self._jobs: collections.OrderedDict[str, Job] = collections.OrderedDict()
        self._queue: collections.deque[Job] = collections.deque()
        self._cond = threading.Condition()
        self._worker: threading.Thread | None = None
        self.running: Job | None = None

    def submit(self, kind: str, describe: str, work: Callable[[Job], dict[str, Any]]) -> Job:
        with self._cond:
            if len(self._queue) >= self.max_waiting:
                raise SecurityError(f"{len(self._queue)} jobs are waiting already: cancel one or wait")
            job = Job(kind, describe, work)
            self._jobs[job.id] = job
            self._queue.append(job)
            self._trim()
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._run, name="studio-jobs", daemon=True)
                self._worker.start()
            self._cond.notify_all()
            return job

    def get(self, job_id: str) -> Job:
        check_id(job_id, "job id")
        with self._cond:
            job = self._jobs.get(job_id)
        if job is None:
            raise SecurityError(f"unknown job {job_id!r}")
        return job

    def ahead(self, job: Job) -> int:
        """How many jobs run or wait before ``job`` (0 when it runs or has finished)."""
        with self._cond:
            if job.state != "waiting":
                return 0
            before = list(self._queue).index(job) if job in self._queue else 0
            return before + (1 if self.running is not None else 0)

    def public(self, job: Job) -> dict[str, Any]:
        return job.public(self.ahead(job))

    def cancel(self, job_id: str) -> Job:
        """Ask a job to stop: a waiting one never starts, a running one stops at its next step."""
        job = self.get(job_id)
        with self._cond:
            job.cancel_asked.set()
            if job.state == "waiting" and job in self._queue:
                self._queue.remove(job)
                self._finish(job, "cancelled", None, "cancelled before it started")
        return job

    def listing(self) -> list[dict[str, Any]]:
        with self._cond:
            jobs = list(self._jobs.values())
        return [self.public(j) for j in jobs]

    def _finish(self, job: Job, state: str, result: dict[str, Any] | None, error: str | None) -> None:
        job.state, job.result, job.error, job.ended = state, result, error, time.time()
        if state == "done":
            job.progress = 1.0
        job.finished.set()

    def _trim(self) -> None:
        done = [j for j in self._jobs.values() if j.state in FINISHED]
        for j in done[: max(0, len(done) - self.keep)]:
            self._jobs.pop(j.id, None)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue:
                    if not self._cond.wait(timeout=30.0):
                        self._worker = None  # idle: the next submit starts a new worker
                        return
                job = self._queue.popleft()
                self.running = job
                job.state, job.stage, job.started = "running", "starting", time.time()
            result: dict[str, Any] | None = None
            error: str | None = None
            try:
                result = job.work(job)
            except Cancelled:
                state, result, error = "cancelled", None, "cancelled"
            except FoleyError as e:
                state, result, error = "failed", None, str(e)
            except Exception as e:  # a model failure: one line for the page, the worker goes on
                first = (str(e).strip().splitlines() or [type(e).__name__])[0][:200]
                state, result, error = "failed", None, f"render failed: {first}"
            else:  # finished before it saw the cancel: the take exists, so it is done
                state = "done"
            with self._cond:
                self.running = None
                self._finish(job, state, result, error)
                self._trim()

"""LocalAutogradeExecutor: grade on the service host, student code in a bubblewrap sandbox.

The service process never runs the converter itself (a 50 MB notebook parsed on the
event loop would stall every request). It keeps one warm worker process
(:mod:`.worker`) and sends it jobs over a pipe; the worker drives sandboxed kernels
from its pool. If the worker dies, the jobs it held fail as *infrastructure* failures
(the scheduler retries them) and the next job starts a new worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import sys
from pathlib import Path
from typing import Any

from traitlets import Float, List, Unicode

from .executor import (
    AutogradeExecutor,
    FailureReason,
    GradingFailure,
    GradingReport,
    GradingTask,
    JobDirectory,
)

# Configuration sections the worker needs; everything else (the DB URL, tokens, the
# authenticator's secrets) stays in the service.
_FORWARDED_SECTIONS = (
    "Sandbox",
    "KernelPool",
    "KernelLauncher",
    "NotebookRunner",
    "Autograde",
    "GenerateFeedback",
)


class WorkerUnavailable(RuntimeError):
    """The grading worker could not start (for example: no sandbox available)."""


class LocalAutogradeExecutor(AutogradeExecutor):
    """Runs jobs in a warm worker process on this host; kernels run sandboxed."""

    python = Unicode(
        sys.executable,
        help="""The Python that runs the grading worker (needs grader_service and the
        notebook stack, and the kernelspecs notebooks ask for).""",
    ).tag(config=True)

    work_dir = Unicode(
        "",
        help="""Where the worker keeps its sandboxes' directories (default: the
        ``grading`` directory of the service's data directory). Must not be inside a
        user's home: it holds hidden tests while a job runs.""",
    ).tag(config=True)

    startup_timeout = Float(
        120.0, help="Seconds the worker may take to start and check the sandbox."
    ).tag(config=True)

    forwarded_sections = List(
        Unicode(),
        list(_FORWARDED_SECTIONS),
        help="""Configuration sections passed to the worker (c.Sandbox, c.KernelPool...).
        The rest of the service's configuration never reaches the grading process.""",
    ).tag(config=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._ids = itertools.count(1)
        self._lock = asyncio.Lock()

    def _settings(self) -> dict[str, Any]:
        config: dict[str, Any] = {}
        for section in self.forwarded_sections:
            if section not in self.config:
                continue
            values = {}
            for key, value in self.config[section].items():
                try:
                    json.dumps(value)
                except TypeError:
                    self.log.warning(
                        "c.%s.%s cannot be passed to the grading worker (not JSON); ignored",
                        section,
                        key,
                    )
                    continue
                values[key] = value
            config[section] = values
        return {
            "config": config,
            "work_root": self.work_dir,
            "log_level": self.log.getEffectiveLevel(),
        }

    async def start(self) -> None:
        """Start the worker and wait until its sandbox and kernel pool are ready."""
        async with self._lock:
            await self._ensure_worker()

    async def _ensure_worker(self) -> None:
        if self._process is not None and self._process.returncode is None:
            return
        await asyncio.to_thread(Path(self.work_dir).mkdir, mode=0o711, parents=True, exist_ok=True)
        self._process = await asyncio.create_subprocess_exec(
            self.python,
            "-m",
            "grader_service.autograding.worker",
            json.dumps(self._settings()),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            limit=64 << 20,  # one result line carries a whole gradebook
        )
        assert self._process.stdout is not None
        try:
            first = await asyncio.wait_for(self._next_message(), self.startup_timeout)
        except TimeoutError:
            self._process.kill()
            raise WorkerUnavailable(
                f"the grading worker did not start within {self.startup_timeout:g} s"
            ) from None
        if first is None or first.get("type") != "ready":
            await self._process.wait()
            message = (first or {}).get("message", "it exited during start-up")
            raise WorkerUnavailable(f"the grading worker cannot run: {message}")
        self._reader = asyncio.ensure_future(self._read(self._process))
        self.log.info("Grading worker %d is ready", self._process.pid)

    async def _next_message(self) -> dict[str, Any] | None:
        """The next protocol message; log lines are passed on to the service's log."""
        assert self._process is not None and self._process.stdout is not None
        while line := await self._process.stdout.readline():
            message: dict[str, Any] = json.loads(line)
            if message.get("type") == "log":
                self.log.log(message.get("level", logging.INFO), "worker: %s", message["message"])
                continue
            return message
        return None

    async def _read(self, process: asyncio.subprocess.Process) -> None:
        try:
            while (message := await self._next_message()) is not None:
                future = self._pending.pop(int(message.get("id", 0)), None)
                if future is not None and not future.done():
                    future.set_result(message)
        finally:
            code = await process.wait()
            if self._pending:
                self.log.error("The grading worker exited (code %s) with jobs running", code)
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(
                        GradingFailure(
                            "the grading worker stopped unexpectedly",
                            FailureReason.INFRASTRUCTURE,
                            retry=True,
                        )
                    )
            self._pending.clear()

    async def _request(self, op: str, task: GradingTask, job: JobDirectory) -> dict[str, Any]:
        async with self._lock:
            await self._ensure_worker()
        assert self._process is not None and self._process.stdin is not None
        request_id = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        request = {
            "op": op,
            "id": request_id,
            "input_dir": str(job.input_dir),
            "output_dir": str(job.output_dir),
            "cell_timeout": task.cell_timeout,
        }
        stdin = self._process.stdin
        stdin.write((json.dumps(request) + "\n").encode())
        await stdin.drain()
        try:
            reply = await future
        except asyncio.CancelledError:
            # the scheduler cancelled the job: stop its kernels now, not at its timeout
            self._pending.pop(request_id, None)
            with contextlib.suppress(Exception):
                stdin.write((json.dumps({"op": "cancel", "id": request_id}) + "\n").encode())
                await stdin.drain()
            raise
        if not reply.get("ok"):
            raise GradingFailure(
                reply.get("message", "grading failed"),
                FailureReason(reply.get("reason", FailureReason.OTHER.value)),
                retry=bool(reply.get("retry")),
                logs=reply.get("logs", ""),
            )
        report: dict[str, Any] = reply["report"]
        return report

    async def autograde(self, task: GradingTask, job: JobDirectory) -> GradingReport:
        """Grade in the worker; student code runs in a sandboxed kernel."""
        report = await self._request("autograde", task, job)
        return GradingReport(
            gradebook=report["gradebook"],
            score=float(report["score"]),
            max_score=float(report["max_score"]),
            logs=report.get("logs", ""),
            summary=report.get("summary", {}),
            reason=report.get("reason", "ok"),
        )

    async def feedback(self, task: GradingTask, job: JobDirectory) -> GradingReport:
        """Render feedback HTML in the worker (no student code runs)."""
        report = await self._request("feedback", task, job)
        return GradingReport(gradebook=None, logs=report.get("logs", ""))

    async def stop(self) -> None:
        """Ask the worker to finish (it kills its sandboxes); kill it if it lingers."""
        process = self._process
        if process is None:
            return
        if process.returncode is None:
            assert process.stdin is not None
            process.stdin.close()
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()
        if self._reader is not None:
            with contextlib.suppress(Exception):
                await self._reader
        self._process = None

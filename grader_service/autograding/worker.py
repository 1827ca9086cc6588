"""The warm grading worker: the trusted harness, one long-lived process per executor.

``LocalAutogradeExecutor`` starts ``python -m grader_service.autograding.worker`` once
and sends it jobs as JSON lines on stdin; answers come back as JSON lines on the
original stdout. Keeping the process warm saves the ~2 s that importing the notebook
stack costs a fresh Python (reference/ENV.md §9), and its kernel pool keeps sandboxed
kernels started ahead of time, so a job never waits for a kernel to boot.

The worker runs the converter (trusted: it computes the scores); only the kernels it
drives run student code, inside the sandbox. It imports nothing of the service above
``autograding`` and ``convert``.

Protocol (one JSON object per line):

* service -> worker: ``{"op": "autograde" | "feedback", "id": n, "input_dir": ...,
  "output_dir": ..., "cell_timeout": s}`` and ``{"op": "cancel", "id": n}``;
* worker -> service: ``{"type": "ready"}`` once, ``{"type": "fatal", "message": ...}``
  if it cannot work (e.g. no sandbox), ``{"type": "log", "level": n, "message": ...}``
  and ``{"type": "result", "id": n, "ok": true, "report": {...}}`` or
  ``{"type": "result", "id": n, "ok": false, "message": ..., "reason": ..., "retry": b}``.

Kernels inherit the worker's standard output and error, so the protocol uses a private
duplicate of stdout and both standard descriptors point at /dev/null: nothing student
code writes to fd 1 or 2 can corrupt the protocol or flood the service's log.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import shutil
import sys
from pathlib import Path
from typing import Any, TextIO

from traitlets.config import Config

from ..convert import Autograde, GenerateFeedback
from ..convert.kernel import KernelLauncher
from .executor import FailureReason, GradingFailure, outcome_reason
from .kernel_pool import KernelPool
from .sandbox import Sandbox, SandboxUnavailable

_LOG_FORMAT = "%(asctime)s %(levelname)s %(message)s"


class _Channel:
    """Writes protocol messages to the private stdout duplicate (one line each)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def send(self, message: dict[str, Any]) -> None:
        self.stream.write(json.dumps(message) + "\n")
        self.stream.flush()


class _ForwardToService(logging.Handler):
    """Sends the worker's own log records to the service, which logs them."""

    def __init__(self, channel: _Channel) -> None:
        super().__init__()
        self.channel = channel

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.channel.send(
                {"type": "log", "level": record.levelno, "message": self.format(record)}
            )
        except Exception:
            self.handleError(record)


def _job_logger(job_id: int) -> tuple[logging.Logger, io.StringIO]:
    """A logger whose records become the job's log (shown to instructors)."""
    buffer = io.StringIO()
    logger = logging.getLogger(f"grader_service.worker.job{job_id}")
    logger.handlers.clear()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logging.Formatter(_LOG_FORMAT, "%H:%M:%S"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger, buffer


class Worker:
    """Runs jobs concurrently on one event loop; each autograde job gets its own slot."""

    def __init__(
        self, config: Config, work_root: Path, channel: _Channel, *, feedback_only: bool = False
    ) -> None:
        self.config = config
        self.channel = channel
        #: only feedback (no student code): no sandbox, no kernels (Kubernetes executor)
        self.feedback_only = feedback_only
        self.log = logging.getLogger("grader_service.worker")
        self.sandbox = Sandbox(config=config, log=self.log)
        launcher = KernelLauncher(config=config)
        autograde_env = Autograde(config=config).extra_env
        # exactly the environment NotebookRunner.run gives a kernel it starts itself
        kernel_env = launcher.kernel_env(
            {**autograde_env, "NBGRADER_EXECUTION": "autograde", "PYTHONSAFEPATH": "1"}
        )
        self.pool = KernelPool(
            config=config,
            log=self.log,
            sandbox=self.sandbox,
            work_root=str(work_root),
            kernel_env=kernel_env,
        )
        self.tasks: dict[int, asyncio.Task[None]] = {}

    async def start(self) -> None:
        """Check the sandbox and warm the kernel pool."""
        if self.feedback_only:
            return
        self.sandbox.check()
        await self.pool.start()

    async def stop(self) -> None:
        """Cancel running jobs (their sandboxes are killed) and empty the pool."""
        for task in list(self.tasks.values()):
            task.cancel()
        await asyncio.gather(*self.tasks.values(), return_exceptions=True)
        await self.pool.stop()

    def dispatch(self, request: dict[str, Any]) -> None:
        """Start or cancel a job."""
        job_id = int(request["id"])
        if request["op"] == "cancel":
            task = self.tasks.get(job_id)
            if task is not None:
                task.cancel()
            return
        self.tasks[job_id] = asyncio.ensure_future(self._run(job_id, request))

    async def _run(self, job_id: int, request: dict[str, Any]) -> None:
        logger, buffer = _job_logger(job_id)
        try:
            if request["op"] == "autograde" and self.feedback_only:
                raise GradingFailure(
                    "this grading worker renders feedback only (no sandbox)", FailureReason.OTHER
                )
            if request["op"] == "autograde":
                report = await self.autograde(request, logger)
            elif request["op"] == "feedback":
                report = await self.feedback(request, logger)
            else:
                raise GradingFailure(f"unknown operation {request['op']!r}", FailureReason.OTHER)
            report["logs"] = buffer.getvalue()
            self.channel.send({"type": "result", "id": job_id, "ok": True, "report": report})
        except asyncio.CancelledError:
            self.channel.send(
                {
                    "type": "result",
                    "id": job_id,
                    "ok": False,
                    "message": "the job was cancelled",
                    "reason": FailureReason.CANCELLED.value,
                    "retry": False,
                }
            )
        except GradingFailure as e:
            self.channel.send(
                {
                    "type": "result",
                    "id": job_id,
                    "ok": False,
                    "message": e.message,
                    "reason": e.reason.value,
                    "retry": e.retry,
                    "logs": buffer.getvalue(),
                }
            )
        except Exception as e:
            self.log.exception("Job %d failed in the worker", job_id)
            self.channel.send(
                {
                    "type": "result",
                    "id": job_id,
                    "ok": False,
                    "message": f"the grader failed: {type(e).__name__}: {e}",
                    "reason": FailureReason.INFRASTRUCTURE.value,
                    "retry": True,
                    "logs": buffer.getvalue(),
                }
            )
        finally:
            self.tasks.pop(job_id, None)
            logger.handlers.clear()

    async def autograde(self, request: dict[str, Any], logger: logging.Logger) -> dict[str, Any]:
        """Copy the submission into a warm slot and grade it there."""
        input_dir, output_dir = Path(request["input_dir"]), Path(request["output_dir"])
        slot = await self.pool.acquire()
        try:
            submission = slot.dir / "submission"
            await asyncio.to_thread(shutil.copytree, input_dir, submission, symlinks=True)
            # students' code may write next to their notebooks
            await asyncio.to_thread(slot.chown_for_sandbox, submission)
            grader = Autograde(config=self.config, log=logger)
            grader.runner.cell_timeout = float(request["cell_timeout"])
            grader.runner.launcher.kernel_manager_factory = slot.kernel_manager_factory
            result = await grader.convert_async(submission, output_dir)
        finally:
            await slot.close()
        return {
            "gradebook": json.loads((output_dir / "gradebook.json").read_text()),
            "score": result.score,
            "max_score": result.max_score,
            "summary": result.to_dict(),
            "reason": outcome_reason(result.to_dict()),
        }

    async def feedback(self, request: dict[str, Any], logger: logging.Logger) -> dict[str, Any]:
        """Render feedback HTML; runs no student code, so no sandbox."""
        converter = GenerateFeedback(config=self.config, log=logger)
        await asyncio.to_thread(converter.convert, request["input_dir"], request["output_dir"])
        return {"gradebook": None, "reason": "ok"}


async def _serve(settings: dict[str, Any], channel: _Channel) -> int:
    try:
        worker = Worker(
            Config(settings["config"]),
            Path(settings["work_root"]),
            channel,
            feedback_only=bool(settings.get("feedback_only")),
        )
        await worker.start()
    except SandboxUnavailable as e:
        channel.send({"type": "fatal", "message": str(e)})
        return 2
    except Exception as e:
        logging.getLogger("grader_service.worker").exception("The worker could not start")
        channel.send({"type": "fatal", "message": f"{type(e).__name__}: {e}"})
        return 2
    channel.send({"type": "ready"})
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 20)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    try:
        while line := await reader.readline():
            worker.dispatch(json.loads(line))
    finally:
        await worker.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``python -m grader_service.autograding.worker SETTINGS_JSON``."""
    argv = sys.argv[1:] if argv is None else argv
    settings = json.loads(argv[0])
    # the protocol gets a private copy of stdout; fd 1 and 2 go nowhere (see module doc)
    protocol = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    channel = _Channel(protocol)
    handler = _ForwardToService(channel)
    handler.setFormatter(logging.Formatter("%(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.get("log_level", logging.INFO))
    return asyncio.run(_serve(settings, channel))


if __name__ == "__main__":
    sys.exit(main())

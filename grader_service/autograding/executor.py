"""The executor interface: where and how a prepared grading job runs.

The pipeline (:mod:`.pipeline`) prepares a job directory (the submitted files plus the
gradebook with the hidden tests), hands it to the configured executor, and stores what
comes back. An executor only has to run the converter on that directory in isolation:
``LocalAutogradeExecutor`` on this host in a bubblewrap sandbox, ``KubeAutogradeExecutor``
in a pod. Executors are selected by ``c.GraderService.autograde_executor_class`` (a class
or an entry-point name of the ``grader_service.autograde_executors`` group).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from traitlets.config import LoggingConfigurable

ENTRY_POINT_GROUP = "grader_service.autograde_executors"


class FailureReason(enum.StrEnum):
    """Why a job did not produce a result (also the ``reason`` label of the metrics)."""

    TIMEOUT = "timeout"
    MEMORY_LIMIT = "memory_limit"
    KERNEL_DIED = "kernel_died"
    TAMPERING = "tampering"
    INFRASTRUCTURE = "infrastructure"
    INVALID_SUBMISSION = "invalid_submission"
    CANCELLED = "cancelled"
    OTHER = "other"


class GradingFailure(Exception):
    """A job that could not be graded, with a message an instructor understands.

    ``retry`` is for infrastructure failures only (a worker that crashed, a full disk):
    the same job may well succeed later. Anything caused by the submission itself is
    final, so a broken notebook is never graded twice.
    """

    def __init__(
        self, message: str, reason: FailureReason, *, retry: bool = False, logs: str = ""
    ) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason
        self.retry = retry
        #: what the grader logged before it failed (shown to instructors)
        self.logs = logs


@dataclass(frozen=True)
class GradingTask:
    """One job as the executor sees it (no database objects: executors may run remotely)."""

    job_id: int
    kind: str  # "autograde" or "feedback"
    lecture_code: str
    assignment_id: int
    assignment_name: str
    submission_id: int
    username: str
    commit_hash: str
    cell_timeout: int
    image: str | None = None


@dataclass
class JobDirectory:
    """The directories of one prepared job."""

    root: Path
    #: the files to grade (autograde) or the graded notebooks (feedback)
    input_dir: Path
    #: autograde: holds gradebook.json on entry; graded notebooks + gradebook on exit.
    #: feedback: the HTML files on exit.
    output_dir: Path


@dataclass
class GradingReport:
    """What an executor returns for a finished job."""

    #: the updated gradebook (autograde) or None (feedback)
    gradebook: dict[str, Any] | None
    score: float = 0.0
    max_score: float = 0.0
    #: the converter's log, shown to instructors and tutors
    logs: str = ""
    #: per-notebook summary of the converter (statuses, reasons)
    summary: dict[str, Any] = field(default_factory=dict)
    #: a reason label for the metrics ("ok", "tampering", "timeout", ...)
    reason: str = "ok"


class AutogradeExecutor(LoggingConfigurable):
    """Base class of executors: start once, run many jobs concurrently, stop once."""

    async def start(self) -> None:
        """Get ready to run jobs (start workers, check the sandbox). Raise if impossible."""

    async def stop(self) -> None:
        """Release everything; jobs still running are abandoned (their leases expire)."""

    async def recover(self, active_job_ids: set[int]) -> None:
        """Reconcile work a previous run left behind (called once before jobs are claimed).

        ``active_job_ids`` are the jobs still queued or running. An executor whose work
        outlives the service process (pods) adopts those and cleans up the rest; the
        default has nothing to recover.
        """

    async def autograde(self, task: GradingTask, job: JobDirectory) -> GradingReport:
        """Grade ``job.input_dir`` against ``job.output_dir/gradebook.json``."""
        raise NotImplementedError

    async def feedback(self, task: GradingTask, job: JobDirectory) -> GradingReport:
        """Render the graded notebooks of ``job.input_dir`` as HTML into ``job.output_dir``."""
        raise NotImplementedError


def resolve_executor_class(name_or_class: str | type) -> type[AutogradeExecutor]:
    """An executor class from a class, a dotted path, or an entry-point name."""
    if isinstance(name_or_class, type):
        return name_or_class
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == name_or_class:
            cls: type[AutogradeExecutor] = ep.load()
            return cls
    module, _, attr = name_or_class.rpartition(".")
    if not module:
        names = sorted(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))
        raise ValueError(
            f"unknown autograde executor {name_or_class!r}; use one of {names} "
            "or a dotted class path"
        )
    import importlib

    found: type[AutogradeExecutor] = getattr(importlib.import_module(module), attr)
    return found


def outcome_reason(summary: dict[str, Any]) -> str:
    """The metrics label of a finished autograde (the worst thing that happened), from
    the converter's summary (``AutogradeResult.to_dict()`` or its report file)."""
    notebooks = (summary.get("notebooks") or {}).values()
    text = " ".join(
        str(cell.get("reason") or "") for nb in notebooks for cell in nb.get("cells") or []
    )
    if "memory limit" in text:
        return FailureReason.MEMORY_LIMIT.value
    if "time limit" in text:
        return FailureReason.TIMEOUT.value
    if "kernel died" in text or "kernel stopped" in text:
        return FailureReason.KERNEL_DIED.value
    if any(nb.get("events") for nb in notebooks):
        return FailureReason.TAMPERING.value
    return "ok"

"""GraderPod: one grading pod followed to its end, and what its end means.

A :class:`GraderPod` does not poll the API server: the executor's shared
:class:`~.reflector.PodReflector` wakes it whenever its pod changes. Its ``polling`` task
completes with the final phase (``"Succeeded"`` or ``"Failed"``); a pod that can never
start (its image cannot be pulled, no node can take it) is also ``"Failed"``, so nobody
waits an hour for a typo in an image name. :func:`explain_pod` turns the pod's status
into words an instructor understands and into the failure reason the scheduler needs
(retry infrastructure trouble; never retry what the submission caused).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any

from traitlets import Float
from traitlets.config import LoggingConfigurable

from ..executor import FailureReason, GradingFailure
from .reflector import PodReflector

SUCCEEDED = "Succeeded"
FAILED = "Failed"

_IMAGE_PULL_ERRORS = {
    "ErrImagePull",
    "ImagePullBackOff",
    "InvalidImageName",
    "ErrImageNeverPull",
    "RegistryUnavailable",
}
_CONFIG_ERRORS = {"CreateContainerConfigError", "CreateContainerError", "RunContainerError"}


@dataclass(frozen=True)
class PodOutcome:
    """How a grading pod ended."""

    phase: str
    #: None when the pod succeeded
    failure: GradingFailure | None = None


def _container_status(pod: dict[str, Any]) -> dict[str, Any]:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    for status in statuses:
        if status.get("name") == "autograde":
            return dict(status)
    return dict(statuses[0]) if statuses else {}


def _memory_limit(pod: dict[str, Any]) -> str | None:
    for container in (pod.get("spec") or {}).get("containers") or []:
        limit = ((container.get("resources") or {}).get("limits") or {}).get("memory")
        if limit:
            return str(limit)
    return None


def _image(pod: dict[str, Any]) -> str:
    containers = (pod.get("spec") or {}).get("containers") or [{}]
    return str(containers[0].get("image", "?"))


def explain_pod(
    pod: dict[str, Any] | None, pending_for: float, unschedulable_timeout: float
) -> PodOutcome | None:
    """The outcome of ``pod`` (plain JSON) if it has ended or can never run, else None.

    ``pending_for`` is how long the pod has waited to be scheduled; an unschedulable
    pod is given ``unschedulable_timeout`` seconds because a cluster autoscaler may be
    adding a node for it.
    """
    if pod is None:
        return PodOutcome(
            FAILED,
            GradingFailure(
                "The grading pod disappeared (deleted by someone or something else); "
                "grading will be retried.",
                FailureReason.INFRASTRUCTURE,
                retry=True,
            ),
        )
    status = pod.get("status") or {}
    phase = status.get("phase") or "Pending"
    container = _container_status(pod)
    state = container.get("state") or {}
    if phase == SUCCEEDED:
        return PodOutcome(SUCCEEDED)
    if phase == FAILED:
        return PodOutcome(FAILED, _explain_failed(pod, status, state.get("terminated") or {}))
    if phase != "Pending":
        return None
    waiting = state.get("waiting") or {}
    reason = waiting.get("reason") or ""
    detail = waiting.get("message") or reason
    if reason in _IMAGE_PULL_ERRORS:
        return PodOutcome(
            FAILED,
            GradingFailure(
                f"The grading image {_image(pod)!r} could not be pulled ({reason}: {detail}). "
                "Ask an admin to check the image name (the assignment's image setting or "
                "the lecture's image) and the registry credentials; grading will be "
                "retried.",
                FailureReason.INFRASTRUCTURE,
                retry=True,
            ),
        )
    if reason in _CONFIG_ERRORS:
        return PodOutcome(
            FAILED,
            GradingFailure(
                f"The grading container could not be created ({reason}: {detail}). Ask an "
                "admin to check the grading pod configuration; grading will be retried.",
                FailureReason.INFRASTRUCTURE,
                retry=True,
            ),
        )
    for condition in status.get("conditions") or []:
        if (
            condition.get("type") == "PodScheduled"
            and condition.get("status") == "False"
            and condition.get("reason") == "Unschedulable"
            and pending_for >= unschedulable_timeout
        ):
            return PodOutcome(
                FAILED,
                GradingFailure(
                    f"No cluster node could run the grading pod for {pending_for:.0f} s "
                    f"({condition.get('message') or 'unschedulable'}). The cluster may be "
                    "full, or the lecture asks for more CPU or memory than any node has; "
                    "grading will be retried.",
                    FailureReason.INFRASTRUCTURE,
                    retry=True,
                ),
            )
    return None


def _explain_failed(
    pod: dict[str, Any], status: dict[str, Any], terminated: dict[str, Any]
) -> GradingFailure:
    pod_reason = status.get("reason") or ""
    if pod_reason == "DeadlineExceeded":
        deadline = (pod.get("spec") or {}).get("activeDeadlineSeconds")
        limit = f" of {deadline} seconds" if deadline else ""
        return GradingFailure(
            f"Grading took longer than the time limit{limit} and was stopped. A notebook "
            "may run forever (an endless loop, waiting for input) or be far too slow.",
            FailureReason.TIMEOUT,
        )
    if pod_reason == "Evicted" or pod_reason == "Preempting":
        return GradingFailure(
            f"The cluster stopped the grading pod ({status.get('message') or pod_reason}); "
            "grading will be retried.",
            FailureReason.INFRASTRUCTURE,
            retry=True,
        )
    reason = str(terminated.get("reason") or "")
    code = terminated.get("exitCode")
    if reason == "OOMKilled":
        memory = _memory_limit(pod)
        return GradingFailure(
            f"Grading ran out of memory (the limit is {memory or 'set by the cluster'}). A "
            "notebook uses more memory than grading allows: look for very large data or "
            "results kept in memory, or ask an admin to raise the lecture's memory limit.",
            FailureReason.MEMORY_LIMIT,
        )
    if code is not None and code != 0:
        return GradingFailure(
            f"The grader stopped with exit code {code}"
            + (f" ({reason})" if reason and reason != "Error" else "")
            + ". The log below shows what went wrong.",
            FailureReason.OTHER,
        )
    return GradingFailure(
        f"The grading pod failed ({pod_reason or reason or 'no reason given'}); "
        "grading will be retried.",
        FailureReason.INFRASTRUCTURE,
        retry=True,
    )


class GraderPod(LoggingConfigurable):
    """A grading pod and a task (``polling``) that completes with its final phase."""

    poll_interval = Float(
        5.0,
        help="""Seconds between looks at the pod's last known state for rules that depend
        on time (how long it has been unschedulable). Phase changes arrive at once
        through the executor's shared watch, so this costs no API requests.""",
    ).tag(config=True)

    unschedulable_timeout = Float(
        300.0,
        help="""Seconds a grading pod may stay unschedulable (no node has room for it)
        before grading fails as an infrastructure problem and is retried later.""",
    ).tag(config=True)

    def __init__(self, name: str, namespace: str, reflector: PodReflector, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._name = name
        self._namespace = namespace
        self._reflector = reflector
        self._changed = asyncio.Event()
        self._created = asyncio.get_running_loop().time()
        self.outcome: PodOutcome | None = None
        reflector.subscribe(name, self._on_change)
        self._polling: asyncio.Task[str] = asyncio.ensure_future(self._poll())

    @property
    def name(self) -> str:
        """The pod's name."""
        return self._name

    @property
    def namespace(self) -> str:
        """The pod's namespace."""
        return self._namespace

    @property
    def polling(self) -> asyncio.Task[str]:
        """Completes with the final phase, ``"Succeeded"`` or ``"Failed"``."""
        return self._polling

    @property
    def pod(self) -> dict[str, Any] | None:
        """The pod as last seen (plain JSON), or None if not (or no longer) known."""
        return self._reflector.pods.get(self._name)

    def stop_polling(self) -> None:
        """Stop following the pod (the pod itself is left alone)."""
        self._reflector.unsubscribe(self._name, self._on_change)
        if not self._polling.done():
            self._polling.cancel()

    def _on_change(self, pod: dict[str, Any] | None) -> None:
        self._changed.set()

    async def _poll(self) -> str:
        loop = asyncio.get_running_loop()
        seen = False
        while True:
            self._changed.clear()
            pod = self.pod
            if pod is not None:
                seen = True
            if pod is not None or seen:
                # a pod we have seen before and no longer see was deleted
                outcome = explain_pod(pod, loop.time() - self._created, self.unschedulable_timeout)
                if outcome is not None:
                    self.outcome = outcome
                    self._reflector.unsubscribe(self._name, self._on_change)
                    return outcome.phase
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), self.poll_interval)

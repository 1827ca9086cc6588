"""Grading in Kubernetes: one hardened pod per autograde job (kubernetes-asyncio).

:mod:`.util` builds pods (pure functions), :mod:`.api` wraps the API client (timeouts,
retries), :mod:`.reflector` keeps one shared watch of the grading pods, :mod:`.pod`
follows one pod and explains how it ended, :mod:`.executor` puts them together.
"""

from .executor import KubeAutogradeExecutor
from .pod import GraderPod

__all__ = ["GraderPod", "KubeAutogradeExecutor"]

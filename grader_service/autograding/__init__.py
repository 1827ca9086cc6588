"""The grading concern: job queue, executors and their limits (no tornado here)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .limits import CellTimeoutPolicy, ImagePolicy

if TYPE_CHECKING:
    from .kube import GraderPod, KubeAutogradeExecutor
    from .local import LocalAutogradeExecutor

__all__ = [
    "CellTimeoutPolicy",
    "GraderPod",
    "ImagePolicy",
    "KubeAutogradeExecutor",
    "LocalAutogradeExecutor",
]

# Imported on first use: kubernetes_asyncio takes seconds to import, and a service that
# grades locally (or a grading worker) should not pay for it.
_LAZY = {
    "LocalAutogradeExecutor": ".local",
    "KubeAutogradeExecutor": ".kube",
    "GraderPod": ".kube",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

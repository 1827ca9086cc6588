"""grader-service: a Jupyter-integrated grading service.

The package root stays import-light on purpose: ``grader_service.convert`` runs inside
grading sandboxes where tornado and the database stack are not wanted, and importing a
subpackage imports this module first. ``GraderService`` is therefore resolved lazily.
"""

from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
    from .app import GraderService

__all__ = ["GraderService", "__version__"]


def __getattr__(name: str) -> Any:
    if name == "GraderService":
        from .app import GraderService

        return GraderService
    raise AttributeError(f"module 'grader_service' has no attribute {name!r}")

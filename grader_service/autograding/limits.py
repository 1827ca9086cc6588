"""Limits on how long student code may run, shared by every executor."""

from __future__ import annotations

import fnmatch

from traitlets import Integer, List, Unicode, validate
from traitlets.config import Configurable


class CellTimeoutPolicy(Configurable):
    """Default and bounds of the per-cell execution timeout.

    An assignment may set its own ``cell_timeout``; it is clamped to
    [``min_cell_timeout``, ``max_cell_timeout``] so one course cannot tie up the
    graders for everybody.
    """

    default_cell_timeout = Integer(
        60,
        help="""Seconds a notebook cell may run when the assignment sets no timeout.

        Example::

            c.CellTimeoutPolicy.default_cell_timeout = 120
        """,
    ).tag(config=True)

    min_cell_timeout = Integer(
        5, help="Smallest per-cell timeout (seconds) an assignment may set."
    ).tag(config=True)

    max_cell_timeout = Integer(
        3600, help="Largest per-cell timeout (seconds) an assignment may set."
    ).tag(config=True)

    @validate("default_cell_timeout", "min_cell_timeout", "max_cell_timeout")
    def _positive(self, proposal: dict[str, int]) -> int:
        if proposal["value"] < 1:
            raise ValueError("cell timeouts must be at least 1 second")
        return proposal["value"]

    def clamp(self, requested: int | None) -> int:
        """The timeout to use for an assignment that asked for ``requested`` seconds."""
        if requested is None:
            requested = self.default_cell_timeout
        return max(self.min_cell_timeout, min(self.max_cell_timeout, requested))


class ImagePolicy(Configurable):
    """Which container images assignments may choose for grading (container executors)."""

    allowed_images = List(
        Unicode(),
        help="""Glob patterns of images instructors may set as an assignment's ``image``.

        Empty (the default) means assignments cannot choose an image and the executor's
        default is used. Example::

            c.ImagePolicy.allowed_images = ["registry.example.org/grading/*"]
        """,
    ).tag(config=True)

    def check(self, image: str) -> None:
        """Raise ``ValueError`` with advice unless ``image`` is allowed."""
        if not self.allowed_images:
            raise ValueError(
                "assignments may not choose a grading image here; ask your admin to list "
                "allowed images in c.ImagePolicy.allowed_images"
            )
        if not any(fnmatch.fnmatchcase(image, pattern) for pattern in self.allowed_images):
            raise ValueError(
                f"image {image!r} is not allowed; allowed: {', '.join(self.allowed_images)}"
            )

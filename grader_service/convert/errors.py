"""Typed errors of the converter.

Every failure a caller may want to handle (a malformed source notebook, a gradebook
from a newer tool) has its own class, so the service can map it to a clear message
instead of parsing strings.
"""

from __future__ import annotations


class ConvertError(Exception):
    """Base class of every error raised by ``grader_service.convert``."""


class MetadataError(ConvertError):
    """A cell's nbgrader metadata is malformed (missing grade_id, bad points, ...)."""

    def __init__(self, message: str, *, notebook: str | None = None, cell_index: int | None = None):
        where = []
        if notebook:
            where.append(notebook)
        if cell_index is not None:
            where.append(f"cell {cell_index}")
        self.notebook = notebook
        self.cell_index = cell_index
        super().__init__(f"{', '.join(where)}: {message}" if where else message)


class SchemaTooNewError(MetadataError):
    """The cell metadata uses an nbgrader schema version newer than we understand."""


class RegionError(MetadataError):
    """A ``BEGIN ...``/``END ...`` region marker is unbalanced or misplaced."""


class GradebookError(ConvertError):
    """gradebook.json is missing, unreadable or from an unsupported format version."""

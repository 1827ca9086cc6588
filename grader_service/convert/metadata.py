"""nbgrader cell metadata: schema versions 1-3, predicates and checksums.

The format is nbgrader's (``cell.metadata["nbgrader"]``), so notebooks authored with
nbgrader or Grader Service 0.12 work unchanged. Notebooks in schema v0/v1/v2 are upgraded
to v3 in place; a newer schema is rejected with :class:`SchemaTooNewError`, because
guessing the meaning of unknown keys could grade wrongly.

The checksum is the one nbgrader computes (md5 over source, cell type, the grade,
solution and locked flags, the grade_id and, for graded cells, the points), so a student
version released by either tool is recognised by the other.
"""

from __future__ import annotations

import hashlib
import math
import re
from typing import Any

from nbformat import NotebookNode

from .errors import MetadataError, SchemaTooNewError

SCHEMA_VERSION = 3

#: Keys allowed in v3 metadata; anything else is dropped on upgrade (as nbgrader does).
V3_KEYS = frozenset(
    {
        "schema_version",
        "grade",
        "locked",
        "solution",
        "task",
        "grade_id",
        "points",
        "checksum",
        "cell_type",
    }
)
GRADE_ID_RE = re.compile(r"^[a-zA-Z0-9_\-]*$")


def nbgrader_meta(cell: NotebookNode) -> dict[str, Any] | None:
    """The cell's ``nbgrader`` metadata dict, or None for an ordinary cell."""
    meta = cell.get("metadata", {}).get("nbgrader")
    return meta if isinstance(meta, dict) else None


def _flag(cell: NotebookNode, key: str) -> bool:
    meta = nbgrader_meta(cell)
    return bool(meta and meta.get(key, False) is True)


def is_grade(cell: NotebookNode) -> bool:
    """True for autograded tests and manually graded answers."""
    return _flag(cell, "grade")


def is_solution(cell: NotebookNode) -> bool:
    """True for answer cells (autograded or manually graded)."""
    return _flag(cell, "solution")


def is_task(cell: NotebookNode) -> bool:
    """True for manually graded task cells."""
    return _flag(cell, "task")


def is_locked(cell: NotebookNode) -> bool:
    """True if the student may not change the cell (its source is restored on autograde)."""
    if nbgrader_meta(cell) is None or is_solution(cell):
        return False
    return is_grade(cell) or is_task(cell) or _flag(cell, "locked")


def is_nbgrader_cell(cell: NotebookNode) -> bool:
    """True if the cell takes part in grading (graded, answer, task or read-only)."""
    return is_grade(cell) or is_solution(cell) or is_task(cell) or is_locked(cell)


def grade_id(cell: NotebookNode) -> str | None:
    """The cell's grade_id, if it has a usable one."""
    meta = nbgrader_meta(cell)
    gid = meta.get("grade_id") if meta else None
    return gid if isinstance(gid, str) and gid else None


def compute_checksum(cell: NotebookNode) -> str:
    """nbgrader-compatible md5 checksum of a cell's source and grading metadata."""
    meta = nbgrader_meta(cell) or {}
    md5 = hashlib.md5(usedforsecurity=False)
    md5.update(cell.source.encode("utf-8"))
    md5.update(cell.cell_type.encode("utf-8"))
    md5.update(str(is_grade(cell)).encode("utf-8"))
    md5.update(str(is_solution(cell)).encode("utf-8"))
    md5.update(str(is_locked(cell)).encode("utf-8"))
    md5.update(str(meta.get("grade_id", "")).encode("utf-8"))
    if is_grade(cell):
        md5.update(str(float(meta["points"])).encode("utf-8"))
    return md5.hexdigest()


def _upgrade_v0_to_v1(meta: dict[str, Any]) -> bool:
    """Fill defaults of unversioned metadata; False means the cell is not an nbgrader cell."""
    for key in ("grade", "solution", "locked"):
        meta.setdefault(key, False)
    if not (meta["grade"] or meta["solution"] or meta["locked"] or meta.get("task")):
        return False
    if not meta["grade"]:
        meta.pop("points", None)
    else:
        raw = meta.get("points", 0.0)
        try:
            points = float(raw) if raw != "" else 0.0
        except (TypeError, ValueError):
            points = 0.0
        meta["points"] = max(points, 0.0)
    meta["schema_version"] = 1
    return True


def upgrade_cell(cell: NotebookNode) -> NotebookNode:
    """Upgrade a cell's nbgrader metadata to schema v3 in place.

    Raises SchemaTooNewError for versions above 3.
    """
    meta = nbgrader_meta(cell)
    if meta is None:
        cell.get("metadata", {}).pop("nbgrader", None)
        return cell
    version = meta.get("schema_version", 0)
    if not isinstance(version, int) or isinstance(version, bool):
        raise MetadataError(f"schema_version must be an integer, got {version!r}")
    if version > SCHEMA_VERSION:
        raise SchemaTooNewError(
            f"nbgrader metadata schema_version {version} is newer than the supported "
            f"version {SCHEMA_VERSION}; upgrade grader-convert to read this notebook"
        )
    if version == 0 and not _upgrade_v0_to_v1(meta):
        del cell.metadata["nbgrader"]
        return cell
    if meta["schema_version"] == 1:
        # v2 added cell_type; an empty one carries no information
        if not meta.get("cell_type"):
            meta.pop("cell_type", None)
        if "checksum" in meta and "cell_type" not in meta:
            meta["cell_type"] = cell.cell_type
        meta["schema_version"] = 2
    if meta["schema_version"] == 2:
        # v3 only added the optional "task" flag
        meta["schema_version"] = 3
    for key in set(meta) - V3_KEYS:
        del meta[key]
    return cell


def validate_cell(cell: NotebookNode) -> None:
    """Check a v3 cell's nbgrader metadata; raises MetadataError with the reason."""
    meta = nbgrader_meta(cell)
    if meta is None:
        return
    for key in ("grade", "solution", "locked", "task"):
        if key in meta and not isinstance(meta[key], bool):
            raise MetadataError(f"'{key}' must be true or false, got {meta[key]!r}")
    grade, solution, task = meta.get("grade"), meta.get("solution"), meta.get("task")
    if grade or solution or task or meta.get("locked"):
        gid = meta.get("grade_id")
        if not isinstance(gid, str) or not gid:
            raise MetadataError("nbgrader cell has no grade_id")
        if not GRADE_ID_RE.match(gid):
            raise MetadataError(f"grade_id {gid!r} may only contain letters, digits, _ and -")
    if grade or task:
        points = meta.get("points")
        if isinstance(points, bool) or not isinstance(points, int | float):
            raise MetadataError(f"graded cell {meta.get('grade_id')!r} has no numeric points")
        if points < 0 or not math.isfinite(points):
            raise MetadataError(f"graded cell {meta.get('grade_id')!r} has invalid points {points}")
    if task and (grade or solution):
        raise MetadataError(
            f"task cell {meta.get('grade_id')!r} cannot also be graded or an answer"
        )
    if task and cell.cell_type != "markdown":
        raise MetadataError(f"task cell {meta.get('grade_id')!r} must be a markdown cell")
    if cell.cell_type == "markdown" and not task and bool(grade) != bool(solution):
        raise MetadataError(
            f"markdown cell {meta.get('grade_id')!r} must be both graded and an answer"
        )


def upgrade_notebook(nb: NotebookNode, *, name: str | None = None) -> NotebookNode:
    """Upgrade and validate every cell; raise MetadataError naming the notebook and cell."""
    seen: set[str] = set()
    for index, cell in enumerate(nb.cells):
        try:
            upgrade_cell(cell)
            validate_cell(cell)
        except MetadataError as err:
            cls = type(err)
            raise cls(str(err), notebook=name, cell_index=index) from None
        gid = grade_id(cell)
        if gid is not None and is_nbgrader_cell(cell):
            if gid in seen:
                raise MetadataError(f"duplicate grade_id {gid!r}", notebook=name, cell_index=index)
            seen.add(gid)
    return nb

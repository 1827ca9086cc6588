"""Rebuild a submitted notebook from the gradebook and report what the student changed.

Nothing in a submitted notebook is trusted except the student's own answers. The
gradebook says which cells exist, in which order, with which type, points and (for
locked and test cells) which source. A submitted cell is matched to the gradebook only
by its ``grade_id``; everything else about it is restored:

* locked, test and task cells get the gradebook's source back (with hidden tests);
* cell types and all grading metadata (grade/solution/locked/task flags, points) are
  rewritten from the gradebook;
* deleted cells are re-inserted, duplicated ones are demoted to ordinary cells, and
  the gradebook's order of graded cells is restored (ordinary cells the student added
  stay after the graded cell they followed);
* ordinary cells lose any ``nbgrader`` metadata, so an invented "grade: true" cell
  carries no points.

Each change is reported as a :class:`TamperEvent`, so graders see what happened.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from nbformat import NotebookNode
from nbformat.v4 import new_code_cell, new_markdown_cell, new_raw_cell

from . import metadata as md
from .gradebook import Notebook, SourceCell
from .regions import MARK_SCHEME, strip_hidden, strip_region


@dataclass(frozen=True)
class TamperEvent:
    """One detected change to a part of the notebook the student may not change."""

    grade_id: str | None
    kind: str
    message: str


def release_source(source: str) -> str:
    """The source the student received for a locked cell (hidden parts removed)."""
    return strip_region(strip_hidden(source), MARK_SCHEME)


def _same_text(a: str, b: str) -> bool:
    # editors may add or drop trailing whitespace; that is not tampering
    def norm(s: str) -> list[str]:
        return [line.rstrip() for line in s.strip().splitlines()]

    return norm(a) == norm(b)


def is_unanswered(gb_nb: Notebook, gid: str, cell: NotebookNode) -> bool:
    """True if answer cell ``gid`` still holds exactly the stub it was released with."""
    return _same_text(cell.source, release_source(gb_nb.source_cells_dict[gid].source))


def canonical_meta(gb_nb: Notebook, gid: str, cell_type: str) -> dict[str, object]:
    """The v3 nbgrader metadata the gradebook prescribes for cell ``gid``."""
    src = gb_nb.source_cells_dict[gid]
    meta: dict[str, object] = {
        "schema_version": md.SCHEMA_VERSION,
        "grade": gid in gb_nb.grade_cells_dict,
        "solution": gid in gb_nb.solution_cells_dict,
        "locked": bool(src.locked),
        "task": gid in gb_nb.task_cells_dict,
        "grade_id": gid,
        "cell_type": cell_type,
    }
    graded = gb_nb.grade_cells_dict.get(gid) or gb_nb.task_cells_dict.get(gid)
    if graded is not None:
        meta["points"] = float(graded.max_score)
    if src.checksum:
        meta["checksum"] = src.checksum
    return meta


def _new_cell(cell_type: str, source: str) -> NotebookNode:
    if cell_type == "markdown":
        return new_markdown_cell(source)
    if cell_type == "raw":
        return new_raw_cell(source)
    return new_code_cell(source)


def _restore_cell(
    gb_nb: Notebook,
    gid: str,
    student: NotebookNode | None,
    events: list[TamperEvent],
) -> NotebookNode:
    src: SourceCell = gb_nb.source_cells_dict[gid]
    keeps_student_source = gid in gb_nb.solution_cells_dict
    if student is None:
        events.append(
            TamperEvent(
                gid, "deleted", f"cell '{gid}' was deleted; it was restored from the gradebook"
            )
        )
        cell = _new_cell(src.cell_type, src.source)
    else:
        old = md.nbgrader_meta(student) or {}
        source = student.source if keeps_student_source else src.source
        if student.cell_type != src.cell_type:
            events.append(
                TamperEvent(
                    gid,
                    "cell_type",
                    f"cell '{gid}' was changed from {src.cell_type} to {student.cell_type}; "
                    f"its type was restored",
                )
            )
        if not keeps_student_source and not _same_text(student.source, release_source(src.source)):
            events.append(
                TamperEvent(
                    gid,
                    "source",
                    f"locked cell '{gid}' was modified; its source was restored from the gradebook",
                )
            )
        cell = _new_cell(src.cell_type, source)
        # keep harmless editor metadata (tags, collapsed, ...) but never grading metadata
        cell.metadata = {
            k: copy.deepcopy(v)
            for k, v in student.get("metadata", {}).items()
            if k not in ("nbgrader", "editable", "deletable")
        }
        _compare_meta(gb_nb, gid, old, events)
    cell.metadata["nbgrader"] = canonical_meta(gb_nb, gid, src.cell_type)
    if gid in gb_nb.source_cells_dict and (src.locked or not keeps_student_source):
        cell.metadata["editable"] = False
    cell.metadata["deletable"] = False
    return cell


def _compare_meta(
    gb_nb: Notebook, gid: str, old: dict[str, object], events: list[TamperEvent]
) -> None:
    want = canonical_meta(gb_nb, gid, gb_nb.source_cells_dict[gid].cell_type)
    changed = []
    for key in ("grade", "solution", "task"):
        if bool(old.get(key, False)) != bool(want[key]):
            changed.append(f"{key} {bool(old.get(key, False))} (expected {want[key]})")
    if "points" in want:
        try:
            same = float(old.get("points")) == want["points"]  # type: ignore[arg-type]
        except (TypeError, ValueError):
            same = False
        if not same:
            changed.append(f"points {old.get('points')!r} (expected {want['points']:g})")
    if want["locked"] and old.get("locked") is False:
        changed.append("locked false (expected true)")
    if changed:
        events.append(
            TamperEvent(
                gid,
                "metadata",
                f"grading metadata of cell '{gid}' was changed: "
                f"{', '.join(changed)}; it was restored",
            )
        )


def restore_notebook(
    student_nb: NotebookNode,
    gb_nb: Notebook,
) -> tuple[NotebookNode, list[TamperEvent]]:
    """Return the notebook to grade (a new object) and the tampering found in the submission."""
    events: list[TamperEvent] = []
    known = list(gb_nb.source_cells_dict)
    matched: dict[str, NotebookNode] = {}
    head: list[NotebookNode] = []
    followers: dict[str, list[NotebookNode]] = {gid: [] for gid in known}
    order: list[str] = []
    current: list[NotebookNode] = head
    for cell in student_nb.cells:
        meta = md.nbgrader_meta(cell)
        gid = meta.get("grade_id") if meta else None
        if isinstance(gid, str) and gid in followers:
            if gid in matched:
                events.append(
                    TamperEvent(
                        gid,
                        "duplicated",
                        f"cell '{gid}' appears more than once; the copy is "
                        f"treated as an ordinary cell",
                    )
                )
            else:
                matched[gid] = cell
                order.append(gid)
                current = followers[gid]
                continue
        elif meta and (meta.get("grade") or meta.get("task") or meta.get("solution")):
            events.append(
                TamperEvent(
                    gid if isinstance(gid, str) else None,
                    "unknown",
                    f"cell {gid!r} is marked for grading but is not in "
                    f"the gradebook; it is treated as an ordinary cell",
                )
            )
        current.append(_ordinary(cell))
    if order != [gid for gid in known if gid in matched]:
        events.append(
            TamperEvent(
                None, "reordered", "graded cells were moved; their original order was restored"
            )
        )
    cells = list(head)
    for gid in known:
        cells.append(_restore_cell(gb_nb, gid, matched.get(gid), events))
        cells.extend(followers[gid])
    for cell in cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    nb = copy.copy(student_nb)
    nb.cells = cells
    nb.metadata = copy.deepcopy(student_nb.get("metadata", {}))
    return nb, events


def _ordinary(cell: NotebookNode) -> NotebookNode:
    """A copy of a student cell stripped of every grading-related key."""
    out = _new_cell(
        cell.cell_type if cell.cell_type in ("code", "markdown", "raw") else "raw",
        cell.get("source", ""),
    )
    out.metadata = {
        k: copy.deepcopy(v) for k, v in cell.get("metadata", {}).items() if k != "nbgrader"
    }
    return out

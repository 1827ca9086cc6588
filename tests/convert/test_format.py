"""The nbgrader metadata format, region markers, checksums and gradebook.json."""

from __future__ import annotations

import hashlib
import json

import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell

from grader_service.convert import GradebookError, MetadataError, SchemaTooNewError
from grader_service.convert import metadata as md
from grader_service.convert.gradebook import GradeBookModel, read_gradebook
from grader_service.convert.regions import HIDDEN_TESTS, SOLUTION, replace_region, strip_region

from .notebooks import meta


def test_v1_cell_is_upgraded_to_v3() -> None:
    cell = new_code_cell(
        "assert True",
        metadata={
            "nbgrader": {
                "schema_version": 1,
                "grade": True,
                "solution": False,
                "locked": False,
                "grade_id": "t1",
                "points": 2,
                "checksum": "0" * 32,
                "legacy_key": "x",
            }
        },
    )
    md.upgrade_cell(cell)
    assert cell.metadata.nbgrader == {
        "schema_version": 3,
        "grade": True,
        "solution": False,
        "locked": False,
        "grade_id": "t1",
        "points": 2,
        "checksum": "0" * 32,
        "cell_type": "code",
    }


def test_unversioned_cell_gets_defaults_and_plain_cells_lose_metadata() -> None:
    graded = new_code_cell(
        "x", metadata={"nbgrader": {"grade": True, "grade_id": "g", "points": "-3"}}
    )
    plain = new_code_cell("x", metadata={"nbgrader": {"grade": False, "grade_id": "p"}})
    md.upgrade_cell(graded)
    md.upgrade_cell(plain)
    assert graded.metadata.nbgrader["points"] == 0.0  # negative points clamp to 0
    assert graded.metadata.nbgrader["schema_version"] == 3
    assert "nbgrader" not in plain.metadata


def test_v2_cell_is_upgraded_and_keeps_its_cell_type() -> None:
    cell = new_markdown_cell(
        "answer",
        metadata={
            "nbgrader": {
                "schema_version": 2,
                "grade": True,
                "solution": True,
                "locked": False,
                "grade_id": "a1",
                "points": 1,
                "cell_type": "markdown",
            }
        },
    )
    md.upgrade_cell(cell)
    md.validate_cell(cell)
    assert cell.metadata.nbgrader["schema_version"] == 3
    assert cell.metadata.nbgrader["cell_type"] == "markdown"


def test_newer_schema_is_rejected_with_a_clear_error() -> None:
    cell = new_code_cell("x", metadata=meta("t", grade=True, points=1, version=4))
    with pytest.raises(SchemaTooNewError, match="schema_version 4 is newer than the supported"):
        md.upgrade_cell(cell)


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        (
            new_code_cell(
                "x",
                metadata={
                    "nbgrader": {
                        "schema_version": 3,
                        "grade": True,
                        "solution": False,
                        "locked": False,
                        "grade_id": "t",
                    }
                },
            ),
            "no numeric points",
        ),
        (new_code_cell("x", metadata=meta("", solution=True)), "no grade_id"),
        (new_code_cell("x", metadata=meta("bad id!", solution=True)), "may only contain"),
        (
            new_markdown_cell("x", metadata=meta("m", grade=True, points=1)),
            "must be both graded and an answer",
        ),
        (new_code_cell("x", metadata=meta("t", task=True, points=1)), "must be a markdown cell"),
    ],
)
def test_malformed_metadata_is_reported(cell, message: str) -> None:
    with pytest.raises(MetadataError, match=message):
        md.validate_cell(cell)


def test_duplicate_grade_ids_name_the_notebook_and_cell() -> None:
    from nbformat.v4 import new_notebook

    nb = new_notebook(
        cells=[
            new_code_cell("a", metadata=meta("x", solution=True)),
            new_code_cell("b", metadata=meta("x", solution=True)),
        ]
    )
    with pytest.raises(MetadataError, match=r"ps9, cell 1: duplicate grade_id 'x'"):
        md.upgrade_notebook(nb, name="ps9")


def test_checksum_follows_the_nbgrader_formula() -> None:
    cell = new_code_cell("assert f(1) == 2", metadata=meta("t1", grade=True, locked=True, points=2))
    expected = hashlib.md5(
        b"assert f(1) == 2codeTrueFalseTruet12.0", usedforsecurity=False
    ).hexdigest()
    assert md.compute_checksum(cell) == expected
    cell.metadata.nbgrader["points"] = 3
    assert md.compute_checksum(cell) != expected  # points are covered by the checksum


def test_solution_region_becomes_an_indented_stub() -> None:
    source = "def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\n"
    new, found = replace_region(source, SOLUTION, "# YOUR CODE HERE\nraise NotImplementedError()")
    assert found
    assert new == "def f():\n    # YOUR CODE HERE\n    raise NotImplementedError()\n"


def test_hidden_region_is_removed_and_unbalanced_markers_fail() -> None:
    assert strip_region("a\n# BEGIN HIDDEN TESTS\nb\n# END HIDDEN TESTS\nc", HIDDEN_TESTS) == "a\nc"
    with pytest.raises(MetadataError, match="without 'END HIDDEN TESTS'"):
        strip_region("a\n# BEGIN HIDDEN TESTS\nb", HIDDEN_TESTS)


# A gradebook as Grader Service 0.12 writes it: ids may be null, every record tagged.
GS_GRADEBOOK = {
    "notebooks": {
        "ps1": {
            "id": "ps1",
            "name": "ps1",
            "flagged": False,
            "kernelspec": '{"name": "python3"}',
            "grade_cells_dict": {
                "t1": {
                    "id": None,
                    "name": "t1",
                    "notebook_id": None,
                    "grade_id": "t1",
                    "comment_id": None,
                    "max_score": 2.0,
                    "cell_type": "code",
                    "_type": "GradeCell",
                }
            },
            "solution_cells_dict": {
                "a1": {
                    "id": None,
                    "name": "a1",
                    "notebook_id": None,
                    "grade_id": None,
                    "comment_id": None,
                    "_type": "SolutionCell",
                }
            },
            "task_cells_dict": {},
            "source_cells_dict": {
                "t1": {
                    "id": None,
                    "name": "t1",
                    "notebook_id": None,
                    "cell_type": "code",
                    "locked": True,
                    "source": "assert a == 1",
                    "checksum": "c" * 32,
                    "_type": "SourceCell",
                }
            },
            "grades_dict": {
                "t1": {
                    "id": "t1",
                    "notebook_id": "ps1",
                    "cell_id": "t1",
                    "auto_score": 2.0,
                    "manual_score": 1.5,
                    "extra_credit": 0.5,
                    "needs_manual_grade": False,
                    "max_score_gradecell": 2.0,
                    "max_score_taskcell": None,
                    "failed_tests": False,
                    "max_score": 2.0,
                    "_type": "Grade",
                }
            },
            "comments_dict": {},
            "_type": "Notebook",
        }
    },
    "extra_files": ["data.csv"],
    "_type": "GradeBookModel",
    "schema_version": "1",
}


def test_reads_grader_service_gradebooks_and_writes_the_same_shape(tmp_path) -> None:
    path = tmp_path / "gradebook.json"
    path.write_text(json.dumps(GS_GRADEBOOK))
    gb = read_gradebook(path)
    nb = gb.notebooks["ps1"]
    assert nb.grades_dict["t1"].score == 2.0  # manual 1.5 wins over auto, plus 0.5 credit
    assert gb.max_score == 2.0 and gb.score == 2.0
    assert gb.extra_files == ["data.csv"]
    again = gb.to_dict()
    assert again["_type"] == "GradeBookModel" and again["schema_version"] == "1"
    for key in ("grade_cells_dict", "source_cells_dict", "grades_dict", "solution_cells_dict"):
        ours = again["notebooks"]["ps1"][key]
        theirs = GS_GRADEBOOK["notebooks"]["ps1"][key]
        assert ours == theirs


def test_gradebook_from_a_newer_format_is_rejected(tmp_path) -> None:
    path = tmp_path / "gradebook.json"
    path.write_text(json.dumps({**GS_GRADEBOOK, "schema_version": "2"}))
    with pytest.raises(GradebookError, match="schema_version '2' is not supported"):
        read_gradebook(path)
    path.write_text("{broken")
    with pytest.raises(GradebookError, match="not valid JSON"):
        read_gradebook(path)
    assert GradeBookModel.from_dict({"notebooks": {}}).notebooks == {}

"""grader-convert: nbgrader-compatible notebook conversion for grader-service.

This package runs inside grading sandboxes and pods, so it imports nothing from the
rest of grader_service and needs only the notebook stack (nbformat, jupyter_client,
traitlets; nbconvert's mistune for feedback markdown).

Library API (each converter is a traitlets ``LoggingConfigurable``)::

    from grader_service.convert import GenerateAssignment, Autograde, GenerateFeedback
    GenerateAssignment().convert("source/ps1", "release/ps1")       # + gradebook.json
    result = await Autograde().convert_async("submission", "out")   # reads out/gradebook.json
    GenerateFeedback().convert("out", "feedback")

To run the kernel in a sandbox, configure or replace ``KernelLauncher`` (see
:mod:`grader_service.convert.kernel`).
"""

from .assignment import GenerateAssignment, GenerateSolution
from .autograde import Autograde, AutogradeResult, CellResult, NotebookResult
from .errors import ConvertError, GradebookError, MetadataError, RegionError, SchemaTooNewError
from .execute import CellRun, NotebookRunner
from .feedback import GenerateFeedback
from .gradebook import GradeBookModel, read_gradebook, write_gradebook
from .integrity import TamperEvent, restore_notebook
from .kernel import KernelLauncher
from .validate import NotebookValidation, Validate

__all__ = [
    "Autograde",
    "AutogradeResult",
    "CellResult",
    "CellRun",
    "ConvertError",
    "GenerateAssignment",
    "GenerateFeedback",
    "GenerateSolution",
    "GradeBookModel",
    "GradebookError",
    "KernelLauncher",
    "MetadataError",
    "NotebookResult",
    "NotebookRunner",
    "NotebookValidation",
    "RegionError",
    "SchemaTooNewError",
    "TamperEvent",
    "Validate",
    "read_gradebook",
    "restore_notebook",
    "write_gradebook",
]

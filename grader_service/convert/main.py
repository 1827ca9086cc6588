"""The ``grader-convert`` command line.

``grader-convert {generate_assignment,autograde,generate_feedback,generate_solution,validate}
-i IN -o OUT [-p PATTERN]``. Every converter setting is available as
``--Class.trait=value`` (e.g. ``--NotebookRunner.cell_timeout=10``) or from a config
file (``--config=grader_convert_config.py``). Exit status: 0 on success, 1 on a
conversion error (or, for validate, when something needs attention), 2 on bad usage.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from traitlets import Int, Unicode
from traitlets.config import Application

from .assignment import GenerateAssignment, GenerateSolution
from .autograde import Autograde
from .base import BaseConverter
from .errors import ConvertError
from .execute import NotebookRunner
from .feedback import GenerateFeedback
from .kernel import KernelLauncher
from .validate import Validate

_ALIASES = {
    "i": "ConvertCommand.input_directory",
    "input_directory": "ConvertCommand.input_directory",
    "o": "ConvertCommand.output_directory",
    "output_directory": "ConvertCommand.output_directory",
    "p": "BaseConverter.file_pattern",
    "file_pattern": "BaseConverter.file_pattern",
    "config": "ConvertCommand.config_file",
    "log-level": "Application.log_level",
}
_FLAGS = {
    "debug": ({"Application": {"log_level": 10}}, "Log everything."),
    "quiet": ({"Application": {"log_level": 40}}, "Log errors only."),
}
_CLASSES: list[Any] = [
    BaseConverter,
    GenerateAssignment,
    GenerateSolution,
    Autograde,
    GenerateFeedback,
    Validate,
    NotebookRunner,
    KernelLauncher,
]


class ConvertCommand(Application):
    """Base of the subcommands: directories, config file, error handling."""

    aliases = _ALIASES
    flags = _FLAGS
    classes = _CLASSES

    input_directory = Unicode(".", help="Directory to read notebooks from.").tag(config=True)
    output_directory = Unicode("", help="Directory to write results into.").tag(config=True)
    config_file = Unicode("", help="A traitlets config file (Python) to load.").tag(config=True)
    exit_code = Int(0, help="Exit status of the last run (set by the command).")

    def initialize(self, argv: Any = None) -> None:
        """Parse the command line, then load the config file if one was named."""
        super().initialize(argv)
        if self.config_file:
            path = Path(self.config_file)
            self.load_config_file(path.name, path=str(path.parent or "."))
            self.update_config(self.cli_config)  # the command line wins over the file

    def need_output(self) -> Path:
        """The output directory, which this command requires."""
        if not self.output_directory:
            raise ConvertError("this command needs an output directory (-o OUT)")
        return Path(self.output_directory)

    def run(self) -> None:
        """Do the command's work."""
        raise NotImplementedError

    def start(self) -> None:
        """Run, turning converter errors into a message and exit status 1."""
        try:
            self.run()
        except ConvertError as err:
            self.log.error("%s", err)
            self.exit_code = 1


class GenerateAssignmentCommand(ConvertCommand):
    """Write the student version of the notebooks of IN and gradebook.json into OUT."""

    def run(self) -> None:
        """Release the assignment."""
        GenerateAssignment(parent=self).convert(self.input_directory, self.need_output())


class AutogradeCommand(ConvertCommand):
    """Grade the notebooks of IN against OUT/gradebook.json; write results into OUT."""

    def run(self) -> None:
        """Autograde one submission."""
        result = Autograde(parent=self).convert(self.input_directory, self.need_output())
        self.log.info("Score: %g / %g", result.score, result.max_score)


class GenerateFeedbackCommand(ConvertCommand):
    """Render the graded notebooks and gradebook.json of IN as HTML into OUT."""

    def run(self) -> None:
        """Write feedback pages."""
        GenerateFeedback(parent=self).convert(self.input_directory, self.need_output())


class GenerateSolutionCommand(ConvertCommand):
    """Write the solution version of the source notebooks of IN into OUT."""

    def run(self) -> None:
        """Write solution notebooks."""
        GenerateSolution(parent=self).convert(self.input_directory, self.need_output())


class ValidateCommand(ConvertCommand):
    """Check the notebooks of IN; print findings (and write OUT/validation.json if -o)."""

    def run(self) -> None:
        """Validate and report."""
        reports = Validate(parent=self).validate(self.input_directory)
        if not reports:
            raise ConvertError(f"no notebooks found in {self.input_directory}")
        for report in reports:
            print(report.summary())
        if self.output_directory:
            out = Path(self.output_directory)
            out.mkdir(parents=True, exist_ok=True)
            data = [{**vars(r), "ok": r.ok} for r in reports]
            (out / "validation.json").write_text(json.dumps(data, indent=1))
        self.exit_code = 0 if all(r.ok for r in reports) else 1


_SUBCOMMANDS: dict[str, type[ConvertCommand]] = {
    "generate_assignment": GenerateAssignmentCommand,
    "autograde": AutogradeCommand,
    "generate_feedback": GenerateFeedbackCommand,
    "generate_solution": GenerateSolutionCommand,
    "validate": ValidateCommand,
}


class GraderConvertApp(Application):
    """grader-convert: nbgrader-compatible notebook conversion for grader-service."""

    name = "grader-convert"
    description = __doc__
    subcommands = {name: (cls, (cls.__doc__ or "").strip()) for name, cls in _SUBCOMMANDS.items()}

    def start(self) -> None:
        """Run the chosen subcommand."""
        if self.subapp is None:
            self.print_subcommands()
            self.exit(2)
            return
        self.subapp.start()


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    app = GraderConvertApp()
    try:
        app.initialize(argv)
        app.start()
        sub = app.subapp
        return int(sub.exit_code) if isinstance(sub, ConvertCommand) else 0
    finally:
        # subcommands are traitlets singletons; clear them so in-process callers
        # (tests, warm workers) can run main() again with other arguments
        for cls in _SUBCOMMANDS.values():
            cls.clear_instance()
        GraderConvertApp.clear_instance()


if __name__ == "__main__":
    sys.exit(main())

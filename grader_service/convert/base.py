"""What every converter shares: finding notebooks, reading and writing them, extra files."""

from __future__ import annotations

import fnmatch
import shutil
from pathlib import Path

import nbformat
from nbformat import NotebookNode
from traitlets import List, Unicode
from traitlets.config import LoggingConfigurable

from .errors import ConvertError

#: Files that are never notebooks of an assignment nor files to hand out.
DEFAULT_IGNORE = [
    ".ipynb_checkpoints",
    "*.pyc",
    "__pycache__",
    ".git",
    "grader_config.py",
    "gradebook.json",
    ".gradebook-*",
]


class BaseConverter(LoggingConfigurable):
    """Common settings of the converters."""

    file_pattern = Unicode(
        "*.ipynb",
        help="""Glob (relative to the input directory) selecting the notebooks to convert.
        Example: ``c.BaseConverter.file_pattern = "**/*.ipynb"``.""",
    ).tag(config=True)

    ignore = List(
        Unicode(),
        DEFAULT_IGNORE,
        help="File or directory name globs that are never converted or copied.",
    ).tag(config=True)

    def is_ignored(self, rel: Path) -> bool:
        """True if any component of the relative path matches an ignore glob."""
        return any(fnmatch.fnmatch(part, pat) for part in rel.parts for pat in self.ignore)

    def find_notebooks(self, input_dir: Path) -> list[Path]:
        """Notebooks of ``input_dir`` matching ``file_pattern``, sorted, ignoring ignored ones."""
        found = [
            p
            for p in Path(input_dir).glob(self.file_pattern)
            if p.is_file()
            and p.suffix == ".ipynb"
            and not self.is_ignored(p.relative_to(input_dir))
        ]
        return sorted(found)

    @staticmethod
    def notebook_id(path: Path, input_dir: Path) -> str:
        """The gradebook key of a notebook: its path below the input dir, without .ipynb."""
        return path.relative_to(input_dir).with_suffix("").as_posix()

    @staticmethod
    def read_notebook(path: Path) -> NotebookNode:
        """Read a notebook as nbformat v4; raises ConvertError if it is not one."""
        try:
            with path.open(encoding="utf-8") as fh:
                nb: NotebookNode = nbformat.read(fh, as_version=4)
        except Exception as err:  # nbformat raises several unrelated exception types
            raise ConvertError(f"{path.name} is not a readable notebook: {err}") from None
        return nb

    @staticmethod
    def write_notebook(nb: NotebookNode, path: Path) -> None:
        """Write a notebook, creating parent directories."""
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as fh:
            nbformat.write(nb, fh)

    def copy_extra_files(self, input_dir: Path, output_dir: Path) -> list[str]:
        """Copy non-notebook files (data, helper modules) and return their relative paths."""
        copied: list[str] = []
        for path in sorted(Path(input_dir).rglob("*")):
            rel = path.relative_to(input_dir)
            if not path.is_file() or path.suffix == ".ipynb" or self.is_ignored(rel):
                continue
            target = Path(output_dir) / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
            copied.append(rel.as_posix())
        return copied

"""generate_feedback: a plain HTML page per notebook that never leaks hidden tests.

Leaks are prevented at three places, because each can carry hidden test text:

* sources: a test cell is shown from the gradebook with ALWAYS HIDDEN regions removed
  and, unless ``show_hidden_tests``, HIDDEN regions too;
* outputs: a cell that had hidden tests shows no output at all (an assertion traceback
  quotes the failing line), only whether it passed;
* comments: automatic reasons of such cells (``AssertionError: ...``) are replaced by a
  neutral sentence; comments a grader wrote are shown.

Student code can also copy hidden tests into places that are shown: the kernel's input
history (``In``) and stack frames hold the restored tests once they ran, so a later cell
can print them, or a function can raise with them while a visible test calls it. Every
output and automatic comment is therefore scrubbed of each secret line (of at least
``min_redacted_length`` characters) before it is rendered. Text the student encodes
first (reversed, base64) cannot be recognised; that stays a limit of any grader that
runs tests in the student's kernel, nbgrader included.

Everything from the notebook is HTML-escaped; rich HTML outputs go into a sandboxed
iframe without scripts.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nbformat import NotebookNode
from traitlets import Bool, Int

from . import metadata as md
from .base import BaseConverter
from .execute import strip_ansi
from .gradebook import GRADEBOOK_FILENAME, GradeBookModel, Notebook, read_gradebook
from .regions import ALWAYS_HIDDEN_TESTS, HIDDEN_TESTS, MARK_SCHEME, region_lines, strip_region

Redact = Callable[[str], str]
REDACTED = "[hidden]"

_CSS = """
body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;
color:#222}
.cell{border-left:4px solid #ddd;margin:1rem 0;padding:.25rem .75rem}
.cell.graded{border-color:#4a7fb5}.cell.failed{border-color:#c0392b}
.cell.passed{border-color:#27ae60}
pre{background:#f6f8fa;padding:.5rem;overflow-x:auto;white-space:pre-wrap}
pre.error{background:#fdecea}.score{font-weight:bold;float:right}
.comment{background:#fff8e1;padding:.4rem;margin:.4rem 0}
iframe{width:100%;border:1px solid #ddd}.total{font-size:1.2rem}
"""


def _markdown(text: str) -> str:
    try:
        import mistune
    except ImportError:  # mistune comes with nbconvert; plain text is a fine fallback
        return f"<pre>{html.escape(text)}</pre>"
    render = mistune.create_markdown(escape=True)
    return str(render(text))


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


class GenerateFeedback(BaseConverter):
    """Render graded notebooks and their gradebook as student-facing HTML."""

    show_hidden_tests = Bool(
        False,
        help="""Show the text of HIDDEN TESTS (never ALWAYS HIDDEN TESTS) in feedback, e.g.
        after the deadline. Outputs of cells with hidden tests are shown only then.""",
    ).tag(config=True)

    min_redacted_length = Int(
        8,
        help="""Lines of hidden tests at least this long are blanked out wherever they
        appear in outputs and automatic comments. Shorter lines (``pass``, ``)``) carry no
        secret and would blank out ordinary output.""",
    ).tag(config=True)

    def redactor(self, gb_nb: Notebook) -> Redact:
        """A function removing every secret line of the notebook's tests from a text."""
        regions = [ALWAYS_HIDDEN_TESTS, MARK_SCHEME]
        if not self.show_hidden_tests:
            regions.append(HIDDEN_TESTS)
        secrets = {
            line.strip()
            for cell in gb_nb.source_cells_dict.values()
            for region in regions
            for line in region_lines(cell.source, region, delimiters=True)
        }
        # longest first, so a line containing a shorter secret line is removed whole
        ordered = sorted(
            (s for s in secrets if len(s) >= self.min_redacted_length), key=len, reverse=True
        )

        def redact(text: str) -> str:
            for secret in ordered:
                text = text.replace(secret, REDACTED)
            return text

        return redact

    def _cell_is_secret(self, gb_nb: Notebook, gid: str | None) -> bool:
        if gid is None or gid not in gb_nb.source_cells_dict:
            return False
        source = gb_nb.source_cells_dict[gid].source
        return ALWAYS_HIDDEN_TESTS.present(source) or (
            HIDDEN_TESTS.present(source) and not self.show_hidden_tests
        )

    def _visible_source(self, gb_nb: Notebook, gid: str | None, cell: NotebookNode) -> str:
        source = cell.source
        if gid in gb_nb.source_cells_dict and gid not in gb_nb.solution_cells_dict:
            source = gb_nb.source_cells_dict[gid].source  # never trust the graded copy
        source = strip_region(source, ALWAYS_HIDDEN_TESTS)
        if not self.show_hidden_tests:
            source = strip_region(source, HIDDEN_TESTS)
        return strip_region(source, MARK_SCHEME)

    def render_notebook(self, nb: NotebookNode | None, gb_nb: Notebook) -> str:
        """The feedback page of one notebook (``nb`` None: it was not submitted)."""
        parts = [
            f"<!DOCTYPE html><html><head><meta charset='utf-8'>"
            f"<title>Feedback: {html.escape(gb_nb.name)}</title><style>{_CSS}</style>"
            f"</head><body><h1>{html.escape(gb_nb.name)}</h1>",
            f"<p class='total'>Score: {_fmt(gb_nb.score)} / {_fmt(gb_nb.max_score)}</p>",
        ]
        if nb is None:
            parts.append("<p>This notebook was not submitted.</p>")
        redact = self.redactor(gb_nb)
        for cell in nb.cells if nb is not None else []:
            parts.append(self._render_cell(cell, gb_nb, redact))
        parts.append("</body></html>")
        return "\n".join(parts)

    def _render_cell(self, cell: NotebookNode, gb_nb: Notebook, redact: Redact) -> str:
        gid = md.grade_id(cell)
        secret = self._cell_is_secret(gb_nb, gid)
        grade = gb_nb.grades_dict.get(gid) if gid else None
        classes = ["cell"]
        head = ""
        if grade is not None:
            classes.append("graded")
            if grade.failed_tests:
                classes.append("failed")
            elif grade.auto_score is not None and grade.auto_score == grade.max_score:
                classes.append("passed")
            score = (
                grade.score
                if (grade.auto_score is not None or grade.manual_score is not None)
                else None
            )
            head = f"<div class='score'>{_fmt(score)} / {_fmt(grade.max_score)} point(s)</div>"
        source = self._visible_source(gb_nb, gid, cell)
        if cell.cell_type == "markdown":
            body = _markdown(source)
        else:
            body = f"<pre class='source'>{html.escape(source)}</pre>"
        if cell.cell_type == "code":
            body += self._render_outputs(cell, secret, redact)
        body += self._render_comment(gb_nb, gid, secret, redact)
        return f"<div class='{' '.join(classes)}'>{head}{body}</div>"

    def _render_outputs(self, cell: NotebookNode, secret: bool, redact: Redact) -> str:
        if secret:
            return "<p><em>Output hidden: this cell runs hidden tests.</em></p>"
        return "".join(_render_output(out, redact) for out in cell.get("outputs", []))

    def _render_comment(
        self, gb_nb: Notebook, gid: str | None, secret: bool, redact: Redact
    ) -> str:
        comment = gb_nb.comments_dict.get(gid) if gid else None
        if comment is None:
            return ""
        texts = []
        if comment.auto_comment:
            grade = gb_nb.grades_dict.get(gid or "")
            failed = grade is not None and grade.failed_tests
            texts.append(
                (
                    "Some tests in this cell failed."
                    if failed
                    else "This cell was checked by hidden tests."
                )
                if secret
                else redact(comment.auto_comment)
            )
        if comment.manual_comment:
            texts.append(comment.manual_comment)
        return "".join(f"<div class='comment'>{html.escape(t)}</div>" for t in texts)

    def convert(
        self, input_dir: str | Path, output_dir: str | Path, gradebook: GradeBookModel | None = None
    ) -> list[Path]:
        """Write ``<notebook>.html`` for each notebook of the gradebook; return the paths."""
        input_dir, output_dir = Path(input_dir), Path(output_dir)
        if gradebook is None:
            gradebook = read_gradebook(input_dir / GRADEBOOK_FILENAME)
        written = []
        for name, gb_nb in gradebook.notebooks.items():
            path = input_dir / f"{name}.ipynb"
            nb = self.read_notebook(path) if path.is_file() else None
            target = output_dir / f"{name}.html"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(self.render_notebook(nb, gb_nb), encoding="utf-8")
            written.append(target)
        return written


def _render_output(out: dict[str, Any], redact: Redact) -> str:
    kind = out.get("output_type")
    if kind == "stream":
        return f"<pre>{html.escape(redact(strip_ansi(str(out.get('text', '')))))}</pre>"
    if kind == "error":
        text = "\n".join(out.get("traceback") or []) or f"{out.get('ename')}: {out.get('evalue')}"
        return f"<pre class='error'>{html.escape(redact(strip_ansi(text)))}</pre>"
    data = out.get("data", {})
    if "image/png" in data:
        png = "".join(data["image/png"]).replace("\n", "")
        return f"<img alt='output' src='data:image/png;base64,{html.escape(png)}'>"
    if "text/html" in data:
        doc = (
            "".join(data["text/html"])
            if isinstance(data["text/html"], list)
            else str(data["text/html"])
        )
        return f'<iframe sandbox srcdoc="{html.escape(redact(doc), quote=True)}"></iframe>'
    if "text/plain" in data:
        text = (
            "".join(data["text/plain"])
            if isinstance(data["text/plain"], list)
            else str(data["text/plain"])
        )
        return f"<pre>{html.escape(redact(text))}</pre>"
    return ""

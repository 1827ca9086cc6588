"""grader-convert autograde against the bare nbclient floor, and generate_assignment.

    .venv/bin/python benchmarks/convert_autograde.py [--rounds 11]

For a 10-cell and a 40-cell assignment (a read-only intro, then per task: question,
answer, test; two tests in three carry hidden tests), in this one process:

* floor: the notebook autograde really executes (the instructor's cells with hidden
  tests, the student's answers) run by ``nbclient.NotebookClient`` in a fresh python3
  kernel, with ``allow_errors`` and an immediate kernel shutdown, as our harness does;
* autograde: ``Autograde.convert_async`` on the student's submission directory: read,
  restore from the gradebook, execute in a fresh kernel, score, write the graded
  notebook and gradebook.json;
* generate_assignment: ``GenerateAssignment.convert`` of the source directory (read,
  convert, write the release and gradebook.json).

Rounds are interleaved (every case once per round, the start case rotating), the first
round is a discarded warm-up, and each autograde/floor ratio is paired within its round;
the table gives p50s. Targets (issue 5): autograde <= 1.15 x floor, generate_assignment
of the 40-cell notebook < 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from traitlets.config import Config

from grader_service.convert import Autograde, GenerateAssignment

TARGET_RATIO = 1.15
TARGET_GENERATE_S = 0.100

# (function, solution body, a wrong body, visible test, hidden test or ""), all pure
# Python with a little real work, so execution is a fair part of each run.
TASKS = [
    (
        "squares",
        "return [i * i for i in range(1, n + 1)]",
        "return [i * i for i in range(n)]",
        "assert {f}(3) == [1, 4, 9]",
        "assert {f}(2000)[-1] == 4000000",
    ),
    (
        "fib",
        "a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a",
        "return n",
        "assert {f}(1) == 1",
        "assert {f}(300) % 1000 == 600",
    ),
    ("word_count", "return len(n.split())", "return len(n)", "assert {f}('a b c') == 3", ""),
    (
        "primes",
        "sieve = [True] * n\n    for i in range(2, int(n ** 0.5) + 1):\n"
        "        if sieve[i]:\n            sieve[i * i::i] = [False] * len(sieve[i * i::i])\n"
        "    return [i for i in range(2, n) if sieve[i]]",
        "return [i for i in range(2, n) if i % 2]",
        "assert {f}(10) == [2, 3, 5, 7]",
        "assert len({f}(200000)) == 17984",
    ),
    (
        "sort_words",
        "return sorted(n.split(), key=lambda w: (len(w), w))",
        "return n.split()",
        "assert {f}('bb a ccc') == ['a', 'bb', 'ccc']",
        "assert {f}(' '.join(str(i) for i in range(20000, 0, -1)))[0] == '1'",
    ),
    (
        "collatz",
        "steps = 0\n    while n != 1:\n        n = n // 2 if n % 2 == 0 else 3 * n + 1\n"
        "        steps += 1\n    return steps",
        "return 0",
        "assert {f}(6) == 8",
        "assert max({f}(i) for i in range(1, 20000)) == 278",
    ),
]


def meta(grade_id: str, **flags: object) -> dict[str, object]:
    """nbgrader v3 cell metadata."""
    return {
        "nbgrader": {
            "grade_id": grade_id,
            "grade": False,
            "solution": False,
            "locked": False,
            "schema_version": 3,
            **flags,
        }
    }


def source_notebook(cells: int) -> tuple[NotebookNode, dict[str, str]]:
    """The instructor's notebook of ``cells`` cells, and a partly wrong student's answers."""
    tasks = (cells - 1) // 3
    nb = new_notebook(
        cells=[
            new_markdown_cell(
                "# Problem set\nAnswer every question.", metadata=meta("intro", locked=True)
            )
        ]
    )
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    answers = {}
    for i in range(tasks):
        name, solution, wrong, visible, hidden = TASKS[i % len(TASKS)]
        f = f"{name}_{i}"
        nb.cells.append(new_markdown_cell(f"## Task {i + 1}\nWrite `{f}(n)`."))
        nb.cells.append(
            new_code_cell(
                f"def {f}(n):\n    ### BEGIN SOLUTION\n    {solution}\n    ### END SOLUTION\n",
                metadata=meta(f"answer_{i}", solution=True),
            )
        )
        test = visible.format(f=f) + "\n"
        if hidden:
            test += f"### BEGIN HIDDEN TESTS\n{hidden.format(f=f)}\n### END HIDDEN TESTS\n"
        nb.cells.append(
            new_code_cell(test, metadata=meta(f"test_{i}", grade=True, locked=True, points=2))
        )
        # every third answer is wrong
        answers[f"answer_{i}"] = f"def {f}(n):\n    {wrong if i % 3 == 2 else solution}\n"
    assert len(nb.cells) == cells
    return nb, answers


def fill(nb: NotebookNode, answers: dict[str, str]) -> NotebookNode:
    """``nb`` with the answer cells replaced."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in answers:
            cell.source = answers[gid]
    return nb


class Assignment:
    """One assignment's source, release, submission and floor notebook on disk."""

    def __init__(self, root: Path, cells: int) -> None:
        self.root, self.cells, self.runs = root, cells, 0
        source, answers = source_notebook(cells)
        self.source_dir = root / "source"
        self.source_dir.mkdir(parents=True)
        nbformat.write(source, self.source_dir / "ps.ipynb")
        gb = GenerateAssignment().convert(self.source_dir, root / "release")
        self.max_score = gb.max_score
        release = nbformat.read(root / "release" / "ps.ipynb", as_version=4)
        self.submission_dir = root / "submission"
        self.submission_dir.mkdir()
        nbformat.write(fill(release, answers), self.submission_dir / "ps.ipynb")
        # what autograde executes: the instructor's tests (hidden ones too), student answers
        self.floor_nb = fill(source, answers)
        self.expected_score = 2.0 * sum(1 for i in range((cells - 1) // 3) if i % 3 != 2)

    async def floor(self) -> None:
        """Execute the notebook with nbclient in a fresh kernel."""
        client = NotebookClient(
            copy.deepcopy(self.floor_nb),
            kernel_name="python3",
            allow_errors=True,
            timeout=60,
            shutdown_kernel="immediate",
            resources={"metadata": {"path": str(self.submission_dir)}},
        )
        await client.async_execute()

    async def autograde(self) -> None:
        """Autograde the submission into a fresh output directory."""
        self.runs += 1
        out = self.root / f"autograded{self.runs}"
        out.mkdir()
        shutil.copy(self.root / "release" / "gradebook.json", out)
        config = Config()
        config.Application.log_level = "WARN"
        result = await Autograde(config=config).convert_async(self.submission_dir, out)
        if result.score != self.expected_score:
            raise SystemExit(
                f"{self.cells}-cell autograde scored {result.score}, expected {self.expected_score}"
            )

    async def generate(self) -> None:
        """Release the source notebook into a fresh directory."""
        self.runs += 1
        GenerateAssignment().convert(self.source_dir, self.root / f"release{self.runs}")


async def timed(fn: Callable[[], Awaitable[None]]) -> float:
    """Seconds one call takes."""
    started = time.perf_counter()
    await fn()
    return time.perf_counter() - started


async def main(rounds: int) -> None:
    """Run the interleaved rounds and print the table."""
    with tempfile.TemporaryDirectory(prefix="bench-convert-") as tmp:
        sizes = {n: Assignment(Path(tmp) / f"ps{n}", n) for n in (10, 40)}
        cases: dict[str, Callable[[], Awaitable[None]]] = {}
        for n, a in sizes.items():
            cases[f"floor-{n}"] = a.floor
            cases[f"autograde-{n}"] = a.autograde
            cases[f"generate-{n}"] = a.generate
        names = list(cases)
        times: dict[str, list[float]] = {name: [] for name in names}
        for r in range(rounds + 1):
            order = names[r % len(names) :] + names[: r % len(names)]
            for name in order:
                seconds = await timed(cases[name])
                if r > 0:  # round 0 warms caches and imports
                    times[name].append(seconds)
            print(f"round {r}/{rounds}{' (warm-up)' if r == 0 else ''}", file=sys.stderr)
    p50 = {name: statistics.median(ts) for name, ts in times.items()}
    print(f"\nconvert_autograde: {rounds} interleaved rounds (+1 warm-up), p50 seconds")
    print(f"{'assignment':<12}{'floor (nbclient)':>18}{'autograde':>12}{'ratio':>9}{'target':>10}")
    for n in sizes:
        ratios = [a / f for a, f in zip(times[f"autograde-{n}"], times[f"floor-{n}"], strict=True)]
        ratio = statistics.median(ratios)
        verdict = "ok" if ratio <= TARGET_RATIO else "MISSED"
        print(
            f"{f'{n} cells':<12}{p50[f'floor-{n}']:>18.3f}{p50[f'autograde-{n}']:>12.3f}"
            f"{ratio:>8.2f}x{f'<= {TARGET_RATIO}x':>10}  {verdict}  "
            f"(per-round ratios {min(ratios):.2f}-{max(ratios):.2f})"
        )
    for n in sizes:
        gen = p50[f"generate-{n}"]
        verdict = "ok" if gen < TARGET_GENERATE_S else "MISSED"
        target = f"  target < {TARGET_GENERATE_S * 1000:.0f} ms  {verdict}" if n == 40 else ""
        print(
            f"generate_assignment, {n} cells: {gen * 1000:.1f} ms "
            f"(max {max(times[f'generate-{n}']) * 1000:.1f} ms){target}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=11, help="timed rounds (default 11)")
    asyncio.run(main(parser.parse_args().rounds))

"""A throw-away virtualenv with nbgrader, the reference implementation, for cross-checks.

nbgrader pulls in JupyterLab, notebook and jupyter_server, which grader-service does not
need, so it never goes into the project's venv: the cross-check builds its own venv
(default ``.cache/nbgrader-venv``, or ``$GRADER_NBGRADER_VENV``) once, pinned exactly by
``requirements/constraints.txt`` (the notebook stack we use) plus
``nbgrader-constraints.txt`` (nbgrader and its extra dependencies), and reuses it while
those pins are unchanged. It is driven only through a subprocess running
``nbgrader_driver.py`` with nbgrader's Python API.

nbgrader's side of the cross-check needs nothing of ours, and importing nbgrader alone
takes seconds, so :class:`NbgraderRun` does all of it (venv, release, autograde) in a
background thread that the test session starts early; the cross-check tests then only
wait for its result.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from nbformat import NotebookNode

from .notebooks import read, write

NBGRADER_VERSION = "0.9.6"
ROOT = Path(__file__).resolve().parents[2]
CONSTRAINTS = [
    ROOT / "requirements" / "constraints.txt",
    Path(__file__).with_name("nbgrader-constraints.txt"),
]
INSTALL_TIMEOUT = 900


def venv_dir() -> Path:
    """Where the nbgrader venv lives."""
    return Path(os.environ.get("GRADER_NBGRADER_VENV") or ROOT / ".cache" / "nbgrader-venv")


def _stamp() -> str:
    digest = hashlib.sha256()
    for path in CONSTRAINTS:
        digest.update(path.read_bytes())
    return f"nbgrader=={NBGRADER_VERSION} {sys.version_info[:2]} {digest.hexdigest()}"


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)  # parallel test runs build the venv once
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def ensure_nbgrader_venv() -> Path:
    """The venv's directory, building it first if missing or outdated; raises on failure."""
    target = venv_dir()
    stamp_file = target / ".grader-service-stamp"
    with _locked(target.with_name(target.name + ".lock")):
        if (
            stamp_file.is_file()
            and stamp_file.read_text() == _stamp()
            and (target / "bin" / "nbgrader").exists()
        ):
            return target
        shutil.rmtree(target, ignore_errors=True)
        # the base interpreter: a venv made from inside a venv would point at it anyway
        base = getattr(sys, "_base_executable", sys.executable)
        steps = [
            [base, "-m", "venv", str(target)],
            [
                str(target / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                f"nbgrader=={NBGRADER_VERSION}",
                *(arg for path in CONSTRAINTS for arg in ("-c", str(path))),
            ],
        ]
        for cmd in steps:
            proc = subprocess.run(
                cmd,
                capture_output=True,
                text=True,
                timeout=INSTALL_TIMEOUT,
                env=_clean_env(),
                check=False,
            )
            if proc.returncode != 0:
                shutil.rmtree(target, ignore_errors=True)
                raise RuntimeError(
                    f"building the nbgrader venv failed: {' '.join(cmd)}\n"
                    f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
                )
        stamp_file.write_text(_stamp())
    return target


def _clean_env(venv: Path | None = None) -> dict[str, str]:
    """The environment without our venv, with ``venv``'s bin first on PATH."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in (
            "VIRTUAL_ENV",
            "PYTHONPATH",
            "PYTHONHOME",
            "JUPYTER_PATH",
            "JUPYTER_CONFIG_DIR",
            "JUPYTER_DATA_DIR",
        )
    }
    ours = str(Path(sys.executable).parent)
    path = [p for p in env.get("PATH", "").split(os.pathsep) if p and p != ours]
    if venv is not None:
        # nbgrader shells out to `alembic`, so its bin/ must come first
        path.insert(0, str(venv / "bin"))
        env["VIRTUAL_ENV"] = str(venv)
    env["PATH"] = os.pathsep.join(path)
    return env


Scores = dict[str, dict[str, dict[str, float | None]]]


class NbgraderDriver:
    """nbgrader in one process (nbgrader_driver.py): release first, autograde when told."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    @classmethod
    async def release(
        cls, venv: Path, course: Path, assignment: str, timeout: float = 300
    ) -> NbgraderDriver:
        """Start nbgrader and return once ``release/ASSIGNMENT`` is written."""
        proc = await asyncio.create_subprocess_exec(
            str(venv / "bin" / "python"),
            str(Path(__file__).with_name("nbgrader_driver.py")),
            str(course),
            assignment,
            cwd=course,
            env=_clean_env(venv),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        driver = cls(proc)
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), timeout)
        if line.strip() != b"released":
            await driver._fail("generate_assignment", line)
        return driver

    async def autograde(self, timeout: float = 600) -> Scores:
        """Autograde every submitted student; student -> notebook -> grade_id -> score."""
        out, err = await asyncio.wait_for(self.proc.communicate(b"go\n"), timeout)
        if self.proc.returncode != 0:
            raise RuntimeError(
                f"nbgrader autograde failed:\n{out.decode()[-4000:]}\n{err.decode()[-8000:]}"
            )
        scores: Scores = json.loads(out.decode().strip().splitlines()[-1])
        return scores

    async def _fail(self, step: str, first_line: bytes) -> None:
        out, err = await self.proc.communicate(b"")
        raise RuntimeError(
            f"nbgrader {step} failed:\n{(first_line + out).decode()[-4000:]}\n"
            f"{err.decode()[-8000:]}"
        )


class NbgraderRun:
    """nbgrader's whole side of a cross-check, in a background thread."""

    def __init__(
        self,
        course: Path,
        assignment: str,
        source: NotebookNode,
        make_submissions: Callable[[NotebookNode], dict[str, NotebookNode]],
    ) -> None:
        self.course, self.assignment = course, assignment
        self.source, self.make_submissions = source, make_submissions
        self.release: NotebookNode | None = None
        self.scores: Scores | None = None
        self.error: BaseException | None = None
        self._pid: int | None = None
        self._stopped = False
        self._thread = threading.Thread(target=self._main, name="nbgrader", daemon=True)

    def start(self) -> NbgraderRun:
        """Begin in the background."""
        self._thread.start()
        return self

    def wait(self, timeout: float = 1800) -> tuple[NotebookNode, Scores]:
        """nbgrader's release and its scores (student -> notebook -> grade_id -> score)."""
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError(f"nbgrader did not finish within {timeout:g} s")
        if self.error is not None:
            raise RuntimeError(f"nbgrader's side failed: {self.error}") from self.error
        assert self.release is not None and self.scores is not None
        return self.release, self.scores

    def stop(self) -> None:
        """Kill nbgrader if it still runs (the session ended early)."""
        self._stopped = True
        if self._pid is not None and self._thread.is_alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._pid, signal.SIGKILL)
        self._thread.join(10)

    def _main(self) -> None:
        try:
            asyncio.run(self._run(ensure_nbgrader_venv()))
        except BaseException as err:  # reported by wait()
            self.error = err

    async def _run(self, venv: Path) -> None:
        if self._stopped:
            return
        notebook = f"{self.assignment}.ipynb"
        write(self.source, self.course / "source" / self.assignment / notebook)
        driver = await NbgraderDriver.release(venv, self.course, self.assignment)
        self._pid = driver.proc.pid
        self.release = read(self.course / "release" / self.assignment / notebook)
        for student, nb in self.make_submissions(self.release).items():
            write(nb, self.course / "submitted" / student / self.assignment / notebook)
        self.scores = await driver.autograde()

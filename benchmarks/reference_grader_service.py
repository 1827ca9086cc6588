"""Grade submissions with TU Wien's Grader Service 0.12.5, through its own local process executor.

This is the reference side of our grading benchmark. It installs ``grader-service==0.12.5``
from PyPI into its own virtual environment and grades the caller's submissions with THEIR
code, as a Celery worker of theirs would. Import it from a benchmark, or run it alone:

    python3 benchmarks/reference_grader_service.py --submissions 50 --concurrency 2

API: :func:`ensure_reference_venv` (the venv, idempotent) and :func:`run_reference` (one
batch, returns a :class:`ReferenceResult`).

How it runs
-----------
Their package and ours are both called ``grader_service``, so theirs is never imported into
the caller's process. :func:`run_reference` copies this file into the work directory and runs
it with the reference venv's python (``driver.py --driver config.json``). Only the driver
imports their package; the top level of this module imports the standard library alone. The
driver prints one JSON line on stdout, and :func:`run_reference` parses it.

What of their path is included (per submission, inside the timed part)
-----------------------------------------------------------------------
The driver does what their ``autograde_task`` Celery task does
(``grader_service/autograding/celery/tasks.py``): it opens a SQLAlchemy session, loads the
``Submission``, checks that its assignment and lecture match, builds THEIR
``grader_service.autograding.local_grader.LocalAutogradeProcessExecutor(grader_service_dir,
submission, config=...)`` and calls ``start()``. Their ``start()`` then does everything, all
of it timed per submission:

1. It cleans ``convert_in/submission_{id}`` and ``convert_out/submission_{id}``.
2. Their ``GitSubmissionManager.pull_submission`` runs ``git init``, then
   ``git pull <bare user repo> main``, then ``git checkout <commit_hash>``.
3. It writes ``gradebook.json`` from ``assignment.properties``.
4. It runs ``grader-convert autograde -i IN -o OUT -p *.ipynb
   --ExecutePreprocessor.timeout=N`` as a subprocess. That is a fresh interpreter with their
   import cost, a fresh ``python3`` kernel (ipykernel) and nbconvert's ExecutePreprocessor.
5. It commits the whitelisted outputs to branch ``submission_{hash}`` and does
   ``git push -uf`` to the bare repo ``git/{code}/{aid}/autograde/user/{username}``.
6. It writes ``submission_properties``, ``grading_score`` and ``score``, sets
   ``auto_status = automatically_graded``, and upserts ``submission_logs`` (SQLite).

Concurrency: ``concurrency`` worker threads pull jobs off one queue, so at most that many
submissions are graded at once. This is the share of the work that
``celery worker --concurrency=N`` (prefork) would do. The heavy part of every job is its
``grader-convert`` subprocess, so threads rather than processes barely change the timing.

What is not included
--------------------
* Celery and RabbitMQ. Their worker needs a broker (amqp by default). The executor is called
  directly, as their task body does, so broker round trips and task (de)serialisation are
  left out: a few ms per job.
* The HTTP side: ``POST .../submissions`` and the student's ``git push`` through their git
  server and pre-receive hook. Setup creates the same state directly, and none of it is
  timed: their schema comes from their alembic migrations (``grader_service/migrate``). The
  rows for lecture, assignment, users, roles and submissions go in through their ORM, with
  ``submission_properties`` from their ``SubmissionHandler.create_properties``. Each student
  gets a bare user repo holding an "Initialize with Release" commit followed by the
  student's commit.
* The assignment's gradebook is made with THEIR ``grader-convert generate_assignment`` on
  ``source_notebook``, as the labextension does on release. This happens during setup and is
  not timed.

One shim: on Python < 3.12 the driver replaces their SQLite ``connect`` hook
(``grader_service/orm/base.py::set_sqlite_pragma``). The original uses
``sqlite3.Connection.autocommit``, which only exists on 3.12+, and without the shim every
connection fails with ``AttributeError``. The replacement has the same effect: it runs
``PRAGMA foreign_keys=ON`` on each new connection. Nothing else of theirs is patched.

The venv
--------
``pip install -c benchmarks/reference-grader-service-constraints.txt grader-service==0.12.5
ipykernel==7.4.0``. The constraints file holds the full pinned set, resolved on CPython
3.11.7. ipykernel is needed because grader-service does not depend on it, and without it
``grader-convert autograde`` finds no ``python3`` kernel. The venv goes in
``<cache_dir>/grader-service-0.12.5-venv``, and a marker file makes the step idempotent.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REFERENCE_VERSION = "0.12.5"
REFERENCE_REQUIREMENT = f"grader-service=={REFERENCE_VERSION}"
# grader-service does not depend on ipykernel, but grader-convert needs a python3 kernel.
EXTRA_REQUIREMENTS: tuple[str, ...] = ("ipykernel==7.4.0",)
CONSTRAINTS_FILE = Path(__file__).resolve().with_name("reference-grader-service-constraints.txt")
VENV_DIRNAME = f"grader-service-{REFERENCE_VERSION}-venv"
MARKER_NAME = ".reference-venv-ok.json"
RESULT_PREFIX = "REFERENCE_RESULT_JSON "
DEFAULT_CACHE_DIR = Path(__file__).resolve().parent.parent / ".cache"

__all__ = [
    "REFERENCE_VERSION",
    "ReferenceResult",
    "ReferenceSetupError",
    "ensure_reference_venv",
    "make_demo_assignment",
    "run_reference",
]


class ReferenceSetupError(RuntimeError):
    """Setting up or running the Grader Service reference failed."""


@dataclass
class ReferenceResult:
    """One batch graded by Grader Service's ``LocalAutogradeProcessExecutor``.

    Lists are in the order of the ``submissions`` given to :func:`run_reference`.
    """

    version: str
    """``grader-service`` version that actually ran (from the reference venv's metadata)."""
    python: str
    """Python version of the reference venv."""
    concurrency: int
    wall_s: float
    """Wall time from the first job's start to the last job's end (setup excluded)."""
    durations_s: list[float]
    """Per submission: the time spent in their ``executor.start()``."""
    scores: list[float | None]
    """Per submission: ``submission.grading_score`` written by their executor."""
    auto_statuses: list[str]
    """Per submission: ``submission.auto_status`` after grading (``automatically_graded``)."""
    pushed: list[bool]
    """Per submission: branch ``submission_{hash}`` exists in their autograde bare repo."""
    max_score: float
    """Total points of the assignment, according to their gradebook."""
    setup_s: float
    """Driver setup (migrations, generate_assignment, ORM rows, git repos); not in wall_s."""
    logs: list[str] = field(default_factory=list)
    """Per submission: ``submission_logs`` (grader-convert stderr), only kept on failure."""

    @property
    def p50_s(self) -> float:
        """Median per-submission duration."""
        return statistics.median(self.durations_s) if self.durations_s else float("nan")

    @property
    def failed(self) -> list[int]:
        """Indices of submissions that their executor did not grade successfully."""
        return [i for i, s in enumerate(self.auto_statuses) if s != "automatically_graded"]


# --------------------------------------------------------------------------------------
# Caller side: venv and batch runner (standard library only)
# --------------------------------------------------------------------------------------


def _venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def _marker_payload(python: str) -> dict[str, Any]:
    constraints = CONSTRAINTS_FILE.read_bytes() if CONSTRAINTS_FILE.exists() else b""
    return {
        "requirement": REFERENCE_REQUIREMENT,
        "extra": list(EXTRA_REQUIREMENTS),
        "constraints_sha256": hashlib.sha256(constraints).hexdigest(),
        "base_python": python,
    }


def _pip_failure_message(output: str) -> str:
    tail = "\n".join(output.strip().splitlines()[-25:])
    hints = (
        "Max retries exceeded",
        "Could not fetch URL",
        "NewConnectionError",
        "Temporary failure in name resolution",
        "ConnectTimeout",
        "ReadTimeout",
        "No matching distribution found",
        "Network is unreachable",
        "ProxyError",
    )
    reason = (
        "PyPI looks unreachable (or does not serve these versions)"
        if any(h in output for h in hints)
        else "pip failed"
    )
    return (
        f"Could not install {REFERENCE_REQUIREMENT} ({', '.join(EXTRA_REQUIREMENTS)}) into the "
        f"reference venv: {reason}. The benchmark needs PyPI (or a mirror configured for pip, "
        f"e.g. PIP_INDEX_URL) to build it once; afterwards it is reused from the cache.\n"
        f"Last pip output:\n{tail}"
    )


def ensure_reference_venv(cache_dir: Path, python: str | None = None) -> Path:
    """Create (once) the venv with ``grader-service==0.12.5`` and return its python.

    The venv is ``<cache_dir>/grader-service-0.12.5-venv``. A marker file written after a
    successful install and smoke test makes this idempotent. If the requirement, the
    constraints file or the base interpreter change, the marker no longer matches and the
    venv is rebuilt.

    :param cache_dir: Directory for the venv, e.g. ``<repo>/.cache``.
    :param python: Base interpreter for the venv (default: the base interpreter of the one
        running this code, so our ``.venv`` and a bare ``python3`` share one venv).
    :raises ReferenceSetupError: if pip cannot install the packages (PyPI unreachable, ...) or
        the installed package does not run.
    """
    # The base interpreter, not a venv's python: the caller may be our .venv or a bare python3.
    base_python = python or getattr(sys, "_base_executable", "") or sys.executable
    venv = Path(cache_dir).resolve() / VENV_DIRNAME
    marker = venv / MARKER_NAME
    want = _marker_payload(str(Path(base_python).resolve()))
    if marker.exists() and _venv_python(venv).exists():
        with contextlib.suppress(ValueError, OSError):
            have = json.loads(marker.read_text())
            if all(have.get(k) == v for k, v in want.items()):
                return _venv_python(venv)
    if not CONSTRAINTS_FILE.exists():
        raise ReferenceSetupError(f"Missing pinned constraints file {CONSTRAINTS_FILE}")

    t0 = time.perf_counter()
    if venv.exists():
        shutil.rmtree(venv)
    venv.parent.mkdir(parents=True, exist_ok=True)
    print(f"[reference] creating {venv} ...", file=sys.stderr, flush=True)
    proc = subprocess.run(
        [base_python, "-m", "venv", str(venv)], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise ReferenceSetupError(f"python -m venv {venv} failed:\n{proc.stderr}")
    pip_cmd = [
        str(_venv_python(venv)),
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "--no-input",
        "-c",
        str(CONSTRAINTS_FILE),
        REFERENCE_REQUIREMENT,
        *EXTRA_REQUIREMENTS,
    ]
    print(f"[reference] {' '.join(pip_cmd[1:])}", file=sys.stderr, flush=True)
    proc = subprocess.run(pip_cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise ReferenceSetupError(_pip_failure_message(proc.stdout + proc.stderr))
    # Smoke test: their package imports, is the right version, and a python3 kernel exists.
    check = (
        "import importlib.metadata as m, jupyter_client.kernelspec as k;"
        "import grader_service.autograding.local_grader;"
        "print(m.version('grader-service'));"
        "print(k.KernelSpecManager().get_kernel_spec('python3').argv[0])"
    )
    # -I: isolated mode, so a ``grader_service`` in the cwd (ours!) cannot shadow theirs.
    proc = subprocess.run(
        [str(_venv_python(venv)), "-I", "-c", check],
        capture_output=True,
        text=True,
        cwd=venv,
        check=False,
    )
    if proc.returncode != 0 or not proc.stdout.startswith(REFERENCE_VERSION):
        raise ReferenceSetupError(
            f"The reference venv {venv} was installed but does not work:\n"
            f"{proc.stdout}\n{proc.stderr[-3000:]}"
        )
    elapsed = time.perf_counter() - t0
    marker.write_text(json.dumps({**want, "created_in_s": round(elapsed, 1)}, indent=1))
    print(f"[reference] venv ready in {elapsed:.1f} s", file=sys.stderr, flush=True)
    return _venv_python(venv)


def _driver_env(venv_python: Path, workdir: Path) -> dict[str, str]:
    """Environment for the driver: the venv's bin first, private git config, no PYTHONPATH."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "JUPYTER_PATH"}
    }
    # venv_python may be a symlink to the base interpreter: keep the venv's own bin dir.
    bin_dir = str(Path(venv_python).absolute().parent)
    env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
    env["VIRTUAL_ENV"] = str(Path(bin_dir).parent)
    gitconfig = workdir / "gitconfig"
    gitconfig.write_text(
        "[user]\n\tname = Grader Service Reference\n\temail = reference@localhost\n"
        "[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n"
    )
    env["GIT_CONFIG_GLOBAL"] = str(gitconfig)
    env["GIT_CONFIG_NOSYSTEM"] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def run_reference(
    source_notebook: Path,
    submissions: list[Path],
    concurrency: int,
    workdir: Path,
    cell_timeout: int = 60,
    *,
    venv_python: Path | None = None,
    cache_dir: Path | None = None,
) -> ReferenceResult:
    """Grade ``submissions`` with Grader Service 0.12.5's ``LocalAutogradeProcessExecutor``.

    :param source_notebook: Instructor notebook in nbgrader format (schema 3). Their
        ``grader-convert generate_assignment`` turns it into the assignment's gradebook.
    :param submissions: One directory per student, each holding the student's notebook(s)
        under the same file name as ``source_notebook``.
    :param concurrency: How many submissions are graded at once (like Celery worker
        concurrency).
    :param workdir: Scratch directory: service dir, git repos, SQLite DB and logs go into
        ``<workdir>/grader-service-ref`` (wiped first).
    :param cell_timeout: The assignment's ``cell_timeout`` setting (their executor clamps it
        to [10, 86400] s and passes it as ``--ExecutePreprocessor.timeout``).
    :param venv_python: The reference venv's python (default: :func:`ensure_reference_venv`
        on ``cache_dir``).
    :param cache_dir: Where the venv lives (default: ``<repo>/.cache``).
    :raises ReferenceSetupError: if setup fails or the driver crashes. A submission that their
        executor fails to grade does not raise: see :attr:`ReferenceResult.failed`.
    """
    if concurrency < 1:
        raise ValueError("concurrency must be >= 1")
    source_notebook = Path(source_notebook).resolve()
    if not source_notebook.is_file():
        raise ReferenceSetupError(f"source notebook {source_notebook} does not exist")
    subs = [Path(s).resolve() for s in submissions]
    for s in subs:
        if not s.is_dir():
            raise ReferenceSetupError(f"submission {s} is not a directory")
    if venv_python is None:
        venv_python = ensure_reference_venv(cache_dir or DEFAULT_CACHE_DIR)

    root = Path(workdir).resolve() / "grader-service-ref"
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    driver = root / "driver.py"
    shutil.copyfile(Path(__file__).resolve(), driver)
    config = {
        "root": str(root),
        "source_notebook": str(source_notebook),
        "submissions": [str(s) for s in subs],
        "concurrency": concurrency,
        "cell_timeout": cell_timeout,
    }
    config_path = root / "config.json"
    config_path.write_text(json.dumps(config, indent=1))
    log_path = root / "driver.log"
    with log_path.open("w") as log:
        proc = subprocess.run(
            [str(venv_python), "-I", str(driver), "--driver", str(config_path)],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            cwd=root,
            env=_driver_env(venv_python, root),
            check=False,
        )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(RESULT_PREFIX)]
    if proc.returncode != 0 or not lines:
        tail = "\n".join(log_path.read_text().splitlines()[-40:])
        raise ReferenceSetupError(
            f"The Grader Service {REFERENCE_VERSION} driver failed (exit {proc.returncode}); "
            f"full log: {log_path}\n{tail}"
        )
    data = json.loads(lines[-1][len(RESULT_PREFIX) :])
    return ReferenceResult(**data)


# --------------------------------------------------------------------------------------
# Driver side: runs under the reference venv's python and imports THEIR grader_service
# --------------------------------------------------------------------------------------


def _log(msg: str) -> None:
    print(f"[driver] {msg}", file=sys.stderr, flush=True)


def _git(args: list[str], cwd: Path) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise ReferenceSetupError(f"git {' '.join(args)} in {cwd} failed: {proc.stderr.strip()}")
    return proc.stdout.strip()


def _shim_sqlite_hook_for_py311() -> None:
    """Replace their SQLite FK hook, which needs ``sqlite3.Connection.autocommit`` (3.12+)."""
    if sys.version_info >= (3, 12):
        return
    import sqlite3

    from sqlalchemy import Engine, event

    from grader_service.orm import base

    if event.contains(Engine, "connect", base.set_sqlite_pragma):
        event.remove(Engine, "connect", base.set_sqlite_pragma)

    @event.listens_for(Engine, "connect")
    def _set_sqlite_pragma_py311(dbapi_connection: Any, connection_record: Any) -> None:
        if isinstance(dbapi_connection, sqlite3.Connection):
            # Outside a transaction, a PRAGMA runs at once in the 3.11 sqlite3 module too.
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()


def _driver_main(config_path: Path) -> int:
    """Set up their service state, grade every submission, print the JSON result."""
    import importlib.metadata
    import logging
    import queue
    import threading
    from datetime import UTC, datetime

    cfg = json.loads(config_path.read_text())
    root = Path(cfg["root"])
    logging.basicConfig(
        stream=sys.stderr, level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s"
    )
    import grader_service

    version = importlib.metadata.version("grader-service")
    pkg_dir = Path(grader_service.__file__).resolve().parent
    if version != REFERENCE_VERSION or Path(sys.prefix).resolve() not in pkg_dir.parents:
        raise ReferenceSetupError(
            f"driver imported grader_service {version} from {pkg_dir}, expected "
            f"{REFERENCE_VERSION} inside {sys.prefix}"
        )
    convert_exe = shutil.which("grader-convert")
    if convert_exe is None or Path(sys.prefix).resolve() not in Path(convert_exe).resolve().parents:
        raise ReferenceSetupError(
            f"grader-convert on PATH is {convert_exe}, not the reference venv's"
        )
    t_setup = time.perf_counter()
    _shim_sqlite_hook_for_py311()

    import alembic.config
    import grader_service.migrate as migrate_pkg
    from grader_service.api.models.assignment_settings import AssignmentSettings
    from grader_service.autograding.local_grader import LocalAutogradeProcessExecutor
    from grader_service.convert.gradebook.models import GradeBookModel
    from grader_service.orm.takepart import Scope
    from sqlalchemy import create_engine
    from sqlalchemy.orm import sessionmaker
    from traitlets.config import Config

    from grader_service.handlers.submissions import SubmissionHandler
    from grader_service.orm import Assignment, Lecture, Role, Submission, User
    from grader_service.orm.base import DeleteState
    from grader_service.orm.lecture import LectureState
    from grader_service.orm.submission import AutoStatus, FeedbackStatus, ManualStatus

    service_dir = root / "service"
    service_dir.mkdir()
    db_url = f"sqlite:///{service_dir / 'grader.db'}"

    # 1. Their schema, through their alembic migrations (what grader-service-migrate runs).
    os.environ["GRADER_DB_URL"] = db_url
    ini = Path(migrate_pkg.__file__).resolve().parent / "alembic.ini"
    alembic.config.main(argv=["-c", str(ini), "upgrade", "head"])
    logging.getLogger().setLevel(logging.WARNING)
    engine = create_engine(db_url)
    session_factory = sessionmaker(bind=engine)

    # 2. Their gradebook, through their CLI (what the labextension's release step runs).
    source_nb = Path(cfg["source_notebook"])
    nb_name = source_nb.name
    aname = "ps1"
    source_dir = root / "source" / aname
    release_dir = root / "release" / aname
    source_dir.mkdir(parents=True)
    release_dir.mkdir(parents=True)
    shutil.copyfile(source_nb, source_dir / nb_name)
    proc = subprocess.run(
        [
            "grader-convert",
            "generate_assignment",
            *("-i", str(source_dir), "-o", str(release_dir), "-p", "*.ipynb"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    gradebook_path = release_dir / "gradebook.json"
    if proc.returncode != 0 or not gradebook_path.exists():
        raise ReferenceSetupError(f"grader-convert generate_assignment failed:\n{proc.stderr}")
    gradebook = gradebook_path.read_text()
    max_score = float(GradeBookModel.from_dict(json.loads(gradebook)).max_score)

    # 3. ORM rows: lecture, released assignment with the gradebook, users, roles.
    session = session_factory()
    lecture = Lecture(
        name="Benchmark", code="bench", state=LectureState.active, deleted=DeleteState.active
    )
    session.add(lecture)
    session.flush()
    assignment = Assignment(
        name=aname,
        lectid=lecture.id,
        status="released",
        deleted=DeleteState.active,
        properties=gradebook,
        points=max_score,
    )
    assignment.settings = AssignmentSettings(
        autograde_type="auto", max_submissions=None, cell_timeout=int(cfg["cell_timeout"])
    )
    session.add(assignment)
    session.flush()

    # 4. Per student: bare user repo (as their git server lays it out) with the release
    #    commit and the student's commit, a user + role, a submission + its properties.
    sub_ids: list[int] = []
    hashes: list[str] = []
    usernames: list[str] = []
    clones = root / "clones"
    for i, sub_dir in enumerate(cfg["submissions"]):
        username = f"student{i + 1:03d}"
        user = User(name=username, display_name=f"Student {i + 1}")
        session.add(user)
        session.flush()
        session.add(Role(user_id=user.id, lectid=lecture.id, role=Scope.student))
        bare = service_dir / "git" / lecture.code / str(assignment.id) / "user" / username
        bare.mkdir(parents=True)
        _git(["init", "--bare", "-b", "main", str(bare)], service_dir)
        clone = clones / username
        clone.mkdir(parents=True)
        _git(["init", "-b", "main"], clone)
        for f in release_dir.iterdir():
            if f.is_file() and f.name != "gradebook.json":
                shutil.copyfile(f, clone / f.name)
        _git(["add", "-A"], clone)
        _git(["commit", "-q", "-m", "Initialize with Release"], clone)
        for f in Path(sub_dir).iterdir():
            if f.is_file():
                shutil.copyfile(f, clone / f.name)
        _git(["add", "-A"], clone)
        _git(["commit", "-q", "--allow-empty", "-m", "Submit Assignment"], clone)
        _git(["push", "-q", str(bare), "main"], clone)
        commit_hash = _git(["rev-parse", "HEAD"], clone)

        submission = Submission(
            assignid=assignment.id,
            user_id=user.id,
            date=datetime.now(UTC),
            commit_hash=commit_hash,
            auto_status=AutoStatus.NOT_GRADED,
            manual_status=ManualStatus.NOT_GRADED,
            feedback_status=FeedbackStatus.NOT_GENERATED,
            edited=False,
            grading_score=0,
            score_scaling=1.0,
        )
        session.add(submission)
        session.flush()
        session.add(SubmissionHandler.create_properties(json.loads(gradebook), submission.id))
        submission.auto_status = AutoStatus.PENDING  # as the handler does before queueing
        sub_ids.append(submission.id)
        hashes.append(commit_hash)
        usernames.append(username)
    session.commit()
    lecture_id, assignment_id, code = lecture.id, assignment.id, lecture.code
    session.close()
    shutil.rmtree(clones)
    setup_s = time.perf_counter() - t_setup
    _log(f"setup done in {setup_s:.1f} s; grading {len(sub_ids)} submissions")

    # 5. Grade: `concurrency` workers run what their autograde_task does, per submission.
    executor_config = Config()
    durations: dict[int, float] = {}
    errors: list[str] = []
    jobs: queue.Queue[int] = queue.Queue()
    for sid in sub_ids:
        jobs.put(sid)

    def autograde(sid: int) -> None:
        task_session = session_factory()
        submission = task_session.get(Submission, sid)
        if submission is None:
            raise ValueError("Submission not found")
        if submission.assignment.id != assignment_id or (
            submission.assignment.lecture.id != lecture_id
        ):
            raise ValueError(f"invalid submission {submission.id}")
        executor = LocalAutogradeProcessExecutor(
            str(service_dir), submission, config=executor_config
        )
        executor.start()  # closes task_session (close_session=True)

    def worker() -> None:
        while True:
            try:
                sid = jobs.get_nowait()
            except queue.Empty:
                return
            t0 = time.perf_counter()
            try:
                autograde(sid)
            except Exception as exc:  # their start() catches grading errors itself
                errors.append(f"submission {sid}: {exc!r}")
            durations[sid] = time.perf_counter() - t0

    threads = [
        threading.Thread(target=worker, name=f"worker-{n}")
        for n in range(min(cfg["concurrency"], len(sub_ids)))
    ]
    t_wall = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall_s = time.perf_counter() - t_wall
    if errors:
        raise ReferenceSetupError("driver errors:\n" + "\n".join(errors))

    # 6. Read back what their executor wrote.
    session = session_factory()
    scores: list[float | None] = []
    statuses: list[str] = []
    pushed: list[bool] = []
    logs: list[str] = []
    for sid, commit_hash, username in zip(sub_ids, hashes, usernames, strict=True):
        submission = session.get(Submission, sid)
        assert submission is not None
        scores.append(submission.grading_score)
        statuses.append(str(submission.auto_status))
        ok = submission.auto_status == AutoStatus.AUTOMATICALLY_GRADED
        logs.append("" if ok or submission.logs is None else (submission.logs.logs or ""))
        out_repo = service_dir / "git" / code / str(assignment_id) / "autograde" / "user" / username
        branch = subprocess.run(
            ["git", "rev-parse", "--verify", "-q", f"refs/heads/submission_{commit_hash}"],
            cwd=out_repo if out_repo.exists() else service_dir,
            capture_output=True,
            check=False,
        )
        pushed.append(out_repo.exists() and branch.returncode == 0)
    session.close()

    result = {
        "version": version,
        "python": sys.version.split()[0],
        "concurrency": cfg["concurrency"],
        "wall_s": wall_s,
        "durations_s": [durations[sid] for sid in sub_ids],
        "scores": scores,
        "auto_statuses": statuses,
        "pushed": pushed,
        "max_score": max_score,
        "setup_s": setup_s,
        "logs": logs,
    }
    print(RESULT_PREFIX + json.dumps(result), flush=True)
    return 0


# --------------------------------------------------------------------------------------
# Standalone mode: a generated 10-cell assignment with correct and partly wrong submissions
# --------------------------------------------------------------------------------------

# (function, points, solution body, wrong body, visible test, hidden test or "")
_DEMO_TASKS: list[tuple[str, int, str, str, str, str]] = [
    (
        "squares",
        2,
        "return [i * i for i in range(1, n + 1)]",
        "return [i * i for i in range(n)]",
        "assert squares(3) == [1, 4, 9]",
        "assert squares(2000)[-1] == 4000000",
    ),
    (
        "fib",
        3,
        "a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a",
        "a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a",
        "assert fib(1) == 1 and fib(10) == 55",
        "assert fib(300) % 1000 == 600",
    ),
    (
        "word_count",
        2,
        "return len(s.split())",
        "raise NotImplementedError()",
        "assert word_count('a b c') == 3",
        "",
    ),
]


def _cell(cell_type: str, source: str, nbgrader: dict[str, Any]) -> dict[str, Any]:
    meta = {
        "grade": False,
        "locked": False,
        "solution": False,
        "task": False,
        "schema_version": 3,
        **nbgrader,
    }
    cell: dict[str, Any] = {
        "cell_type": cell_type,
        "id": uuid.uuid4().hex[:8],
        "metadata": {"nbgrader": meta},
        "source": source,
    }
    if cell_type == "code":
        cell.update(execution_count=None, outputs=[])
    return cell


def _notebook(cells: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "cells": cells,
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def make_demo_assignment(
    directory: Path, n_submissions: int, wrong: Callable[[int], bool] = lambda i: i % 2 == 1
) -> tuple[Path, list[Path], list[float]]:
    """Write a 10-cell nbgrader source notebook (7 points) and student submissions.

    Cells: a read-only intro, then three tasks of (question, answer cell with
    ``### BEGIN/END SOLUTION``, locked test cell with 2/3/2 points; two carry
    ``### BEGIN/END HIDDEN TESTS``). A correct submission scores 7/7; a partly wrong one
    (off-by-one, correct, ``raise NotImplementedError``) scores 3/7. The students' answer
    cells keep their nbgrader metadata, like a notebook made from the release version.

    :returns: (source notebook, submission directories, expected score of each submission)
    """
    directory = Path(directory)
    cells = [_cell("markdown", "# Problem set 1", {"locked": True, "grade_id": "intro"})]
    for name, points, solution, _wrong, visible, hidden in _DEMO_TASKS:
        arg = "s" if name == "word_count" else "n"
        cells.append(
            _cell(
                "markdown", f"Implement `{name}({arg})`.", {"locked": True, "grade_id": f"q_{name}"}
            )
        )
        cells.append(
            _cell(
                "code",
                f"def {name}({arg}):\n    ### BEGIN SOLUTION\n    {solution}\n    ### END SOLUTION",
                {"solution": True, "grade_id": f"answer_{name}"},
            )
        )
        test = visible + (
            f"\n### BEGIN HIDDEN TESTS\n{hidden}\n### END HIDDEN TESTS" if hidden else ""
        )
        cells.append(
            _cell(
                "code",
                test,
                {"grade": True, "locked": True, "points": points, "grade_id": f"test_{name}"},
            )
        )
    assert len(cells) == 10
    source_dir = directory / "source"
    source_dir.mkdir(parents=True, exist_ok=True)
    source = source_dir / "ps1.ipynb"
    source.write_text(json.dumps(_notebook(cells), indent=1))

    max_points = float(sum(t[1] for t in _DEMO_TASKS))
    wrong_points = float(sum(t[1] for t in _DEMO_TASKS if t[2] == t[3]))
    subs: list[Path] = []
    expected: list[float] = []
    for i in range(n_submissions):
        is_wrong = wrong(i)
        student = copy.deepcopy(cells)
        for cell in student:
            gid = cell["metadata"]["nbgrader"]["grade_id"]
            if gid.startswith("answer_"):
                task = next(t for t in _DEMO_TASKS if f"answer_{t[0]}" == gid)
                arg = "s" if task[0] == "word_count" else "n"
                cell["source"] = f"def {task[0]}({arg}):\n    {task[3] if is_wrong else task[2]}"
            elif gid.startswith("test_"):
                cell["source"] = cell["source"].split("\n### BEGIN HIDDEN TESTS")[0]
        sub_dir = directory / "submissions" / f"s{i + 1:03d}"
        sub_dir.mkdir(parents=True, exist_ok=True)
        (sub_dir / source.name).write_text(json.dumps(_notebook(student), indent=1))
        subs.append(sub_dir)
        expected.append(wrong_points if is_wrong else max_points)
    return source, subs, expected


def _main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--driver", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--submissions", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--cell-timeout", type=int, default=60)
    parser.add_argument(
        "--all-correct", action="store_true", help="no partly wrong submissions (default: odd)"
    )
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE_DIR)
    parser.add_argument("--workdir", type=Path, help="kept afterwards (default: a temp dir)")
    args = parser.parse_args(argv)
    if args.driver is not None:
        return _driver_main(args.driver)

    t0 = time.perf_counter()
    venv_python = ensure_reference_venv(args.cache_dir)
    print(f"reference venv: {venv_python.parent.parent} ({time.perf_counter() - t0:.1f} s)")
    with contextlib.ExitStack() as stack:
        if args.workdir is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="gsref-")))
        else:
            workdir = args.workdir
            workdir.mkdir(parents=True, exist_ok=True)
        source, subs, expected = make_demo_assignment(
            workdir / "demo",
            args.submissions,
            wrong=(lambda i: False) if args.all_correct else (lambda i: i % 2 == 1),
        )
        res = run_reference(
            source, subs, args.concurrency, workdir, args.cell_timeout, venv_python=venv_python
        )
    d = sorted(res.durations_s)
    print(
        f"grader-service {res.version} (Python {res.python}), LocalAutogradeProcessExecutor, "
        f"{len(subs)} submissions, concurrency {res.concurrency}"
    )
    print(f"  setup (not timed): {res.setup_s:.1f} s")
    print(f"  wall: {res.wall_s:.2f} s = {res.wall_s / len(subs):.2f} s per submission")
    print(
        f"  per submission: p50 {res.p50_s:.2f} s, min {d[0]:.2f} s, "
        f"p95 {d[min(len(d) - 1, int(0.95 * len(d)))]:.2f} s, max {d[-1]:.2f} s"
    )
    mismatches = [
        i for i, (got, want) in enumerate(zip(res.scores, expected, strict=True)) if got != want
    ]
    print(
        f"  scores: {sum(s == res.max_score for s in res.scores)} x {res.max_score:g}/"
        f"{res.max_score:g}, others {sorted({s for s in res.scores if s != res.max_score})}; "
        f"all pushed to autograde repo: {all(res.pushed)}; failed: {res.failed}"
    )
    if mismatches or res.failed or not all(res.pushed):
        print(f"  UNEXPECTED: score mismatches at {mismatches}", file=sys.stderr)
        print(json.dumps(asdict(res), indent=1)[:5000], file=sys.stderr)
        return 1
    print("  all scores as expected")
    return 0


if __name__ == "__main__":
    sys.exit(_main())

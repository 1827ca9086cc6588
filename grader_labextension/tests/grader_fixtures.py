"""Helpers shared by the extension's tests and its browser tests: a real grader service
(subprocess), an instructor who releases assignments, a student's answer."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

TOKENS = {"instructor": "lab-token-instructor", "student": "lab-token-student"}
LECTURE_ID = 1
LECTURE_CODE = "lect1"
HAS_BWRAP = shutil.which("bwrap") is not None
needs_grading = pytest.mark.skipif(
    not HAS_BWRAP, reason="grading needs bubblewrap (apt-get install bubblewrap)"
)

_LISTENING = re.compile(r"is listening on http://[^:]+:(\d+)(/\S*)")


class GraderService:
    """A running ``grader-service`` process and a tiny client of its REST API."""

    def __init__(self, url: str, process: subprocess.Popen[bytes], log: Path) -> None:
        self.url = url
        self.process = process
        self.log = log

    def api(self, method: str, path: str, user: str, body: Any = None) -> tuple[int, Any]:
        """``(status, json)`` of one request as ``user``."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(  # noqa: S310 - our own http:// test service
            f"{self.url}api/{path}",
            data=data if data is not None else (b"" if method == "POST" else None),
            method=method,
            headers={
                "Authorization": f"token {TOKENS[user]}",
                "Content-Type": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                raw = response.read()
                return response.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")

    def git(self, *args: str, cwd: Path | None = None, user: str = "instructor") -> str:
        """Run git as ``user``, the token in a header from the environment."""
        env = {
            **os.environ,
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_AUTHOR_NAME": user,
            "GIT_AUTHOR_EMAIL": f"{user}@example.org",
            "GIT_COMMITTER_NAME": user,
            "GIT_COMMITTER_EMAIL": f"{user}@example.org",
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": "http.extraHeader",
            "GIT_CONFIG_VALUE_0": f"Authorization: token {TOKENS[user]}",
        }
        result = subprocess.run(
            ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, f"git {args} failed: {result.stderr}"
        return result.stdout

    def tail(self) -> str:
        """The end of the service's log, for assertion messages."""
        return self.log.read_text(errors="replace")[-3000:]


def stop(process: subprocess.Popen[bytes], timeout: float) -> None:
    """End a server the tests started: SIGTERM, then SIGKILL after ``timeout`` seconds."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _write_config(path: Path, data_dir: Path) -> None:
    settings: dict[str, dict[str, Any]] = {
        "GraderService": {
            "db_url": f"sqlite+aiosqlite:///{data_dir / 'grader.sqlite'}",
            "grader_service_dir": str(data_dir),
            "service_port": 0,
            "authenticator_class": "grader_service.auth.StaticTokenAuthenticator",
            "grading_enabled": HAS_BWRAP,
            "events_keepalive_interval": 0.5,
            "load_roles": {
                LECTURE_CODE: [
                    {"role": "instructor", "members": ["instructor"]},
                    {"role": "student", "members": ["student"]},
                ]
            },
        },
        "StaticTokenAuthenticator": {"tokens": {t: name for name, t in TOKENS.items()}},
        "GradingScheduler": {"poll_interval": 0.2, "max_concurrent_jobs": 1},
        "KernelPool": {"size": 1},
        "CellTimeoutPolicy": {"default_cell_timeout": 20},
        # kernels talk over Unix sockets in here: pytest's tmp paths are too long for them
        "LocalAutogradeExecutor": {"work_dir": tempfile.mkdtemp(prefix="gl-", dir="/tmp")},
    }
    lines = [f"c.{s}.{k} = {v!r}" for s, traits in settings.items() for k, v in traits.items()]
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def grader_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GraderService]:
    """A real grader service for this module's tests; stopped (SIGTERM) afterwards."""
    root = tmp_path_factory.mktemp("grader-service")
    config = root / "grader_service_config.py"
    _write_config(config, root / "data")
    log = root / "service.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "grader_service", "-f", str(config)],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=root,
            start_new_session=True,
        )
    deadline = time.monotonic() + 60
    url = ""
    while time.monotonic() < deadline and process.poll() is None:
        if match := _LISTENING.search(log.read_text(errors="replace")):
            url = f"http://127.0.0.1:{match.group(1)}{match.group(2)}"
            break
        time.sleep(0.1)
    if not url:
        process.kill()
        pytest.fail(f"grader-service did not start:\n{log.read_text()[-3000:]}")
    yield GraderService(url, process, log)
    stop(process, timeout=30)


def write_notebook(path: Path, cells: list[Any]) -> None:
    """Write a Python 3 notebook of ``cells`` to ``path``."""
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nbformat.write(nb, path)


def write_source(work: Path) -> None:
    """A one-point assignment: an answer cell and a test cell with a hidden test."""

    def nbgrader(grade_id: str, **flags: Any) -> dict[str, Any]:
        cell = {"grade": False, "solution": False, "locked": False, "schema_version": 3}
        return {"nbgrader": {**cell, **flags, "grade_id": grade_id}}

    write_notebook(
        work / "hw.ipynb",
        [
            new_markdown_cell("Write `answer()` so that it returns 42."),
            new_code_cell(
                "def answer():\n    ### BEGIN SOLUTION\n    return 42\n    ### END SOLUTION\n",
                metadata=nbgrader("answer", solution=True),
            ),
            new_code_cell(
                "assert answer() == 42\n### BEGIN HIDDEN TESTS\nassert answer() > 0\n"
                "### END HIDDEN TESTS\n",
                metadata=nbgrader("test_answer", grade=True, locked=True, points=1),
            ),
        ],
    )


def create_assignment(
    grader_service: GraderService, name: str, settings: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Create an assignment as the instructor (``settings`` sent only when given)."""
    body: dict[str, Any] = {"name": name}
    if settings is not None:
        body["settings"] = settings
    status, assignment = grader_service.api(
        "POST", f"lectures/{LECTURE_ID}/assignments", "instructor", body
    )
    assert status == 201, assignment
    result: dict[str, Any] = assignment
    return result


def clone_source(grader_service: GraderService, assignment: dict[str, Any], work: Path) -> None:
    """Clone the assignment's source repository into ``work``, as an instructor."""
    grader_service.git(
        "clone",
        "--quiet",
        f"{grader_service.url}git/{LECTURE_CODE}/{assignment['id']}/source",
        str(work),
    )


def push_source(grader_service: GraderService, work: Path, message: str) -> None:
    """Commit everything in the source clone ``work`` and push it to ``main``."""
    grader_service.git("add", "--all", cwd=work)
    grader_service.git("commit", "--quiet", "-m", message, cwd=work)
    grader_service.git("push", "--quiet", "origin", "HEAD:main", cwd=work)


def release_source(grader_service: GraderService, assignment: dict[str, Any]) -> dict[str, Any]:
    """Release what was pushed to the assignment's source repository; the service's answer."""
    status, released = grader_service.api(
        "POST", f"lectures/{LECTURE_ID}/assignments/{assignment['id']}/release", "instructor"
    )
    assert status == 201, released
    result: dict[str, Any] = released
    return result


@pytest.fixture
def release(grader_service: GraderService, tmp_path: Path) -> Callable[..., dict[str, Any]]:
    """Create and release an assignment as the instructor; returns the assignment."""
    counter = iter(range(1000))

    def factory(**settings: Any) -> dict[str, Any]:
        assignment = create_assignment(
            grader_service, f"hw-{os.getpid()}-{time.monotonic_ns()}", settings
        )
        work = tmp_path / f"source-{next(counter)}"
        clone_source(grader_service, assignment, work)
        write_source(work)
        push_source(grader_service, work, "source")
        result: dict[str, Any] = release_source(grader_service, assignment)["assignment"]
        return result

    return factory


def answer(path: Path, source: str) -> None:
    """Replace the answer cell of the notebook at ``path`` (what the student writes)."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("solution"):
            cell.source = source
    nbformat.write(nb, path)


class LabClient:
    """Requests to the extension's routes through the Jupyter server (``jp_fetch``)."""

    def __init__(self, jp_fetch: Callable[..., Any]) -> None:
        self.jp_fetch = jp_fetch

    async def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """``(status, json)``; HTTP errors are returned, not raised."""
        kwargs: dict[str, Any] = {"method": method, "raise_error": False}
        if method in ("POST", "PUT", "PATCH"):
            kwargs["body"] = json.dumps(body) if body is not None else ""
        response = await self.jp_fetch("grader_labextension", *path.split("/"), **kwargs)
        raw = response.body
        return response.code, json.loads(raw) if raw else None

    async def get(self, path: str) -> tuple[int, Any]:
        return await self.request("GET", path)

    async def post(self, path: str, body: Any = None) -> tuple[int, Any]:
        return await self.request("POST", path, body)


def lab_server_config(grader_service: GraderService, root: Path, user: str) -> dict[str, Any]:
    """``jp_server_config`` of a Jupyter server running the extension as ``user``."""
    return {
        "ServerApp": {"jpserver_extensions": {"grader_labextension": True}},
        "GraderLabConfig": {
            "service_url": grader_service.url,
            "api_token": TOKENS[user],
            "username": user,
            "lectures_dir": str(root / "lectures"),
        },
    }


@pytest.fixture(name="jp_server_config")
def as_instructor(grader_service: GraderService, jp_root_dir: Path) -> dict[str, Any]:
    """``jp_server_config`` with the extension running as the instructor.

    A test module of staff routes imports this fixture (``from grader_fixtures import
    as_instructor``); it then replaces conftest.py's student configuration there.
    """
    return lab_server_config(grader_service, jp_root_dir, "instructor")


def submit_as_student(
    grader_service: GraderService, assignment: dict[str, Any], work: Path, source: str
) -> dict[str, Any]:
    """Clone the student's repository into ``work``, answer, push and submit; the submission."""
    url = f"{grader_service.url}git/{LECTURE_CODE}/{assignment['id']}/user/student"
    if not (work / ".git").exists():
        grader_service.git("clone", "--quiet", url, str(work), user="student")
    answer(work / "hw.ipynb", source)
    grader_service.git("add", "--all", cwd=work, user="student")
    grader_service.git("commit", "--quiet", "-m", "answer", cwd=work, user="student")
    grader_service.git("push", "--quiet", "origin", "HEAD:main", cwd=work, user="student")
    commit = grader_service.git("rev-parse", "HEAD", cwd=work, user="student").strip()
    status, submission = grader_service.api(
        "POST",
        f"lectures/{LECTURE_ID}/assignments/{assignment['id']}/submissions",
        "student",
        {"commit_hash": commit},
    )
    assert status == 201, submission
    result: dict[str, Any] = submission
    return result


def wait_for_submission(
    grader_service: GraderService,
    assignment: dict[str, Any],
    submission_id: int,
    done: Callable[[dict[str, Any]], bool],
    timeout: float = 120.0,
) -> dict[str, Any]:
    """Poll the submission (as the instructor) until ``done(submission)``; the submission."""
    path = f"lectures/{LECTURE_ID}/assignments/{assignment['id']}/submissions/{submission_id}"
    deadline = time.monotonic() + timeout
    while True:
        status, submission = grader_service.api("GET", path, "instructor")
        assert status == 200, submission
        if done(submission):
            result: dict[str, Any] = submission
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"submission never got there: {submission}\n{grader_service.tail()}")
        time.sleep(0.3)

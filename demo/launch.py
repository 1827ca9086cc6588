"""The whole system on this machine: JupyterHub, grader-service and the JupyterLab extension.

    python3 dev.py demo [--port 8000] [--reset]

starts, in ``.demo/``:

- JupyterHub on ``http://127.0.0.1:PORT/`` (configurable-http-proxy from
  ``tests/hub/node_modules``), users logging in with one shared password;
- grader-service as a **hub-managed service** (``c.JupyterHub.services`` with a
  ``command``): the hub starts and stops it and hands it its token, prefix and URL;
- a JupyterLab with the extension for every user (SimpleLocalProcessSpawner, homes under
  ``.demo/home/``);
- the hub groups ``demo:instructor``, ``demo:tutor`` and ``demo:student``, which the service
  turns into the lecture ``demo`` and its roles on first sight;

then seeds the lecture with a released sample assignment, the way an instructor would:
a token for the instructor from the hub API, the assignment created through the service's
REST API, its source notebook pushed over git, and released. It prints the URL and the
logins and keeps running until Ctrl-C, which stops every process it started.

The :class:`Demo` class is also what the end-to-end browser test
(``grader_labextension/ui-tests/test_ui_hub_e2e.py``) starts, in a temporary directory on
free ports, so that test proves this demo works.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
CHP = ROOT / "tests" / "hub" / "node_modules" / ".bin" / "configurable-http-proxy"

PASSWORD = "demo"  # noqa: S105 - the demo's published login, on 127.0.0.1 only
INSTRUCTOR = "instructor"
TUTOR = "tutor"
STUDENTS = ("student1", "student2", "student3")
ADMIN = "admin"
LECTURE_CODE = "demo"
LECTURE_NAME = "Programming in Python (demo)"
SAMPLE_ASSIGNMENT = "Warm-up"
SERVICE_NAME = "grader"
SEEDER_SERVICE = "demo-seeder"
# The seeder's token reaches the hub through its environment, never through the config
# file (which stays readable as an example of a hub configuration).
SEEDER_TOKEN_ENV = "GRADER_DEMO_SEEDER_TOKEN"  # noqa: S105 - a variable name

# no "news" or "update available" toasts in the users' JupyterLab
NO_UPDATE_CHECK = "jupyterlab.NeverCheckForUpdate"

START_TIMEOUT = 90.0
STOP_TIMEOUT = 30.0
# Kernels of grading jobs talk over Unix sockets below the executor's work directory; a
# socket path may have at most 107 bytes, so long directories (pytest's) get a short one.
MAX_WORK_DIR = 48


class DemoError(RuntimeError):
    """The demo could not start or seed; the message says what to do."""


@dataclass(frozen=True)
class Login:
    """A user of the demo and what they may do."""

    name: str
    role: str


LOGINS = (
    Login(INSTRUCTOR, f"instructor of {LECTURE_NAME!r} (lecture code {LECTURE_CODE})"),
    Login(TUTOR, "tutor of the lecture"),
    *(Login(name, "student of the lecture") for name in STUDENTS),
    Login(ADMIN, "JupyterHub and grader-service admin"),
)


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _port_in_use(port: int) -> bool:
    with socket.socket() as s:
        # as servers do: connections of a previous run in TIME_WAIT do not count
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


# -- processes ------------------------------------------------------------------------


def _start_time(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (tells a process from a later one with its PID)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name (field 2) may contain spaces: split after its closing parenthesis
    return stat.rpartition(")")[2].split()[19]


def _descendants(pid: int) -> list[tuple[int, str]]:
    """``(pid, start time)`` of every process below ``pid`` (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue  # exited meanwhile
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    found: list[tuple[int, str]] = []
    todo = list(children.get(pid, []))
    while todo:
        child = todo.pop()
        started = _start_time(child)
        if started is not None:
            found.append((child, started))
        todo.extend(children.get(child, []))
    return found


def _kill_if_same(pid: int, started: str) -> None:
    """SIGKILL ``pid`` only if it is still the process that started at ``started``."""
    if _start_time(pid) == started:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


# -- the sample assignment ---------------------------------------------------------------


def _nbgrader(grade_id: str, **flags: Any) -> dict[str, Any]:
    cell = {"grade": False, "solution": False, "locked": False, "schema_version": 3}
    return {"nbgrader": {**cell, **flags, "grade_id": grade_id}}


def _cell(cell_type: str, source: str, metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    cell: dict[str, Any] = {"cell_type": cell_type, "metadata": metadata or {}, "source": source}
    if cell_type == "code":
        cell.update(execution_count=None, outputs=[])
    return cell


def notebook(cells: list[dict[str, Any]]) -> dict[str, Any]:
    """An nbformat 4 notebook with a Python kernel."""
    return {
        "cells": cells,
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def sample_notebook() -> dict[str, Any]:
    """The demo's source notebook: two autograded exercises (3 points), hidden tests."""
    return notebook(
        [
            _cell(
                "markdown",
                "# Warm-up: functions\n\nWrite the two functions below, run the tests, "
                "save, and submit from the **Assignments** sidebar. Some tests are hidden: "
                "they run when your submission is graded.",
            ),
            _cell("markdown", "**1.** `square(x)` returns `x` times `x`."),
            _cell(
                "code",
                "def square(x):\n    ### BEGIN SOLUTION\n    return x * x\n    ### END SOLUTION\n",
                _nbgrader("square", solution=True),
            ),
            _cell(
                "code",
                "assert square(3) == 9\n### BEGIN HIDDEN TESTS\nassert square(-2) == 4\n"
                "assert square(0) == 0\n### END HIDDEN TESTS\n",
                _nbgrader("test_square", grade=True, locked=True, points=2),
            ),
            _cell("markdown", "**2.** `greet(name)` returns `'Hello, <name>!'`."),
            _cell(
                "code",
                "def greet(name):\n    ### BEGIN SOLUTION\n    return f'Hello, {name}!'\n"
                "    ### END SOLUTION\n",
                _nbgrader("greet", solution=True),
            ),
            _cell(
                "code",
                "assert greet('Ada') == 'Hello, Ada!'\n### BEGIN HIDDEN TESTS\n"
                "assert greet('') == 'Hello, !'\n### END HIDDEN TESTS\n",
                _nbgrader("test_greet", grade=True, locked=True, points=1),
            ),
        ]
    )


# -- clients ------------------------------------------------------------------------------


class ApiError(DemoError):
    """An HTTP error answer of the hub or the service."""

    def __init__(self, method: str, url: str, status: int, body: str) -> None:
        super().__init__(f"{method} {url}: {status} {body[:500]}")
        self.status = status


def _request(method: str, url: str, token: str, body: Any = None) -> Any:
    """One JSON request with ``Authorization: token``; raises :class:`ApiError`."""
    data = json.dumps(body).encode() if body is not None else (b"" if method == "POST" else None)
    request = urllib.request.Request(  # noqa: S310 - http URLs of our own hub
        url,
        data=data,
        method=method,
        headers={"Authorization": f"token {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            raw = response.read()
    except urllib.error.HTTPError as e:
        raise ApiError(method, url, e.code, e.read().decode(errors="replace")) from None
    return json.loads(raw) if raw else None


class ServiceClient:
    """The grader service's REST API and git as one user (their JupyterHub token)."""

    def __init__(self, service_url: str, token: str, username: str) -> None:
        self.url = service_url
        self.token = token
        self.username = username

    def api(self, method: str, path: str, body: Any = None) -> Any:
        """``{service}api/{path}``; raises :class:`ApiError` on an error status."""
        return _request(method, f"{self.url}api/{path}", self.token, body)

    def git(self, *args: str, cwd: Path | None = None) -> str:
        """Run git as this user; the token travels in a header set through the environment,
        so it is never written into ``.git/config``."""
        env = {
            **os.environ,
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_AUTHOR_NAME": self.username,
            "GIT_AUTHOR_EMAIL": f"{self.username}@demo.invalid",
            "GIT_COMMITTER_NAME": self.username,
            "GIT_COMMITTER_EMAIL": f"{self.username}@demo.invalid",
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": "http.extraHeader",
            "GIT_CONFIG_VALUE_0": f"Authorization: token {self.token}",
        }
        result = subprocess.run(
            ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise DemoError(f"git {' '.join(args[:2])} failed: {result.stderr.strip()}")
        return result.stdout

    def lecture(self, code: str) -> dict[str, Any]:
        """The lecture with ``code`` (it appears once the hub groups reached the service)."""
        for lecture in self.api("GET", "lectures"):
            if lecture["code"] == code:
                return dict(lecture)
        raise DemoError(
            f"{self.username} has no role in lecture {code!r}: is the hub group "
            f"'{code}:instructor' there (c.JupyterHub.load_groups)?"
        )

    def publish(
        self,
        lecture_id: int,
        name: str,
        files: dict[str, dict[str, Any]],
        settings: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Create (or find) assignment ``name``, push ``files`` (notebooks by file name) to
        its source repository if it is empty, and release it; returns the assignment."""
        existing = [
            a
            for a in self.api("GET", f"lectures/{lecture_id}/assignments")
            if a["name"] == name and not a.get("deleted")
        ]
        assignment = existing[0] if existing else None
        if assignment is None:
            assignment = self.api(
                "POST",
                f"lectures/{lecture_id}/assignments",
                {"name": name, "settings": settings or {}},
            )
        if assignment["status"] in ("released", "complete"):
            return dict(assignment)
        lecture = self.api("GET", f"lectures/{lecture_id}")
        with tempfile.TemporaryDirectory(prefix="grader-demo-source-") as tmp:
            work = Path(tmp) / "source"
            self.git(
                "clone",
                "--quiet",
                f"{self.url}git/{lecture['code']}/{assignment['id']}/source",
                str(work),
            )
            if not any(p.name != ".git" for p in work.iterdir()):
                for file_name, content in files.items():
                    (work / file_name).write_text(json.dumps(content, indent=1) + "\n")
                self.git("add", "--all", cwd=work)
                self.git("commit", "--quiet", "-m", f"{name}: source notebooks", cwd=work)
                self.git("push", "--quiet", "origin", "HEAD:main", cwd=work)
        released = self.api("POST", f"lectures/{lecture_id}/assignments/{assignment['id']}/release")
        return dict(released["assignment"])


# -- the demo -------------------------------------------------------------------------------


class Demo:
    """JupyterHub with grader-service and the JupyterLab extension in ``directory``.

    ``port`` is the public port (0: a free one). Use it as a context manager, or call
    :meth:`start` and :meth:`stop`. Everything it writes stays in ``directory``: the hub's
    database and cookie secret, the service's data, the users' homes and the logs; a
    second start in the same directory continues where the first stopped.
    """

    def __init__(self, directory: Path, *, port: int = 0, python: str | None = None) -> None:
        self.directory = Path(directory).resolve()
        self.port = port or free_port()
        # the venv's python, not its resolved target: the venv's site-packages come with it
        self.python = python or sys.executable
        self.proxy_api_port, self.hub_port, self.service_port = (
            free_port(),
            free_port(),
            free_port(),
        )
        self.url = f"http://127.0.0.1:{self.port}/"
        self.service_url = f"{self.url}services/{SERVICE_NAME}/"
        self.seeder_token = secrets.token_hex(32)
        self.log_path = self.directory / "jupyterhub.log"
        self.sandboxed = shutil.which("bwrap") is not None
        self._process: subprocess.Popen[bytes] | None = None
        self._work_dir: Path | None = None

    # configuration

    def home(self, username: str) -> Path:
        """The home directory (and Jupyter root) of ``username``'s JupyterLab."""
        return self.directory / "home" / username

    def _grading_work_dir(self) -> Path:
        work = self.directory / "service" / "grading"
        if len(str(work)) <= MAX_WORK_DIR:
            return work
        if self._work_dir is None:
            self._work_dir = Path(tempfile.mkdtemp(prefix="grader-demo-"))
        return self._work_dir

    def write_service_config(self) -> Path:
        """``service/grader_service_config.py``: host, port, prefix and hub token come from
        the environment the hub gives its managed services."""
        service = self.directory / "service"
        service.mkdir(parents=True, exist_ok=True)
        settings: list[tuple[str, Any, str]] = [
            ("GraderService.grader_service_dir", str(service / "data"), ""),
            ("Authenticator.admin_users", {ADMIN}, "grader-service admins (all lectures)"),
            ("GraderService.autograde_executor_class", "local", "grade on this machine"),
            ("GradingScheduler.max_concurrent_jobs", 1, ""),
            ("LocalAutogradeExecutor.work_dir", str(self._grading_work_dir()), ""),
            ("CellTimeoutPolicy.default_cell_timeout", 30, "seconds"),
            # open event streams should not hold up Ctrl-C for long
            ("GraderService.shutdown_timeout", 3.0, "seconds"),
        ]
        if not self.sandboxed:
            settings.append(
                ("Sandbox.mode", "none", "no bubblewrap here: student code runs unsandboxed")
            )
        lines = [
            "# grader-service configuration of the demo, written by demo/launch.py at every",
            "# start. JupyterHub starts the service (c.JupyterHub.services in",
            "# ../jupyterhub_config.py) and passes JUPYTERHUB_SERVICE_URL (host and port),",
            "# JUPYTERHUB_SERVICE_PREFIX, JUPYTERHUB_API_URL and JUPYTERHUB_API_TOKEN.",
            "c = get_config()  # noqa: F821",
        ]
        for key, value, comment in settings:
            lines.append(f"c.{key} = {value!r}" + (f"  # {comment}" if comment else ""))
        path = service / "grader_service_config.py"
        path.write_text("\n".join(lines) + "\n")
        return path

    def write_lab_config(self) -> Path:
        """A Jupyter config directory for the users' servers: JupyterLab's "official
        Jupyter news?" prompt is switched off (it would cover the demo's notifications)."""
        config_dir = self.directory / "jupyter-config"
        labconfig = config_dir / "labconfig"
        labconfig.mkdir(parents=True, exist_ok=True)
        page_config = {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}
        (labconfig / "page_config.json").write_text(json.dumps(page_config, indent=2) + "\n")
        return config_dir

    def write_hub_config(self) -> Path:
        """``jupyterhub_config.py`` in the demo directory (secrets stay out of it)."""
        service_config = self.write_service_config()
        lab_config = self.write_lab_config()
        bindir = Path(self.python).parent
        groups = {
            f"{LECTURE_CODE}:instructor": {"users": [INSTRUCTOR]},
            f"{LECTURE_CODE}:tutor": {"users": [TUTOR]},
            f"{LECTURE_CODE}:student": {"users": list(STUDENTS)},
        }
        sections: list[tuple[str, list[tuple[str, Any]]]] = [
            (
                "the public URL (configurable-http-proxy) and the hub's own address",
                [
                    ("JupyterHub.bind_url", self.url.rstrip("/")),
                    ("JupyterHub.hub_ip", "127.0.0.1"),
                    ("JupyterHub.hub_port", self.hub_port),
                    ("ConfigurableHTTPProxy.command", [str(CHP)]),
                    ("ConfigurableHTTPProxy.api_url", f"http://127.0.0.1:{self.proxy_api_port}"),
                    ("ConfigurableHTTPProxy.pid_file", str(self.directory / "proxy.pid")),
                    ("JupyterHub.pid_file", str(self.directory / "jupyterhub.pid")),
                    ("JupyterHub.db_url", f"sqlite:///{self.directory / 'jupyterhub.sqlite'}"),
                    ("JupyterHub.cookie_secret_file", str(self.directory / "cookie_secret")),
                ],
            ),
            (
                "logins: every demo user with one password (DummyAuthenticator: demo only)",
                [
                    ("JupyterHub.authenticator_class", "dummy"),
                    ("DummyAuthenticator.password", PASSWORD),
                    ("Authenticator.allowed_users", {INSTRUCTOR, TUTOR, *STUDENTS}),
                    ("Authenticator.admin_users", {ADMIN}),
                ],
            ),
            (
                "lecture roles: hub groups '<lecture code>:<role>' (the service creates the "
                "lecture on first sight)",
                [("JupyterHub.load_groups", groups)],
            ),
            (
                "grader-service as a hub-managed service: the hub starts it, stops it, "
                "routes /services/grader/ to it and gives it its API token",
                [
                    (
                        "JupyterHub.services",
                        [
                            {
                                "name": SERVICE_NAME,
                                "url": f"http://127.0.0.1:{self.service_port}",
                                "command": [
                                    self.python,
                                    "-m",
                                    "grader_service",
                                    "-f",
                                    str(service_config),
                                ],
                                "cwd": str(service_config.parent),
                                "display": False,
                            }
                        ],
                    ),
                    (
                        "JupyterHub.load_roles",
                        [
                            {
                                "name": "user",
                                "scopes": ["self", f"access:services!service={SERVICE_NAME}"],
                            },
                        ],
                    ),
                ],
            ),
            (
                "one JupyterLab (with grader_labextension) per user, homes in this directory; "
                "the hub runs as root here, hence allow_root",
                [
                    ("JupyterHub.spawner_class", "simple"),
                    ("SimpleLocalProcessSpawner.home_dir_template", str(self.home("{username}"))),
                    ("Spawner.cmd", [str(bindir / "jupyterhub-singleuser")]),
                    (
                        "Spawner.args",
                        [
                            "--ServerApp.allow_root=True",
                            "--LabApp.news_url=None",
                            f"--LabServerApp.check_for_updates_class={NO_UPDATE_CHECK}",
                        ],
                    ),
                    ("Spawner.ip", "127.0.0.1"),
                    ("Spawner.default_url", "/lab"),
                    ("Spawner.start_timeout", 60),
                    ("Spawner.http_timeout", 60),
                    (
                        "Spawner.environment",
                        {
                            "GRADER_SERVICE_URL": (
                                f"http://127.0.0.1:{self.service_port}/services/{SERVICE_NAME}/"
                            ),
                            # searched before the usual places, which stay in effect
                            "JUPYTER_CONFIG_PATH": str(lab_config),
                        },
                    ),
                    (
                        "Spawner.server_token_scopes",
                        [
                            "users:activity!user",
                            "access:servers!server",
                            f"access:services!service={SERVICE_NAME}",
                            "read:users:groups!user",
                        ],
                    ),
                ],
            ),
        ]
        lines = [
            "# JupyterHub configuration of the grader-service demo, written by demo/launch.py",
            "# at every start (python3 dev.py demo). docs/admin-guide.md explains each part.",
            "import os",
            "",
            "c = get_config()  # noqa: F821",
        ]
        for comment, settings in sections:
            lines += ["", f"# {comment}"]
            lines += [f"c.{key} = {value!r}" for key, value in settings]
        lines += [
            "",
            "# the launcher seeds the demo lecture with this service's token (passed in the",
            "# environment): it may only issue tokens for users",
            f"if os.environ.get({SEEDER_TOKEN_ENV!r}):",
            "    c.JupyterHub.services.append(",
            f"        {{'name': {SEEDER_SERVICE!r},",
            f"         'api_token': os.environ[{SEEDER_TOKEN_ENV!r}]}}",
            "    )",
            "    c.JupyterHub.load_roles.append(",
            f"        {{'name': {SEEDER_SERVICE!r}, 'services': [{SEEDER_SERVICE!r}], "
            "'scopes': ['tokens', 'read:users']}",
            "    )",
        ]
        path = self.directory / "jupyterhub_config.py"
        path.write_text("\n".join(lines) + "\n")
        return path

    # lifecycle

    def _env(self) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("JUPYTERHUB_", "CONFIGPROXY_", "JPY_", "GRADER_"))
        }
        # kernelspecs say "python": the venv's must come first; so must its node for CHP
        env["PATH"] = os.pathsep.join([str(Path(self.python).parent), env.get("PATH", "")])
        env[SEEDER_TOKEN_ENV] = self.seeder_token
        return env

    def start(self) -> None:
        """Write the configuration, start JupyterHub and wait until the hub and the
        service answer through the proxy."""
        if not CHP.exists():
            raise DemoError(
                f"configurable-http-proxy is missing at {CHP}: run `python3 dev.py demo` "
                "(it installs it) or `npm ci --prefix tests/hub`."
            )
        if _port_in_use(self.port):
            raise DemoError(
                f"port {self.port} is in use: choose another one, e.g. "
                f"`python3 dev.py demo --port {self.port + 1}`."
            )
        self.directory.mkdir(parents=True, exist_ok=True)
        config = self.write_hub_config()
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [self.python, "-m", "jupyterhub", "-f", str(config)],
                cwd=self.directory,
                env=self._env(),
                # no terminal: a user server must not ask "Shut down (y/[n])?" on Ctrl-C
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # out of the terminal's process group: Ctrl-C reaches only the launcher,
                # which then stops the hub, and the hub its service and user servers
                start_new_session=True,
            )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        pending = [f"{self.url}hub/api/", f"{self.service_url}api/health"]
        while pending:
            assert self._process is not None
            if self._process.poll() is not None:
                raise DemoError(
                    f"JupyterHub exited with {self._process.returncode} while starting; "
                    f"the end of {self.log_path}:\n{_tail(self.log_path)}"
                )
            if time.monotonic() > deadline:
                raise DemoError(
                    f"no answer from {pending[0]} within {START_TIMEOUT:.0f}s; "
                    f"the end of {self.log_path}:\n{_tail(self.log_path)}"
                )
            # not listening or not routed yet: poll again shortly
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(pending[0], timeout=2) as response,  # noqa: S310
            ):
                if response.status == 200:
                    pending.pop(0)
                    continue
            time.sleep(0.2)

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def wait(self) -> int:
        """Block until the hub exits; its exit status."""
        assert self._process is not None
        return self._process.wait()

    def stop(self) -> None:
        """Stop the hub (SIGTERM: it stops the service, the user servers and the proxy);
        whatever is left after ``STOP_TIMEOUT`` is killed by PID."""
        process = self._process
        if process is None:
            return
        left = _descendants(process.pid)
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                left = _descendants(process.pid)
                process.kill()
                process.wait()
        for pid, started in left:
            _kill_if_same(pid, started)
        self._process = None
        if self._work_dir is not None:
            shutil.rmtree(self._work_dir, ignore_errors=True)
            self._work_dir = None

    def __enter__(self) -> Demo:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # the hub's and the service's APIs

    def hub_api(self, method: str, path: str, body: Any = None) -> Any:
        """``{hub}/hub/api/{path}`` as the seeder service (it may issue user tokens)."""
        return _request(method, f"{self.url}hub/api/{path}", self.seeder_token, body)

    def user_token(self, username: str, note: str, expires_in: int = 3600) -> tuple[str, str]:
        """A new JupyterHub token of ``username`` with all their permissions: (token, id)."""
        model = self.hub_api(
            "POST",
            f"users/{quote(username, safe='')}/tokens",
            {"note": note, "expires_in": expires_in},
        )
        return str(model["token"]), str(model["id"])

    def revoke_token(self, username: str, token_id: str) -> None:
        self.hub_api("DELETE", f"users/{quote(username, safe='')}/tokens/{token_id}")

    @contextlib.contextmanager
    def client(self, username: str, note: str) -> Iterator[ServiceClient]:
        """A :class:`ServiceClient` as ``username`` whose token is revoked afterwards."""
        token, token_id = self.user_token(username, note)
        try:
            yield ServiceClient(self.service_url, token, username)
        finally:
            with contextlib.suppress(ApiError, OSError):
                self.revoke_token(username, token_id)

    def seed(self) -> dict[str, Any]:
        """The demo lecture with its released sample assignment (created once)."""
        with self.client(INSTRUCTOR, "grader demo: seed the sample lecture") as instructor:
            # the instructor's first request brings the hub groups to the service, which
            # creates the lecture and the roles of its members as they log in
            lecture = instructor.lecture(LECTURE_CODE)
            if lecture["name"] != LECTURE_NAME:
                lecture = instructor.api(
                    "POST", "lectures", {"code": LECTURE_CODE, "name": LECTURE_NAME}
                )
            deadline = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
            assignment = instructor.publish(
                lecture["id"],
                SAMPLE_ASSIGNMENT,
                {"warm-up.ipynb": sample_notebook()},
                {
                    "autograde_type": "full_auto",
                    "deadline": (deadline + timedelta(days=14)).isoformat(),
                },
            )
        return {"lecture": lecture, "assignment": assignment}

    def banner(self) -> str:
        """What to tell the person who started the demo."""
        width = max(len(login.name) for login in LOGINS)
        lines = [
            f"grader-service demo: {self.url}",
            "",
            f"Log in with password {PASSWORD!r} as:",
            *(f"  {login.name:<{width}}  {login.role}" for login in LOGINS),
            "",
            f"The assignment {SAMPLE_ASSIGNMENT!r} is released: students find it in the",
            "Assignments sidebar of JupyterLab; instructor and tutor open Course Management",
            "from the launcher. Use a private window to be a second user at the same time.",
            f"Logs: {self.log_path} (hub and service)",
        ]
        if not self.sandboxed:
            lines += [
                "",
                "bubblewrap is not installed: grading runs student code UNSANDBOXED with your",
                "rights (fine for trying this alone; apt-get install bubblewrap).",
            ]
        lines += ["", "Stop with Ctrl-C."]
        return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """``python -m demo.launch [--dir .demo] [--port 8000] [--reset]``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--dir", type=Path, default=ROOT / ".demo", help="demo directory")
    parser.add_argument("--port", type=int, default=8000, help="public port (default 8000)")
    parser.add_argument(
        "--reset", action="store_true", help="delete the demo directory first (all demo data)"
    )
    args = parser.parse_args(argv)
    # Started in the background by a non-interactive shell, this process inherits SIGINT
    # as *ignored*, and so would everything it starts: the hub then needs its 10 s
    # interrupt timeout per process to stop them. Take Ctrl-C back.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    # SIGTERM (kill, a supervisor) stops the demo as cleanly as Ctrl-C
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    if args.reset and args.dir.exists():
        shutil.rmtree(args.dir)
    demo = Demo(args.dir, port=args.port)
    print(f"Starting JupyterHub and grader-service in {demo.directory} ...", flush=True)
    try:
        demo.start()
        demo.seed()
        print("\n" + demo.banner() + "\n", flush=True)
        status = demo.wait()
        print(f"JupyterHub exited with {status}; the end of its log:\n{_tail(demo.log_path)}")
        return 1
    except KeyboardInterrupt:
        print("\nStopping ...", flush=True)
        return 0
    except DemoError as e:
        print(f"The demo failed: {e}", file=sys.stderr)
        return 1
    finally:
        # a second Ctrl-C must not cut the clean stop short and leave processes behind
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        demo.stop()
        print("Stopped.", flush=True)


if __name__ == "__main__":
    sys.exit(main())

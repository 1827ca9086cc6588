"""Push + submit round trip of a typical assignment, with 1 and with 20 students at once.

    .venv/bin/python benchmarks/git_submit.py [--rounds 5] [--students 20]

Starts the real service (``grader-service`` in its own process, SQLite), releases an
assignment of 3 notebooks (about 200 KB), then times what a student's "Submit" costs:
commit, ``git push`` over HTTP (with the server-side push policy hook) and the
submission API call. Each student works in their own clone. Prints p50/p95 per
concurrency level and the ratio of p95 to the target (1 s at 20 concurrent students).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from tornado.httpclient import AsyncHTTPClient

TARGET_P95_S = 1.0
LISTENING = re.compile(r"listening on http://[\d.]+:(\d+)(/\S*)")


def notebook(index: int, kilobytes: int) -> nbformat.NotebookNode:
    """A graded notebook padded with markdown to about ``kilobytes`` KB."""
    cells = [new_markdown_cell(f"# Part {index}\n" + "Lorem ipsum dolor sit amet. " * 8)]
    while len(json.dumps([c for c in cells])) < kilobytes * 1024:
        grade_id = f"q{index}_{len(cells)}"
        cells.append(
            new_code_cell(
                "def f(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION\n",
                metadata={
                    "nbgrader": {
                        "grade_id": grade_id,
                        "solution": True,
                        "grade": False,
                        "locked": False,
                        "schema_version": 3,
                    }
                },
            )
        )
        cells.append(
            new_code_cell(
                "assert f(2) == 4\n",
                metadata={
                    "nbgrader": {
                        "grade_id": f"t_{grade_id}",
                        "grade": True,
                        "solution": False,
                        "locked": True,
                        "points": 1,
                        "schema_version": 3,
                    }
                },
            )
        )
        cells.append(new_markdown_cell("Explain your reasoning. " * 40))
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return nb


class Git:
    """The git CLI for one user, token in a header from the environment."""

    def __init__(self, token: str, name: str) -> None:
        self.env = {
            "PATH": os.environ["PATH"],
            "HOME": os.environ.get("HOME", tempfile.gettempdir()),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_AUTHOR_NAME": name,
            "GIT_AUTHOR_EMAIL": f"{name}@example.org",
            "GIT_COMMITTER_NAME": name,
            "GIT_COMMITTER_EMAIL": f"{name}@example.org",
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": "http.extraHeader",
            "GIT_CONFIG_VALUE_0": f"Authorization: token {token}",
        }

    async def __call__(self, *args: str, cwd: Path | None = None) -> str:
        proc = await asyncio.create_subprocess_exec(
            "git",
            *args,
            cwd=cwd,
            env=self.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await proc.communicate()
        if proc.returncode:
            raise RuntimeError(f"git {' '.join(args)}: {out.decode()}")
        return out.decode().strip()


class Service:
    """``grader-service`` in a subprocess with a throw-away config."""

    def __init__(self, root: Path, students: int) -> None:
        self.root = root
        self.tokens = {f"s{i:02d}": f"tok-s{i:02d}" for i in range(students)}
        self.tokens["teacher"] = "tok-teacher"
        config = root / "config.py"
        config.write_text(
            "\n".join(
                [
                    f"c.GraderService.grader_service_dir = {str(root / 'data')!r}",
                    "c.GraderService.service_port = 0",
                    "c.GraderService.log_level = 'WARN'",
                    "c.GraderService.authenticator_class = "
                    "'grader_service.auth.StaticTokenAuthenticator'",
                    "c.StaticTokenAuthenticator.tokens = "
                    f"{ {t: n for n, t in self.tokens.items()}!r}",
                    "c.GraderService.load_roles = {'bench': ["
                    "{'role': 'instructor', 'members': ['teacher']},"
                    "{'role': 'student', 'members': "
                    f"{[n for n in self.tokens if n != 'teacher']!r}}}]}}",
                ]
            )
        )
        self.config = config
        self.url = ""
        self.proc: asyncio.subprocess.Process | None = None
        self.drain: asyncio.Future[bytes] | None = None
        self.http = AsyncHTTPClient(max_clients=64)

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "grader_service.app",
            "-f",
            str(self.config),
            "--log-level=INFO",
            cwd=self.root,
            stderr=asyncio.subprocess.PIPE,
        )
        assert self.proc.stderr is not None
        while line := (await self.proc.stderr.readline()).decode():
            if match := LISTENING.search(line):
                self.url = f"http://127.0.0.1:{match.group(1)}{match.group(2)}"
                self.drain = asyncio.ensure_future(self.proc.stderr.read())  # keep reading
                return
        raise RuntimeError("service did not start")

    async def api(self, method: str, path: str, user: str, body: object = None) -> dict:
        response = await self.http.fetch(
            self.url + "api/" + path,
            method=method,
            headers={"Authorization": f"token {self.tokens[user]}"},
            body=json.dumps(body) if body is not None else (b"" if method == "POST" else None),
        )
        return json.loads(response.body) if response.body else {}

    async def stop(self) -> None:
        if self.proc and self.proc.returncode is None:
            self.proc.terminate()
            await self.proc.wait()


async def prepare(service: Service, root: Path) -> tuple[int, int]:
    """Create, push and release the assignment; returns (lecture id, assignment id)."""
    lecture = (await service.api("GET", "lectures", "teacher"))[0]["id"]
    aid = (await service.api("POST", f"lectures/{lecture}/assignments", "teacher", {"name": "hw"}))[
        "id"
    ]
    git = Git(service.tokens["teacher"], "teacher")
    src = root / "source"
    await git("clone", "--quiet", f"{service.url}git/bench/{aid}/source", str(src))
    for i in range(3):
        nbformat.write(notebook(i, 66), src / f"part{i}.ipynb")
    await git("add", "--all", cwd=src)
    await git("commit", "--quiet", "-m", "assignment", cwd=src)
    await git("push", "--quiet", "origin", "main", cwd=src)
    await service.api("POST", f"lectures/{lecture}/assignments/{aid}/release", "teacher")
    return lecture, aid


async def round_trip(
    service: Service, root: Path, lecture: int, aid: int, student: str, n: int
) -> float:
    """One "Submit": edit, commit, push, POST submission. Returns seconds."""
    git = Git(service.tokens[student], student)
    work = root / student
    if not work.exists():
        await git("clone", "--quiet", f"{service.url}git/bench/{aid}/user/{student}", str(work))
    path = work / "part0.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells[1].source = f"def f(x):\n    return 2 * x  # attempt {n}\n"
    nbformat.write(nb, path)
    started = time.perf_counter()
    await git("commit", "--quiet", "-am", f"attempt {n}", cwd=work)
    sha = await git("rev-parse", "HEAD", cwd=work)
    await git("push", "--quiet", "origin", "main", cwd=work)
    await service.api(
        "POST", f"lectures/{lecture}/assignments/{aid}/submissions", student, {"commit_hash": sha}
    )
    return time.perf_counter() - started


def service_cpu_seconds(pid: int) -> tuple[float, float]:
    """CPU seconds of the service process itself and of its finished children (git)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    own, children = (int(fields[11]) + int(fields[12]), int(fields[13]) + int(fields[14]))
    tick = os.sysconf("SC_CLK_TCK")
    return own / tick, children / tick


def client_cpu_seconds() -> float:
    """CPU seconds of this process's finished children: the students' git commands.

    The service is a child too, but it is reaped only at the end, so it is not counted.
    """
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="submissions per student and level")
    parser.add_argument("--students", type=int, default=20, help="the concurrent level")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        service = Service(root, args.students)
        await service.start()
        try:
            lecture, aid = await prepare(service, root)
            size = sum(p.stat().st_size for p in (root / "source").glob("*.ipynb"))
            print(f"assignment: 3 notebooks, {size / 1024:.0f} KB; service {service.url}")
            results: dict[int, list[float]] = {}
            cpu: dict[int, tuple[float, float, float]] = {}
            assert service.proc is not None
            for level in (1, args.students):
                times: list[float] = []
                cpu_before = service_cpu_seconds(service.proc.pid)
                client_before = client_cpu_seconds()
                for n in range(args.rounds):
                    batch = await asyncio.gather(
                        *(
                            round_trip(service, root, lecture, aid, f"s{i:02d}", n + 100 * level)
                            for i in range(level)
                        )
                    )
                    times += batch
                results[level] = times
                cpu_after = service_cpu_seconds(service.proc.pid)
                cpu[level] = (
                    (cpu_after[0] - cpu_before[0]) / len(times),
                    (cpu_after[1] - cpu_before[1]) / len(times),
                    (client_cpu_seconds() - client_before) / len(times),
                )
            cores = len(os.sched_getaffinity(0))
            print(
                f"\n{'concurrent students':>20} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} "
                f"{'p95/target':>11} {'CPU ms/submit: service + its git + client git':>46}"
                f" {'CPU floor ms':>13}"
            )
            for level, times in results.items():
                p95 = percentile(times, 0.95)
                own, children, client = cpu[level]
                # all students submit at once and the machine's cores do everything
                # (service and clients): the last one cannot finish before this
                floor = level * (own + children + client) / min(cores, level)
                print(
                    f"{level:>20} {len(times):>5} {1000 * statistics.median(times):>8.0f} "
                    f"{1000 * p95:>8.0f} {p95 / TARGET_P95_S:>10.2f}x "
                    f"{1000 * own:>21.0f} + {1000 * children:>6.0f} + {1000 * client:<14.0f}"
                    f" {1000 * floor:>13.0f}"
                )
            print(
                f"CPU floor: concurrent students x CPU per submit / {cores} cores, the "
                "least time the last of a burst needs when clients share the machine."
            )
            ratio = statistics.median(results[args.students]) / statistics.median(results[1])
            print(f"\nmedian at {args.students} students / median alone: {ratio:.2f}x")
        finally:
            await service.stop()


if __name__ == "__main__":
    asyncio.run(main())

"""Push + submit round trip of a typical assignment, with 1 and with 20 students at once.

    .venv/bin/python benchmarks/git_submit.py [--rounds 5] [--students 20]
        [--db URL] [--baseline REV [--db URL2]] [--grade-here]

Starts the real service (``grader-service`` in its own process, SQLite or ``--db``) as an
API replica (grading elsewhere unless ``--grade-here``), releases an assignment of 3
notebooks (about 200 KB), lets each student change an answer, then times what pressing
"Submit" costs when everyone does at once: commit, ``git push`` over HTTP (with the
server-side push policy hook) and the submission API call. Each student works in their
own clone. Prints p50/p95 per concurrency level, the ratio of p95 to the target (1 s at
20 concurrent students) and the CPU each part used. ``--baseline REV`` runs the service
of another git revision beside this one, bursts alternating, and prints the ratios.
See benchmarks/README.md.
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
from dataclasses import dataclass
from pathlib import Path

import nbformat
from git import Repo
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

    def __init__(
        self,
        name: str,
        root: Path,
        students: int,
        grading: bool,
        code: Path | None = None,
        db_url: str | None = None,
    ) -> None:
        self.name = name
        self.root = root
        self.code = code  # grader_service is imported from here (a baseline) if set
        root.mkdir(parents=True)
        self.tokens = {f"s{i:02d}": f"tok-s{i:02d}" for i in range(students)}
        self.tokens["teacher"] = "tok-teacher"
        config = root / "config.py"
        config.write_text(
            "\n".join(
                [
                    f"c.GraderService.grader_service_dir = {str(root / 'data')!r}",
                    "c.GraderService.service_port = 0",
                    "c.GraderService.log_level = 'WARN'",
                    f"c.GraderService.grading_enabled = {grading!r}",
                    *([f"c.GraderService.db_url = {db_url!r}"] if db_url else []),
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
            env=os.environ | ({"PYTHONPATH": str(self.code)} if self.code else {}),
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
        """SIGTERM, as an operator would; a service that does not stop in time is an error."""
        if self.proc and self.proc.returncode is None:
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 60)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
                log = (await self.drain).decode(errors="replace") if self.drain else ""
                raise RuntimeError(
                    "grader-service did not stop within 60 s of SIGTERM; its log ends:\n"
                    + "\n".join(log.splitlines()[-40:])
                ) from None


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


async def edit(service: Service, root: Path, aid: int, student: str, n: int) -> Git:
    """The student's work before "Submit": a clone (once) and a changed answer."""
    git = Git(service.tokens[student], student)
    work = root / student
    if not work.exists():
        await git("clone", "--quiet", f"{service.url}git/bench/{aid}/user/{student}", str(work))
    path = work / "part0.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells[1].source = f"def f(x):\n    return 2 * x  # attempt {n}\n"
    nbformat.write(nb, path)
    return git


async def submit(
    service: Service, root: Path, lecture: int, aid: int, student: str, git: Git, n: int
) -> float:
    """One "Submit" as the lab extension makes it: commit, push, POST. Returns seconds."""
    work = root / student
    started = time.perf_counter()
    await git("commit", "--quiet", "-am", f"attempt {n}", cwd=work)
    sha = Repo(work).head.commit.hexsha  # read from the files, as the extension does
    await git("push", "--quiet", "origin", "main", cwd=work)
    await service.api(
        "POST", f"lectures/{lecture}/assignments/{aid}/submissions", student, {"commit_hash": sha}
    )
    return time.perf_counter() - started


@dataclass(frozen=True)
class Cpu:
    """CPU seconds used so far, split by who used them."""

    service: float
    """The service process itself (Python: HTTP, auth, database, git plumbing)."""
    service_git: float
    """The service's finished children: the git processes serving pushes."""
    clients: float
    """This process's finished children: the students' git commands (the service is a
    child too, but it is reaped only at the end, so it is not counted)."""
    machine: float
    """All cores of the machine, whoever used them (this benchmark's Python too)."""

    @classmethod
    def now(cls, service_pid: int) -> Cpu:
        tick = os.sysconf("SC_CLK_TCK")
        fields = Path(f"/proc/{service_pid}/stat").read_text().rsplit(")", 1)[1].split()
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        user, nice, system, _idle, _iowait, irq, softirq, steal = (
            int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]
        )
        return cls(
            service=(int(fields[11]) + int(fields[12])) / tick,
            service_git=(int(fields[13]) + int(fields[14])) / tick,
            clients=usage.ru_utime + usage.ru_stime,
            machine=(user + nice + system + irq + softirq + steal) / tick,
        )

    def __sub__(self, other: Cpu) -> Cpu:
        return Cpu(*(getattr(self, f) - getattr(other, f) for f in _CPU_FIELDS))

    def __add__(self, other: Cpu) -> Cpu:
        return Cpu(*(getattr(self, f) + getattr(other, f) for f in _CPU_FIELDS))

    def per(self, n: int) -> Cpu:
        return Cpu(*(getattr(self, f) / n for f in _CPU_FIELDS))


_CPU_FIELDS = ("service", "service_git", "clients", "machine")
NO_CPU = Cpu(0.0, 0.0, 0.0, 0.0)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def baseline_code(rev: str, into: Path) -> Path:
    """The service's code (and migrations) at git revision ``rev``, extracted to ``into``."""
    into.mkdir()
    top = Path(__file__).resolve().parent.parent
    archive = await asyncio.create_subprocess_shell(
        f"git -C {top} archive {rev} grader_service migrations | tar -x -C {into}",
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await archive.communicate()
    if archive.returncode or not (into / "grader_service").is_dir():
        raise SystemExit(f"--baseline {rev}: {err.decode().strip() or 'no grader_service there'}")
    return into


async def empty_database(url: str) -> None:
    """Drop everything in the database at ``url`` (the service creates its schema)."""
    from sqlalchemy import MetaData, text

    from grader_service.orm.db import create_engine

    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            metadata = MetaData()
            await connection.run_sync(metadata.reflect)
            await connection.run_sync(metadata.drop_all)
            await connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    finally:
        await engine.dispose()


async def measure(
    service: Service, lecture: int, aid: int, students: list[str], attempt: int
) -> tuple[list[float], Cpu]:
    """Everyone edits (not timed), then all press "Submit" at once: times and CPU used."""
    assert service.proc is not None
    gits = await asyncio.gather(*(edit(service, service.root, aid, s, attempt) for s in students))
    before = Cpu.now(service.proc.pid)
    times = await asyncio.gather(
        *(
            submit(service, service.root, lecture, aid, s, git, attempt)
            for s, git in zip(students, gits, strict=True)
        )
    )
    return times, Cpu.now(service.proc.pid) - before


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="submissions per student and level")
    parser.add_argument("--students", type=int, default=20, help="the concurrent level")
    parser.add_argument("--grade-here", action="store_true", help="grade in the same service")
    parser.add_argument(
        "--db",
        metavar="URL",
        action="append",
        help="PostgreSQL database for the service (SQLite if not given; twice with "
        "--baseline: one each). Its tables are dropped and created again",
    )
    parser.add_argument(
        "--baseline",
        metavar="REV",
        help="also run the service of git revision REV, alternating bursts with this one",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        databases = args.db or []
        if databases and len(databases) != 1 + bool(args.baseline):
            parser.error("give one --db per service (two with --baseline)")
        for url in databases:
            await empty_database(url)
        services = [
            Service(
                "this checkout",
                root / "current",
                args.students,
                args.grade_here,
                db_url=databases[0] if databases else None,
            )
        ]
        if args.baseline:
            code = await baseline_code(args.baseline, root / "baseline-code")
            services.append(
                Service(
                    args.baseline,
                    root / "baseline",
                    args.students,
                    args.grade_here,
                    code,
                    db_url=databases[1] if databases else None,
                )
            )
        assignments: dict[str, tuple[int, int]] = {}
        try:
            for service in services:
                await service.start()
                assignments[service.name] = await prepare(service, service.root)
            size = sum(p.stat().st_size for p in (root / "current/source").glob("*.ipynb"))
            print(f"assignment: 3 notebooks, {size / 1024:.0f} KB")
            where = "in the service" if args.grade_here else "elsewhere (grading_enabled=False)"
            print(f"grading of the submissions: {where}")
            times: dict[tuple[str, int], list[float]] = {}
            cpu: dict[tuple[str, int], Cpu] = {}
            for level in (1, args.students):
                students = [f"s{i:02d}" for i in range(level)]
                for n in range(args.rounds):
                    # alternate who goes first: both see the same machine, noise included
                    order = services if n % 2 == 0 else services[::-1]
                    for service in order:
                        key = (service.name, level)
                        burst, used = await measure(
                            service, *assignments[service.name], students, n + 100 * level
                        )
                        times[key] = times.get(key, []) + burst
                        cpu[key] = cpu.get(key, NO_CPU) + used
            report(times, cpu, len(os.sched_getaffinity(0)))
            if args.baseline:
                compare(times, cpu, services[0].name, args.baseline, args.students)
        finally:
            for service in services:
                await service.stop()


def report(
    times: dict[tuple[str, int], list[float]], cpu: dict[tuple[str, int], Cpu], cores: int
) -> None:
    """The table: latency, the CPU each part used per submit, and the burst's CPU floor."""
    print(
        f"\n{'service':>14} {'students':>9} {'n':>5} {'p50 ms':>7} {'p95 ms':>7} "
        f"{'p95/target':>11} {'CPU ms/submit: service + its git + client git':>46}"
        f" {'CPU floor ms':>13} {'machine CPU ms/submit':>22}"
    )
    for (name, level), samples in times.items():
        c = cpu[name, level].per(len(samples))
        p95 = percentile(samples, 0.95)
        # all students submit at once and the machine's cores do everything
        # (service and clients): the last one cannot finish before this
        floor = level * (c.service + c.service_git + c.clients) / min(cores, level)
        print(
            f"{name[:14]:>14} {level:>9} {len(samples):>5} "
            f"{1000 * statistics.median(samples):>7.0f} {1000 * p95:>7.0f} "
            f"{p95 / TARGET_P95_S:>10.2f}x "
            f"{1000 * c.service:>21.0f} + {1000 * c.service_git:>6.0f} + "
            f"{1000 * c.clients:<14.0f} {1000 * floor:>13.0f} {1000 * c.machine:>22.0f}"
        )
    print(
        f"CPU floor: students x CPU per submit / {cores} cores, the least time the last "
        "of a burst needs when clients share the machine.\n"
        "machine CPU: all cores during the bursts, whoever used them (also this "
        "benchmark's own Python)."
    )
    for name in dict.fromkeys(name for name, _ in times):
        levels = sorted(level for n, level in times if n == name)
        alone, crowd = (statistics.median(times[name, lv]) for lv in (levels[0], levels[-1]))
        print(f"{name}: median at {levels[-1]} students / median alone: {crowd / alone:.2f}x")


def compare(
    times: dict[tuple[str, int], list[float]],
    cpu: dict[tuple[str, int], Cpu],
    current: str,
    baseline: str,
    students: int,
) -> None:
    """Baseline / this checkout, from bursts that alternated on the same machine."""
    print(f"\n{baseline} / this checkout at {students} students (above 1: this one is better)")
    for label, pick in (
        ("p50", lambda name: statistics.median(times[name, students])),
        ("p95", lambda name: percentile(times[name, students], 0.95)),
        ("service CPU", lambda name: cpu[name, students].service),
        ("service git CPU", lambda name: cpu[name, students].service_git),
    ):
        print(f"  {label:>16}: {pick(baseline) / max(pick(current), 1e-9):.2f}x")


if __name__ == "__main__":
    asyncio.run(main())

"""Benchmark of the list, grade-sheet and CSV routes (issue 3, "Benchmark").

Seeds 1 lecture, 1,000 students, 10 assignments and 30,000 submissions (3 per student
and assignment) into a fresh database, serves it with the real service and times the
routes over HTTP::

    .venv/bin/python benchmarks/api_lists.py                       # SQLite only
    .venv/bin/python benchmarks/api_lists.py --db both \\
        --pg-url postgresql://postgres@127.0.0.1:55432/postgres    # side by side

Why it is built this way:

- The service runs as a subprocess (``grader-service -f <generated config>``) and the
  client is this process, sending one request at a time over a keep-alive connection,
  so the load generator never competes with the service for its event loop.
- The schema comes from the service's own start-up (its alembic migrations); seeding
  then goes straight through SQLAlchemy bulk inserts, because seeding is not measured.
- PostgreSQL gets ``ANALYZE`` after seeding, which autovacuum would do within a minute
  in production; SQLite gets nothing, as a real SQLite deployment gets nothing.
- Each route is warmed up, then timed ``--repeat`` times, and the whole set is run
  ``--rounds`` times. The table shows the best round's p50 and p95 and, in brackets,
  the worst round's p95: on a shared 2-core machine the spread is part of the answer.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import http.client
import io
import json
import math
import os
import random
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from grader_service.orm import (
    Assignment,
    AssignmentSettings,
    AssignmentStatus,
    AutoStatus,
    FeedbackStatus,
    Lecture,
    LectureRole,
    ManualStatus,
    Role,
    RoleSource,
    Submission,
    User,
)
from grader_service.orm.db import create_engine

STUDENTS = 1000
ASSIGNMENTS = 10
SUBMISSIONS_PER_STUDENT = 3
LECTURE_CODE = "bench"
INSTRUCTOR, STUDENT = "bench-instructor", "student0042"
TOKENS = {"instructor-token": INSTRUCTOR, "student-token": STUDENT}

PAGE_TARGET_MS = 50.0  # issue 3: p95 < 50 ms for a paginated page of 100 submissions
SHEET_TARGET_MS = 1000.0  # issue 3: p95 < 1 s for the full lecture grade sheet as CSV


# -- the database ----------------------------------------------------------------------


@contextlib.contextmanager
def fresh_database(backend: str, pg_url: str | None, workdir: Path) -> Iterator[str]:
    """A new, empty database on ``backend``; a PostgreSQL one is dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{workdir / 'grader.sqlite'}"
        return
    assert pg_url is not None
    import asyncpg

    admin_dsn = make_url(pg_url).set(drivername="postgresql").render_as_string(False)
    name = f"grader_bench_{secrets.token_hex(4)}"

    async def run(statement: str) -> None:
        conn = await asyncpg.connect(admin_dsn)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(pg_url).set(database=name).render_as_string(False)
    finally:
        asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@dataclass(frozen=True)
class Seeded:
    """What the routes under test need to know about the seeded data."""

    lecture_id: int
    assignment_ids: list[int]


def _submission_rows(
    student_ids: list[int], assignment_ids: list[int], rng: random.Random
) -> list[dict[str, Any]]:
    """3 submissions per student and assignment, over the days before each deadline.

    Scores have one decimal, so ties for "best" are common; one in twenty submissions
    is not graded yet (score null), and some share a timestamp (ties for "latest").
    """
    start = datetime.now(UTC) - timedelta(days=40)
    rows = []
    for number, assignment_id in enumerate(assignment_ids):
        opens = start + timedelta(days=3 * number)
        for user_id in student_ids:
            times = sorted(opens + timedelta(seconds=rng.randrange(3 * 86400)) for _ in range(3))
            if rng.random() < 0.02:
                times[2] = times[1]
            for submitted_at in times:
                graded = rng.random() >= 0.05
                grading_score = round(rng.uniform(0, 10), 1) if graded else 0.0
                rows.append(
                    {
                        "assignment_id": assignment_id,
                        "user_id": user_id,
                        "submitted_at": submitted_at,
                        "commit_hash": secrets.token_hex(20),
                        "auto_status": (
                            AutoStatus.AUTOMATICALLY_GRADED if graded else AutoStatus.PENDING
                        ),
                        "manual_status": ManualStatus.NOT_GRADED,
                        "feedback_status": (
                            FeedbackStatus.GENERATED
                            if graded and rng.random() < 0.5
                            else FeedbackStatus.NOT_GENERATED
                        ),
                        "grading_score": grading_score,
                        "score_scaling": 1.0,
                        "score": grading_score if graded else None,
                        "updated_at": submitted_at,
                    }
                )
    return rows


async def seed(db_url: str) -> Seeded:
    """Bulk-insert the students, assignments and submissions of lecture ``bench``."""
    rng = random.Random(3)
    engine = create_engine(db_url)
    try:
        async with AsyncSession(engine) as session:
            lecture_id = await session.scalar(
                select(Lecture.id).where(Lecture.code == LECTURE_CODE)
            )
            assert lecture_id is not None, "the service should have created the lecture"
            await session.execute(
                insert(User),
                [
                    {"name": f"student{i:04d}", "display_name": f"Student {i:04d}"}
                    for i in range(STUDENTS)
                ],
            )
            student_ids = list(
                (await session.scalars(select(User.id).where(User.name.like("student%")))).all()
            )
            await session.execute(
                insert(Role),
                [
                    {
                        "user_id": user_id,
                        "lecture_id": lecture_id,
                        "role": LectureRole.STUDENT,
                        "source": RoleSource.API,
                    }
                    for user_id in student_ids
                ],
            )
            deadline = datetime.now(UTC) - timedelta(days=7)
            await session.execute(
                insert(Assignment),
                [
                    {
                        "lecture_id": lecture_id,
                        "name": f"assignment-{k + 1:02d}",
                        "status": AssignmentStatus.RELEASED,
                        "points": 10.0,
                        "settings": AssignmentSettings(deadline=deadline),
                    }
                    for k in range(ASSIGNMENTS)
                ],
            )
            assignment_ids = list(
                (
                    await session.scalars(
                        select(Assignment.id)
                        .where(Assignment.lecture_id == lecture_id)
                        .order_by(Assignment.id)
                    )
                ).all()
            )
            rows = _submission_rows(student_ids, assignment_ids, rng)
            for chunk in range(0, len(rows), 5000):
                await session.execute(insert(Submission), rows[chunk : chunk + 5000])
            await session.commit()
        if engine.url.get_backend_name() == "postgresql":
            async with engine.begin() as conn:
                await conn.execute(text("ANALYZE"))
        return Seeded(lecture_id=lecture_id, assignment_ids=assignment_ids)
    finally:
        await engine.dispose()


# -- the service -----------------------------------------------------------------------


@contextlib.contextmanager
def running_service(db_url: str, workdir: Path) -> Iterator[str]:
    """Start ``grader-service`` on ``db_url`` in a subprocess; yields its API base URL."""
    config = workdir / "bench_config.py"
    config.write_text(
        f"c.GraderService.db_url = {db_url!r}\n"
        f"c.GraderService.grader_service_dir = {str(workdir / 'data')!r}\n"
        "c.GraderService.service_host = '127.0.0.1'\n"
        "c.GraderService.service_port = 0\n"
        "c.GraderService.authenticator_class = "
        "'grader_service.auth.StaticTokenAuthenticator'\n"
        f"c.StaticTokenAuthenticator.tokens = {TOKENS!r}\n"
        f"c.GraderService.load_roles = {{{LECTURE_CODE!r}: "
        f"[{{'role': 'instructor', 'members': [{INSTRUCTOR!r}]}}]}}\n"
    )
    log_path = workdir / "service.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-c", "from grader_service.app import main; main()", "-f", config],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=workdir,
            start_new_session=True,
        )
    try:
        port = _wait_for_port(process, log_path)
        yield f"http://127.0.0.1:{port}/services/grader/api/"
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_for_port(process: subprocess.Popen[bytes], log_path: Path) -> int:
    """The port from the service's "is listening" log line, once it appears."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if match := re.search(rb"is listening on http://[^:]+:(\d+)", log_path.read_bytes()):
            return int(match.group(1))
        if process.poll() is not None:
            break
        time.sleep(0.1)
    tail = log_path.read_text(errors="replace")[-3000:]
    raise RuntimeError(f"grader-service did not start; its log ends with:\n{tail}")


# -- the routes under test ---------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """A response as the sanity checks see it."""

    status: int
    body: bytes
    headers: http.client.HTTPMessage

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)

    def csv_rows(self) -> list[list[str]]:
        """The body parsed as CSV, header row included."""
        return list(csv.reader(io.StringIO(self.body.decode())))


@dataclass(frozen=True)
class Case:
    """One route: the path of its i-th request, a check of a reply, the p95 target."""

    name: str
    path: Callable[[Seeded, int], str]
    check: Callable[[Reply], None]
    target_ms: float | None
    token: str = "instructor-token"


def _expect_page(total: int, rows: int) -> Callable[[Reply], None]:
    def check(reply: Reply) -> None:
        assert reply.headers["X-Total-Count"] == str(total), reply.headers["X-Total-Count"]
        body = reply.json() if reply.headers["Content-Type"].startswith("application/json") else []
        count = len(body) if body else len(reply.csv_rows()) - 1
        assert count == rows, (count, rows)

    return check


def _expect_sheet(reply: Reply) -> None:
    if reply.headers["Content-Type"].startswith("text/csv"):
        rows = reply.csv_rows()
        assert len(rows) == STUDENTS + 1 and len(rows[0]) == 2 + ASSIGNMENTS, len(rows)
    else:
        sheet = reply.json()
        assert len(sheet) == STUDENTS and len(sheet[0]["scores"]) == ASSIGNMENTS, len(sheet)


def _submissions(seeded: Seeded, i: int, query: str) -> str:
    """An assignment's submission list; the i-th request picks the i-th assignment."""
    assignment = seeded.assignment_ids[i % len(seeded.assignment_ids)]
    return (
        f"lectures/{seeded.lecture_id}/assignments/{assignment}/submissions"
        f"?instructor-version=true&{query}"
    )


ALL_PER_ASSIGNMENT = STUDENTS * SUBMISSIONS_PER_STUDENT
CASES = [
    Case(
        "page of 100, filter=none",
        lambda s, i: _submissions(s, i, f"limit=100&offset={(7 * i) % 30 * 100}"),
        _expect_page(ALL_PER_ASSIGNMENT, 100),
        PAGE_TARGET_MS,
    ),
    Case(
        "page of 100, filter=latest",
        lambda s, i: _submissions(s, i, f"filter=latest&limit=100&offset={(3 * i) % 10 * 100}"),
        _expect_page(STUDENTS, 100),
        PAGE_TARGET_MS,
    ),
    Case(
        "page of 100, filter=best",
        lambda s, i: _submissions(s, i, f"filter=best&limit=100&offset={(3 * i) % 10 * 100}"),
        _expect_page(STUDENTS, 100),
        PAGE_TARGET_MS,
    ),
    Case(
        "grade sheet JSON, best",
        lambda s, i: f"lectures/{s.lecture_id}/submissions?filter=best",
        _expect_sheet,
        SHEET_TARGET_MS,
    ),
    Case(
        "grade sheet CSV, best",
        lambda s, i: f"lectures/{s.lecture_id}/submissions?filter=best&format=csv",
        _expect_sheet,
        SHEET_TARGET_MS,
    ),
    Case(
        "grade sheet CSV, latest",
        lambda s, i: f"lectures/{s.lecture_id}/submissions?filter=latest&format=csv",
        _expect_sheet,
        SHEET_TARGET_MS,
    ),
    Case(
        "assignment CSV, latest (1000 rows)",
        lambda s, i: _submissions(s, i, "filter=latest&format=csv&limit=1000"),
        _expect_page(STUDENTS, STUDENTS),
        None,
    ),
    Case(
        "assignment CSV, all (page of 1000)",
        lambda s, i: _submissions(s, i, f"format=csv&limit=1000&offset={i % 3 * 1000}"),
        _expect_page(ALL_PER_ASSIGNMENT, 1000),
        None,
    ),
    Case(
        "a student's submissions (30)",
        lambda s, i: f"users/{STUDENT}/submissions",
        _expect_page(ASSIGNMENTS * SUBMISSIONS_PER_STUDENT, ASSIGNMENTS * SUBMISSIONS_PER_STUDENT),
        PAGE_TARGET_MS,
        token="student-token",
    ),
]


# -- measuring ---------------------------------------------------------------------------


class Client:
    """Sequential GETs over one keep-alive connection; returns the reply and its time."""

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        self.prefix = parts.path
        self.connection = http.client.HTTPConnection(parts.netloc, timeout=120)

    def get(self, path: str, token: str) -> tuple[Reply, float]:
        """GET ``{base}api/{path}``; the time covers sending and reading the whole body."""
        started = time.perf_counter()
        self.connection.request(
            "GET", self.prefix + path, headers={"Authorization": f"token {token}"}
        )
        response = self.connection.getresponse()
        body = response.read()
        elapsed_ms = 1000.0 * (time.perf_counter() - started)
        return Reply(response.status, body, response.headers), elapsed_ms

    def close(self) -> None:
        """Close the connection."""
        self.connection.close()


def percentile(samples: list[float], fraction: float) -> float:
    """Nearest-rank percentile (p95 of 40 samples is the 38th fastest)."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


@dataclass
class Timing:
    """p50 and p95 of each round of one route on one backend."""

    rounds: list[tuple[float, float]] = field(default_factory=list)

    @property
    def best_p50(self) -> float:
        """The lowest median of any round."""
        return min(p50 for p50, _ in self.rounds)

    @property
    def best_p95(self) -> float:
        """The lowest p95 of any round (the least disturbed one)."""
        return min(p95 for _, p95 in self.rounds)

    @property
    def worst_p95(self) -> float:
        """The highest p95 of any round (how much the machine's load shows)."""
        return max(p95 for _, p95 in self.rounds)


def measure(
    client: Client, seeded: Seeded, case: Case, warmup: int, repeat: int
) -> tuple[float, float]:
    """Warm up (checking every reply), then time ``repeat`` requests: (p50, p95) in ms."""
    samples = []
    for i in range(warmup + repeat):
        reply, elapsed_ms = client.get(case.path(seeded, i), case.token)
        if reply.status != 200:
            raise RuntimeError(f"{case.name}: HTTP {reply.status}: {reply.body[:500]!r}")
        if i < warmup:
            case.check(reply)
        else:
            samples.append(elapsed_ms)
    return percentile(samples, 0.5), percentile(samples, 0.95)


def run_backend(backend: str, pg_url: str | None, args: argparse.Namespace) -> dict[str, Timing]:
    """Seed a fresh database on ``backend``, serve it, and time every case."""
    timings = {case.name: Timing() for case in CASES}
    with tempfile.TemporaryDirectory(prefix="grader-bench-") as tmp:
        workdir = Path(tmp)
        with (
            fresh_database(backend, pg_url, workdir) as db_url,
            running_service(db_url, workdir) as base_url,
        ):
            started = time.monotonic()
            seeded = asyncio.run(seed(db_url))
            say(f"{backend}: seeded in {time.monotonic() - started:.1f}s")
            client = Client(base_url)
            try:
                for number in range(1, args.rounds + 1):
                    for case in CASES:
                        p50, p95 = measure(client, seeded, case, args.warmup, args.repeat)
                        timings[case.name].rounds.append((p50, p95))
                        say(
                            f"{backend} round {number}/{args.rounds}: {case.name}: "
                            f"p50 {p50:.1f} ms, p95 {p95:.1f} ms"
                        )
            finally:
                client.close()
    return timings


# -- reporting ---------------------------------------------------------------------------


def _ms(value: float) -> str:
    return f"{value:.0f}" if value >= 100 else f"{value:.1f}"


def render_table(results: dict[str, dict[str, Timing]]) -> str:
    """One markdown table: a row per route, p50/p95/ratio columns per backend."""
    header = ["route", "target p95"]
    for backend in results:
        header += [f"{backend} p50", f"{backend} p95 [worst]", "p95/target"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for case in CASES:
        cells = [case.name, "-" if case.target_ms is None else f"{_ms(case.target_ms)} ms"]
        for timings in results.values():
            timing = timings[case.name]
            ratio = "-"
            if case.target_ms is not None:
                value = timing.best_p95 / case.target_ms
                ratio = f"{value:.2f}" + ("" if value < 1 else " MISS")
            cells += [
                _ms(timing.best_p50),
                f"{_ms(timing.best_p95)} [{_ms(timing.worst_p95)}]",
                ratio,
            ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def say(message: str) -> None:
    """Progress on standard error (the table alone goes to standard output)."""
    print(message, file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line; ``--db`` defaults to both backends when a PostgreSQL URL is known."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"])
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("GRADER_BENCH_POSTGRES_URL"),
        help="PostgreSQL server URL; a fresh database is created in it and dropped after "
        "(default: $GRADER_BENCH_POSTGRES_URL)",
    )
    parser.add_argument("--repeat", type=int, default=40, help="timed requests per route")
    parser.add_argument("--warmup", type=int, default=5, help="untimed requests per route")
    parser.add_argument("--rounds", type=int, default=3, help="times to run the whole set")
    args = parser.parse_args(argv)
    if args.db is None:
        args.db = "both" if args.pg_url else "sqlite"
    if args.db != "sqlite" and not args.pg_url:
        parser.error("--db postgresql|both needs --pg-url")
    return args


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print the table."""
    args = parse_args(argv)
    backends = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    say(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    results = {backend: run_backend(backend, args.pg_url, args) for backend in backends}
    say(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(
        f"{STUDENTS} students x {ASSIGNMENTS} assignments x {SUBMISSIONS_PER_STUDENT} "
        f"submissions; {args.rounds} rounds of {args.warmup} warm-up + {args.repeat} timed "
        "requests per route; ms, best round [worst round's p95]"
    )
    print(render_table(results))


if __name__ == "__main__":
    main()

"""Grading pipeline benchmark: submit -> graded, against the nbclient floor and Grader Service.

Run from the repository root (needs bubblewrap, git and, for the reference, PyPI)::

    .venv/bin/python benchmarks/grading.py                 # everything
    .venv/bin/python benchmarks/grading.py --no-reference  # skip Grader Service 0.12.5

What it measures, side by side in one run on the same 10-cell assignment
(``reference_grader_service.make_demo_assignment``):

1. **floor**: the bare nbclient run of one submitted notebook in this process (kernel
   start, 10 cells, shutdown), median of several runs. Nothing can grade faster.
2. **latency**: our service (a real ``grader-service`` subprocess: SQLite, the local
   executor, kernels in the bubblewrap sandbox) from ``POST .../submissions`` until the
   submission reads ``automatically_graded``, one submission at a time. Target: p50 /
   floor <= 1.3.
3. **throughput**: 50 submissions posted at once, graded with concurrency 2; the ideal is
   50 x floor / 2. Target: ideal / actual >= 0.8.
4. **loop lag**: while 3 runs, ``GET {base}api/health`` is probed every 50 ms; its p99
   latency bounds the event loop's lag from above. Target: < 50 ms.
5. **reference**: the same 50 submissions through Grader Service 0.12.5's own
   ``LocalAutogradeProcessExecutor`` (installed from PyPI into ``.cache/``; see
   ``reference_grader_service.py`` for what of their path is included), concurrency 2.

Scores of both systems are checked against the expected ones before any time is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import nbformat
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from tornado.httpclient import AsyncHTTPClient, HTTPClientError

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from reference_grader_service import make_demo_assignment, run_reference  # noqa: E402

from tests.gitutil import GitClient  # noqa: E402
from tests.grading.service_process import ServiceProcess  # noqa: E402

LECTURE = "bench"


def busy_cpu_seconds() -> float:
    """CPU time all processes of the machine have used so far (from /proc/stat)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq = (int(x) for x in fields[:7])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) by nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


async def nbclient_floor(notebook: Path, runs: int) -> tuple[float, float]:
    """Median wall and CPU seconds of a bare nbclient run: kernel start, cells, shutdown."""
    times, cpu = [], []
    for _ in range(runs):
        nb = nbformat.read(notebook, as_version=4)
        started, cpu_before = time.perf_counter(), busy_cpu_seconds()
        client = NotebookClient(
            nb, km=AsyncKernelManager(kernel_name="python3"), allow_errors=True, timeout=60
        )
        await client.async_execute(cwd=str(notebook.parent))
        times.append(time.perf_counter() - started)
        cpu.append(busy_cpu_seconds() - cpu_before)
    return statistics.median(times), statistics.median(cpu)


class Bench:
    """Our service in a subprocess, with one lecture of students and an instructor."""

    def __init__(self, root: Path, students: list[str]) -> None:
        self.root = root
        self.students = students
        self.tokens = {name: f"{name}-token" for name in ["teacher", *students]}
        self.http = AsyncHTTPClient(force_instance=True)
        self.url = ""
        self.assignment_id = 0

    def config(self) -> Path:
        data = self.root / "data"
        return ServiceProcess.write_config(
            self.root / "grader_service_config.py",
            {
                "GraderService": {
                    "grader_service_dir": str(data),
                    "service_port": 0,
                    "authenticator_class": "grader_service.auth.StaticTokenAuthenticator",
                    "load_roles": {
                        LECTURE: [
                            {"role": "instructor", "members": ["teacher"]},
                            {"role": "student", "members": self.students},
                        ]
                    },
                },
                "StaticTokenAuthenticator": {"tokens": {t: n for n, t in self.tokens.items()}},
                "GradingScheduler": {"max_concurrent_jobs": 2, "poll_interval": 0.5},
                "KernelPool": {"size": 2},
                "LocalAutogradeExecutor": {
                    "work_dir": tempfile.mkdtemp(prefix="gs-bench-", dir="/tmp")
                },
            },
        )

    async def api(self, method: str, path: str, user: str, body: Any = None) -> Any:
        """One API call; returns the decoded JSON body."""
        try:
            response = await self.http.fetch(
                f"{self.url}api/{path}",
                method=method,
                headers={"Authorization": f"token {self.tokens[user]}"},
                body=json.dumps(body) if body is not None else (b"" if method == "POST" else None),
            )
        except HTTPClientError as e:
            assert e.response is not None
            raise RuntimeError(f"{method} {path}: {e.code} {e.response.body!r}") from None
        return json.loads(response.body) if response.body else None

    async def release(self, source: Path) -> None:
        """Create, push and release the assignment."""
        lecture = next(
            x for x in await self.api("GET", "lectures", "teacher") if x["code"] == LECTURE
        )
        self.lecture_id = lecture["id"]
        created = await self.api(
            "POST", f"lectures/{self.lecture_id}/assignments", "teacher", {"name": "ps1"}
        )
        self.assignment_id = created["id"]
        git = GitClient(self.url, self.tokens["teacher"], "teacher")
        work = self.root / "teacher"
        await git.clone(f"{LECTURE}/{self.assignment_id}/source", work)
        (work / source.name).write_bytes(source.read_bytes())
        await git.commit_all(work, "ps1")
        await git.run("push", "--quiet", "origin", "main", cwd=work)
        await self.api(
            "POST",
            f"lectures/{self.lecture_id}/assignments/{self.assignment_id}/release",
            "teacher",
        )

    async def push(self, student: str, submission_dir: Path) -> str:
        """Push the student's notebook; returns the commit (not timed)."""
        git = GitClient(self.url, self.tokens[student], student)
        work = self.root / "students" / student
        await git.clone(f"{LECTURE}/{self.assignment_id}/user/{student}", work)
        for notebook in submission_dir.glob("*.ipynb"):
            (work / notebook.name).write_bytes(notebook.read_bytes())
        sha = await git.commit_all(work, "done")
        await git.run("push", "--quiet", "origin", "main", cwd=work)
        return sha

    def _submissions(self) -> str:
        return f"lectures/{self.lecture_id}/assignments/{self.assignment_id}/submissions"

    async def submit(self, student: str, sha: str) -> int:
        """POST the submission; returns its id."""
        created = await self.api("POST", self._submissions(), student, {"commit_hash": sha})
        return int(created["id"])

    async def follow(self) -> None:
        """Follow the lecture's event stream (as staff) the way the JupyterLab extension
        does; :meth:`graded` then waits without polling."""
        self.graded_at: dict[int, float] = {}
        self._changed = asyncio.Event()
        buffer = b""

        def on_chunk(chunk: bytes) -> None:
            nonlocal buffer
            buffer += chunk
            while b"\n\n" in buffer:
                frame, buffer = buffer.split(b"\n\n", 1)
                for line in frame.decode().splitlines():
                    if not line.startswith("data: "):
                        continue
                    event = json.loads(line[len("data: ") :])
                    if event.get("auto_status") in ("automatically_graded", "grading_failed"):
                        self.graded_at.setdefault(event["submission_id"], time.perf_counter())
                        self._changed.set()

        opened = asyncio.Event()
        self._stream = asyncio.ensure_future(
            self.http.fetch(
                f"{self.url}api/events?lecture_id={self.lecture_id}",
                headers={"Authorization": f"token {self.tokens['teacher']}"},
                streaming_callback=on_chunk,
                header_callback=lambda _line: opened.set(),
                request_timeout=3600,
            )
        )
        await opened.wait()

    async def graded(self, ids: list[int]) -> dict[int, dict[str, Any]]:
        """Wait for the events saying ``ids`` are graded; then read them once."""
        while not all(sid in self.graded_at for sid in ids):
            self._changed.clear()
            await self._changed.wait()
        return {
            sid: await self.api("GET", f"{self._submissions()}/{sid}", "teacher") for sid in ids
        }


async def probe_health(url: str, stop: asyncio.Event, samples: list[float]) -> None:
    """GET health every 50 ms and record each latency (an upper bound of loop lag)."""
    http = AsyncHTTPClient(force_instance=True)
    try:
        while not stop.is_set():
            started = time.perf_counter()
            await http.fetch(f"{url}api/health")
            samples.append(time.perf_counter() - started)
            await asyncio.sleep(0.05)
    finally:
        http.close()


async def run(args: argparse.Namespace) -> None:
    root = Path(tempfile.mkdtemp(prefix="grading-bench-"))
    n_latency, n_throughput = args.latency_runs, args.submissions
    students = [f"s{i:03d}" for i in range(n_latency + n_throughput)]
    source, subs, expected = make_demo_assignment(
        root / "assignment", n_latency + n_throughput, wrong=lambda i: i % 2 == 1
    )
    print(f"10-cell assignment, {n_throughput} submissions, concurrency 2 (workdir {root})")

    floor, floor_cpu = await nbclient_floor(subs[0] / source.name, args.floor_runs)
    print(
        f"floor (bare nbclient, median of {args.floor_runs}): {floor * 1000:.0f} ms "
        f"({floor_cpu * 1000:.0f} ms CPU)"
    )

    bench = Bench(root, students)
    service = ServiceProcess(bench.config(), root / "service.log")
    bench.url = await service.start()
    try:
        await bench.release(source)
        shas = [await bench.push(s, d) for s, d in zip(students, subs, strict=True)]
        await bench.follow()
        # warm-up: the first job also starts the pool's replacement kernels
        await bench.graded([await bench.submit(students[0], shas[0])])

        latencies = []
        for i in range(1, n_latency):
            await asyncio.sleep(0.5)  # let the pool refill, as between real students
            started = time.perf_counter()
            sid = await bench.submit(students[i], shas[i])
            sub = (await bench.graded([sid]))[sid]
            assert sub["grading_score"] == expected[i], (sub, expected[i])
            latencies.append(bench.graded_at[sid] - started)
        p50 = statistics.median(latencies)

        rest = list(range(n_latency, n_latency + n_throughput))
        stop, lag = asyncio.Event(), []
        prober = asyncio.ensure_future(probe_health(bench.url, stop, lag))
        started, cpu_before = time.perf_counter(), busy_cpu_seconds()
        ids = [await bench.submit(students[i], shas[i]) for i in rest]
        done = await bench.graded(ids)
        ours_wall = max(bench.graded_at[sid] for sid in ids) - started
        cpu_per_job = (busy_cpu_seconds() - cpu_before) / n_throughput
        stop.set()
        await prober
        for sid, i in zip(ids, rest, strict=True):
            assert done[sid]["grading_score"] == expected[i], (done[sid], expected[i])
    finally:
        await service.stop()
        bench.http.close()

    ideal = n_throughput * floor / 2
    print()
    print(f"{'measure':<44}{'value':>12}{'target':>12}")
    print(f"{'latency p50 submit->graded':<44}{p50 * 1000:>10.0f}ms")
    print(f"{'latency p50 / floor':<44}{p50 / floor:>12.2f}{'<= 1.30':>12}")
    print(f"{f'throughput wall, {n_throughput} submissions':<44}{ours_wall:>11.1f}s")
    print(f"{'  CPU per submission (whole machine)':<44}{cpu_per_job * 1000:>10.0f}ms")
    print(f"{'throughput: ideal / actual':<44}{ideal / ours_wall:>12.2f}{'>= 0.80':>12}")
    print(
        f"{'loop lag bound: health p99 during throughput':<44}"
        f"{percentile(lag, 0.99) * 1000:>10.1f}ms{'< 50 ms':>12}"
    )

    if args.no_reference:
        return
    print("\nGrader Service 0.12.5 (LocalAutogradeProcessExecutor), same submissions...")
    ref = await asyncio.to_thread(
        run_reference,
        source,
        [subs[i] for i in rest],
        2,
        root / "reference",
        cache_dir=ROOT / ".cache",
    )
    for score, i in zip(ref.scores, rest, strict=True):
        assert score == expected[i], (ref.scores, [expected[i] for i in rest])
    print(f"{'Grader Service 0.12.5 wall':<44}{ref.wall_s:>11.1f}s")
    print(f"{'Grader Service 0.12.5 per-submission p50':<44}{ref.p50_s * 1000:>10.0f}ms")
    print(f"{'ours / theirs (wall, 50 submissions)':<44}{ours_wall / ref.wall_s:>12.2f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=50, help="throughput batch size")
    parser.add_argument("--latency-runs", type=int, default=11, help="sequential submissions")
    parser.add_argument("--floor-runs", type=int, default=7, help="bare nbclient runs")
    parser.add_argument("--no-reference", action="store_true", help="skip Grader Service 0.12.5")
    asyncio.run(run(parser.parse_args(argv)))


if __name__ == "__main__":
    main()

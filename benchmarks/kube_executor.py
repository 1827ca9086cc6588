"""KubeAutogradeExecutor benchmark: 100 jobs against the Kubernetes emulator.

Run from the repository root::

    .venv/bin/python benchmarks/kube_executor.py [--jobs 100] [--concurrency 20]

The API server (kmock's emulator over real HTTP) and a fake kubelet run in a child
process, so the event loop measured here is the executor's alone, as in the service.
The kubelet completes each pod at once without running a kernel ("fast" mode: it writes
full marks into the job's gradebook, through the claim's subPath mount as a real pod
would): this measures the executor's own cost, not grading. Every job's score is checked.

It prints the API requests per job (the executor's requests, identified by its
User-Agent, split into per-pod requests and the shared list/watch) and the event loop's
lag while the jobs run: a coroutine sleeps 10 ms in a loop and records how late it
wakes up. Targets: a handful of requests per job, lag p99 < 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

NAMESPACE = "grader"
CLAIM = "grader-data"


# -- the child: API server and kubelet ----------------------------------------------------


async def serve(data_dir: Path) -> None:
    """Run the emulator and a fast kubelet until stdin closes; then print request counts."""
    import kmock
    import pytest
    from kubernetes_asyncio import client

    from tests.kube.fakes import Emulator, FakeKubelet, executor_requests, fix_kmock_watch

    patcher = pytest.MonkeyPatch()
    fix_kmock_watch(patcher)
    async with Emulator() as emulator, kmock.Server(emulator) as server:
        url = str(server.url).rstrip("/")
        async with client.ApiClient(client.Configuration(host=url)) as api:
            api.user_agent = "benchmark"
            claim = {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "metadata": {"name": CLAIM},
            }
            response = await client.CoreV1Api(api).create_namespaced_persistent_volume_claim(
                NAMESPACE, claim, _preload_content=False
            )
            response.release()
        kubelet = FakeKubelet(url, emulator, NAMESPACE, data_dir, behaviour=lambda pod: "fast")
        await kubelet.start()
        print(url, flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
        requests = executor_requests(emulator)
        counts: dict[str, int] = {}
        for r in requests:
            path = r.url.path
            if path.endswith("/pods") and r.method == "GET":
                key = "watch" if r.params.get("watch") else "list"
            elif "selfsubjectaccessreviews" in path or "persistentvolumeclaims" in path:
                key = "startup"
            elif path.endswith("/log"):
                key = "log"
            else:
                key = str(r.method).lower()
            counts[key] = counts.get(key, 0) + 1
        print(json.dumps(counts), flush=True)
        await kubelet.stop()


# -- the parent: the executor ---------------------------------------------------------------


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def measure_lag(samples: list[float], stop: asyncio.Event) -> None:
    """Sleep 10 ms at a time; record how late each wake-up is (seconds)."""
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        start = loop.time()
        await asyncio.sleep(0.010)
        samples.append(loop.time() - start - 0.010)


async def run(jobs: int, concurrency: int) -> int:
    """Grade ``jobs`` jobs through the executor; print figures; 0 if the targets are met."""
    from grader_service.autograding.executor import GradingTask, JobDirectory
    from grader_service.autograding.kube import KubeAutogradeExecutor
    from grader_service.convert import GenerateAssignment
    from tests.convert.notebooks import write
    from tests.kube.conftest import assignment_source

    tmp = Path(tempfile.mkdtemp(prefix="kube-bench-"))
    data_dir = tmp / "data"
    data_dir.mkdir()
    write(assignment_source(), tmp / "source" / "hw.ipynb")
    GenerateAssignment().convert(tmp / "source", tmp / "release")
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--serve",
        str(data_dir),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert child.stdout is not None and child.stdin is not None
    url = (await child.stdout.readline()).decode().strip()
    kubeconfig = tmp / "kubeconfig"
    kubeconfig.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "k", "cluster": {"server": url}}],
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": [
                    {"name": "k", "context": {"cluster": "k", "user": "u", "namespace": NAMESPACE}}
                ],
                "current-context": "k",
            }
        )
    )
    executor = KubeAutogradeExecutor(
        kube_config_file=str(kubeconfig), claim_name=CLAIM, data_dir=str(data_dir)
    )
    await executor.start()

    def prepare(job_id: int) -> JobDirectory:
        root = data_dir / "grading" / "jobs" / f"{job_id}-1"
        job = JobDirectory(root, root / "input", root / "output")
        job.output_dir.mkdir(parents=True)
        shutil.copytree(tmp / "release", job.input_dir)
        shutil.move(str(job.input_dir / "gradebook.json"), str(job.output_dir))
        return job

    directories = [await asyncio.to_thread(prepare, i) for i in range(1, jobs + 1)]
    gate = asyncio.Semaphore(concurrency)
    durations: list[float] = []

    async def grade(job_id: int) -> float:
        task = GradingTask(
            job_id=job_id,
            kind="autograde",
            lecture_code="lect1",
            assignment_id=1,
            assignment_name="hw",
            submission_id=job_id,
            username=f"student{job_id}",
            commit_hash="0" * 40,
            cell_timeout=10,
        )
        async with gate:
            started = time.perf_counter()
            report = await executor.autograde(task, directories[job_id - 1])
            durations.append(time.perf_counter() - started)
        return report.score

    lag: list[float] = []
    stop = asyncio.Event()
    monitor = asyncio.ensure_future(measure_lag(lag, stop))
    started = time.perf_counter()
    scores = await asyncio.gather(*(grade(i) for i in range(1, jobs + 1)))
    elapsed = time.perf_counter() - started
    stop.set()
    await monitor
    await executor.stop()
    child.stdin.close()
    counts = json.loads((await child.stdout.readline()).decode())
    await child.wait()
    shutil.rmtree(tmp, ignore_errors=True)

    assert all(score == 5.0 for score in scores), scores
    per_pod = sum(v for k, v in counts.items() if k not in ("startup", "list", "watch"))
    shared = counts.get("list", 0) + counts.get("watch", 0)
    lag_p99 = _percentile(lag, 0.99) * 1000
    print(f"jobs: {jobs} (concurrency {concurrency}), fast kubelet (no kernel), all scores 5/5")
    print(f"wall time: {elapsed:.2f} s, per job p50 {statistics.median(durations) * 1000:.0f} ms")
    print(f"API requests by kind: {json.dumps(counts, sort_keys=True)}")
    print(
        f"API requests per job: {per_pod / jobs:.2f} per pod (create, log, delete) "
        f"+ {shared / jobs:.2f} shared list/watch = {(per_pod + shared) / jobs:.2f} "
        f"(+ {counts.get('startup', 0)} once at start-up)"
    )
    print(
        f"event-loop lag: p50 {_percentile(lag, 0.5) * 1000:.1f} ms, p99 {lag_p99:.1f} ms, "
        f"max {max(lag) * 1000:.1f} ms ({len(lag)} samples; target p99 < 50 ms)"
    )
    ok = (per_pod + shared) / jobs <= 5 and lag_p99 < 50
    print("targets met" if ok else "TARGETS MISSED")
    return 0 if ok else 1


def main() -> int:
    """Parse arguments and run the benchmark (or, with --serve, the child)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--jobs", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--serve", metavar="DATA_DIR", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(Path(args.serve)))
        return 0
    return asyncio.run(run(args.jobs, args.concurrency))


if __name__ == "__main__":
    sys.exit(main())

"""Fixtures of the Kubernetes executor tests (no cluster: kmock over real HTTP).

Index:

- ``assignment`` (session): a tiny assignment ``hw`` (two tests, 2 + 3 points) released
  with GenerateAssignment; its release directory holds ``hw.ipynb`` and the gradebook.
- ``cluster``: kmock's Kubernetes emulator on a local port (with the ``watch=True``
  fix), namespace ``grader`` with the volume claim ``grader-data`` (a temp directory,
  which is also the service's data directory), a kubeconfig pointing at it, and a
  :class:`~tests.kube.fakes.FakeKubelet` that runs the pods.
- ``make_executor(**traits)``: a started :class:`KubeAutogradeExecutor` for ``cluster``
  (stopped at teardown).
- ``make_job(job_id, answers)``: a prepared job directory, as the pipeline leaves it.
- ``make_task(job_id, **fields)``: the matching :class:`GradingTask`.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import kmock
import pytest
import pytest_asyncio
from kubernetes_asyncio import client
from nbformat.v4 import new_code_cell, new_notebook

from grader_service.autograding.executor import GradingTask, JobDirectory
from grader_service.autograding.kube import KubeAutogradeExecutor
from grader_service.convert import GenerateAssignment
from tests.convert.notebooks import fill, meta, read, write

from .fakes import Emulator, FakeKubelet, fix_kmock_watch

NAMESPACE = "grader"
CLAIM = "grader-data"
CORRECT = {"double": "def double(x):\n    return 2 * x\n"}
HALF_RIGHT = {"double": "def double(x):\n    return abs(2 * x)\n"}  # fails the negative test


def assignment_source() -> Any:
    """``hw``: one answer, two tests worth 2 and 3 points."""
    nb = new_notebook(
        cells=[
            new_code_cell(
                "def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION\n",
                metadata=meta("double", solution=True),
            ),
            new_code_cell(
                "assert double(2) == 4",
                metadata=meta("test_double", grade=True, locked=True, points=2),
            ),
            new_code_cell(
                "assert double(-1) == -2",
                metadata=meta("test_negative", grade=True, locked=True, points=3),
            ),
        ]
    )
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return nb


@pytest.fixture(scope="session")
def assignment(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The release directory of ``hw`` (notebook + gradebook.json)."""
    root = tmp_path_factory.mktemp("hw")
    write(assignment_source(), root / "source" / "hw.ipynb")
    GenerateAssignment().convert(root / "source", root / "release")
    return root / "release"


@dataclass
class Cluster:
    """The emulated cluster of one test."""

    emulator: Emulator
    url: str
    kubeconfig: Path
    data_dir: Path
    kubelet: FakeKubelet

    async def core(self) -> client.CoreV1Api:
        """A client of the test itself (not counted as the executor's requests)."""
        api = client.ApiClient(client.Configuration(host=self.url))
        api.user_agent = "test"
        return client.CoreV1Api(api)


@pytest_asyncio.fixture
async def cluster(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> AsyncIterator[Cluster]:
    """An emulated cluster with a volume claim and a kubelet."""
    fix_kmock_watch(monkeypatch)
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    async with Emulator() as emulator, kmock.Server(emulator) as server:
        url = str(server.url).rstrip("/")
        kubeconfig = tmp_path / "kubeconfig"
        kubeconfig.write_text(
            json.dumps(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [{"name": "kmock", "cluster": {"server": url}}],
                    "users": [{"name": "grader", "user": {"token": "t"}}],
                    "contexts": [
                        {
                            "name": "kmock",
                            "context": {
                                "cluster": "kmock",
                                "user": "grader",
                                "namespace": NAMESPACE,
                            },
                        }
                    ],
                    "current-context": "kmock",
                }
            )
        )
        async with client.ApiClient(client.Configuration(host=url)) as api:
            api.user_agent = "test"
            claim = {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "metadata": {"name": CLAIM},
            }
            await client.CoreV1Api(api).create_namespaced_persistent_volume_claim(
                NAMESPACE, claim, _preload_content=False
            )
        kubelet = FakeKubelet(url, emulator, NAMESPACE, data_dir)
        await kubelet.start()
        try:
            yield Cluster(emulator, url, kubeconfig, data_dir, kubelet)
        finally:
            await kubelet.stop()


ExecutorFactory = Callable[..., Awaitable[KubeAutogradeExecutor]]


@pytest_asyncio.fixture
async def make_executor(cluster: Cluster) -> AsyncIterator[ExecutorFactory]:
    """Start executors for ``cluster``; all are stopped at teardown."""
    started: list[KubeAutogradeExecutor] = []

    async def make(start: bool = True, **traits: Any) -> KubeAutogradeExecutor:
        settings: dict[str, Any] = {
            "kube_config_file": str(cluster.kubeconfig),
            "claim_name": CLAIM,
            "data_dir": str(cluster.data_dir),
            "api_backoff": 0.05,
            "relist_interval": 30.0,
            **traits,
        }
        executor = KubeAutogradeExecutor(**settings)
        started.append(executor)
        if start:
            await executor.start()
        return executor

    yield make
    for executor in started:
        await executor.stop()


JobFactory = Callable[..., JobDirectory]


@pytest.fixture
def make_job(cluster: Cluster, assignment: Path) -> JobFactory:
    """A job directory like the pipeline prepares (submission in input, gradebook in output)."""

    def make(job_id: int, answers: dict[str, str] | None = None, attempt: int = 1) -> JobDirectory:
        root = cluster.data_dir / "grading" / "jobs" / f"{job_id}-{attempt}"
        job = JobDirectory(root, root / "input", root / "output")
        job.output_dir.mkdir(parents=True)
        job.input_dir.mkdir()
        shutil.copy(assignment / "gradebook.json", job.output_dir / "gradebook.json")
        write(fill(read(assignment / "hw.ipynb"), answers or CORRECT), job.input_dir / "hw.ipynb")
        return job

    return make


def make_task(job_id: int, **fields: Any) -> GradingTask:
    """A task for job ``job_id`` of lecture ``lect1`` (``fields`` override)."""
    values: dict[str, Any] = {
        "job_id": job_id,
        "kind": "autograde",
        "lecture_code": "lect1",
        "assignment_id": 7,
        "assignment_name": "hw",
        "submission_id": 100 + job_id,
        "username": "Alice.Example@uni.test",
        "commit_hash": "0" * 40,
        "cell_timeout": 10,
        **fields,
    }
    return GradingTask(**values)

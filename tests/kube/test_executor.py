"""KubeAutogradeExecutor against the emulated cluster, with a kubelet that runs the pods."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
from kubernetes_asyncio.client import ApiClient
from traitlets.config import Config

from grader_service.autograding.executor import FailureReason, GradingFailure
from grader_service.autograding.kube.executor import JOB_LABEL, trusted_gradebook

from .conftest import HALF_RIGHT, NAMESPACE, Cluster, ExecutorFactory, JobFactory, make_task
from .fakes import executor_requests

pytestmark = pytest.mark.asyncio

_SERIALIZER = object.__new__(ApiClient)
K8S_VERSION = "1.33.0"


def pod_requests(cluster: Cluster, method: str) -> list[Any]:
    """The executor's requests with ``method`` on pods (not lists, watches)."""
    return [
        r
        for r in executor_requests(cluster.emulator)
        if r.method == method and "/pods" in r.url.path
    ]


def pods(cluster: Cluster) -> dict[str, dict[str, Any]]:
    """Pods that exist now, by name."""
    return {
        key[2]: obj.raw
        for key, obj in cluster.emulator.objects.items()
        if key[0].plural == "pods" and not obj.deleted
    }


# -- the whole way through ---------------------------------------------------------------------


async def test_autograde_in_pods_gives_the_right_scores(
    cluster: Cluster, make_executor: ExecutorFactory, make_job: JobFactory
) -> None:
    executor = await make_executor()
    startup = len(executor_requests(cluster.emulator))
    right, half = make_job(1), make_job(2, HALF_RIGHT)
    reports = await asyncio.gather(
        executor.autograde(make_task(1), right), executor.autograde(make_task(2), half)
    )
    assert [(r.score, r.max_score) for r in reports] == [(5.0, 5.0), (2.0, 5.0)]
    assert reports[0].reason == "ok"
    assert "Score: 5 / 5" in reports[0].logs  # the pod's log is the grading log
    assert reports[1].summary["notebooks"]["hw"]["cells"][1]["status"] == "failed"
    # results are where the pipeline expects them, workspaces and pods are gone
    gradebook = json.loads((right.output_dir / "gradebook.json").read_text())
    assert gradebook == reports[0].gradebook
    assert (right.output_dir / "hw.ipynb").exists()
    assert list((cluster.data_dir / "grading" / "pods").iterdir()) == []
    assert pods(cluster) == {}
    # the pod ran the converter on its own job directory only
    argv = cluster.kubelet.ran[0]
    assert argv[1:3] == ["autograde", "--log-level=INFO"]
    assert "--NotebookRunner.cell_timeout=10" in argv
    # a handful of requests per job: create, log, delete; one list and one watch
    # (started with the executor) serve every job
    requests = executor_requests(cluster.emulator)[startup:]
    shared = [r for r in requests if r.method == "GET" and r.url.path.endswith("/pods")]
    per_job = [(r.method, r.url.path.rsplit("/", 1)[-1]) for r in requests if r not in shared]
    assert len(shared) <= 1
    assert sorted(m for m, _ in per_job) == ["DELETE"] * 2 + ["GET"] * 2 + ["POST"] * 2
    assert sum(1 for _, last in per_job if last == "log") == 2
    # every manifest sent was valid for a recent Kubernetes
    for request in executor_requests(cluster.emulator):
        if request.method == "POST":
            kubernetes_validate.validate(request.data, K8S_VERSION, strict=True)


async def test_the_pod_sees_only_its_job_directory(
    cluster: Cluster, make_executor: ExecutorFactory
) -> None:
    executor = await make_executor(claim_data_path="services/grader", job_mount_path="/work")
    manifest = _SERIALIZER.sanitize_for_serialization(
        await executor.get_pod_manifest(make_task(3), "grade-3-abc")
    )
    kubernetes_validate.validate(manifest, K8S_VERSION, strict=True)
    mount = manifest["spec"]["containers"][0]["volumeMounts"][0]
    assert mount == {
        "name": "job",
        "mountPath": "/work",
        "subPath": "services/grader/grading/pods/grade-3-abc",
    }
    volume = manifest["spec"]["volumes"][0]
    assert volume == {"name": "job", "persistentVolumeClaim": {"claimName": "grader-data"}}


async def test_manifests_follow_per_lecture_settings(
    cluster: Cluster, make_executor: ExecutorFactory, caplog: pytest.LogCaptureFixture
) -> None:
    big = {"requests": {"cpu": "2", "memory": "4Gi"}, "limits": {"cpu": "2", "memory": "4Gi"}}

    async def node_selector(task: Any) -> dict[str, str]:
        return {"pool": "gpu"} if task.lecture_code == "ml" else {}

    executor = await make_executor(
        resources=lambda task: big if task.lecture_code == "ml" else executor._resources_default(),
        node_selector=node_selector,
        tolerations=lambda task: [{"key": "grading", "operator": "Exists"}],
        image_pull_policy="always",
        image_pull_secrets=["regcred"],
        labels={"team": "Data Science!"},
        extra_pod_config={"dnsPolicy": "None", "dnsConfig": {"nameservers": ["10.0.0.10"]}},
        extra_container_config={"stdin": False},
    )
    for lecture in ("ml", "Intro Programming (WS 2025)"):
        task = make_task(4, lecture_code=lecture)
        manifest = _SERIALIZER.sanitize_for_serialization(
            await executor.get_pod_manifest(task, executor.pod_name(task))
        )
        kubernetes_validate.validate(manifest, K8S_VERSION, strict=True)
        spec, container = manifest["spec"], manifest["spec"]["containers"][0]
        labels = manifest["metadata"]["labels"]
        assert labels[JOB_LABEL] == "4" and labels["app.kubernetes.io/component"] == "grading-pod"
        assert spec["dnsPolicy"] == "None" and container["imagePullPolicy"] == "Always"
        assert spec["tolerations"] == [{"key": "grading", "operator": "Exists"}]
        assert manifest["metadata"]["annotations"]["grader-service.io/username"] == (
            "Alice.Example@uni.test"
        )
        if lecture == "ml":
            assert spec["nodeSelector"] == {"pool": "gpu"}
            assert container["resources"]["limits"]["memory"] == "4Gi"
        else:
            assert "nodeSelector" not in spec
            assert container["resources"]["limits"]["ephemeral-storage"] == "2Gi"
    # the executor's own dnsPolicy (none) is not overridden, so no warning
    assert not [r for r in caplog.records if "overridden" in r.getMessage()]


# -- images -------------------------------------------------------------------------------------


async def test_image_resolution_order(
    cluster: Cluster, make_executor: ExecutorFactory, tmp_path: Path
) -> None:
    images = tmp_path / "images.yaml"
    images.write_text("lect1: registry.test/lect1:1\nlect2:\n  hw: registry.test/lect2-hw:1\n")
    executor = await make_executor(
        image_config_path=str(images), config=_config(allowed_images=["registry.test/*"])
    )
    # 1. the assignment's own setting wins
    task = make_task(5, image="registry.test/custom:2")
    assert await executor.get_image(task) == "registry.test/custom:2"
    # 2. then the file: per lecture, or per lecture and assignment
    assert await executor.get_image(make_task(5)) == "registry.test/lect1:1"
    assert (
        await executor.get_image(make_task(5, lecture_code="lect2")) == "registry.test/lect2-hw:1"
    )
    # 3. then default_image_name (a lecture in the file without this assignment, too)
    other = make_task(5, lecture_code="lect2", assignment_name="other")
    assert await executor.get_image(other) == "lect2_image"
    assert await executor.get_image(make_task(5, lecture_code="lect3")) == "lect3_image"

    async def by_assignment(lecture: str, assignment: str) -> str:
        return f"registry.test/{lecture}-{assignment}"

    executor.default_image_name = by_assignment
    assert await executor.get_image(other) == "registry.test/lect2-other"
    # the file is re-read when it changes
    images.write_text('{"lect3": "registry.test/json:1"}')
    import os

    os.utime(images, (1, 1))
    assert await executor.get_image(make_task(5, lecture_code="lect3")) == "registry.test/json:1"
    # an image no longer allowed is refused, with advice
    with pytest.raises(GradingFailure, match="not allowed") as failure:
        await executor.get_image(make_task(5, image="evil.test/miner:1"))
    assert failure.value.reason == FailureReason.INVALID_SUBMISSION


def _config(**image_policy: Any) -> Config:
    config = Config()
    for key, value in image_policy.items():
        setattr(config.ImagePolicy, key, value)
    return config


# -- failures -----------------------------------------------------------------------------------

FAILURES = {
    "oom": (FailureReason.MEMORY_LIMIT, False, "ran out of memory (the limit is 1Gi)"),
    "deadline": (FailureReason.TIMEOUT, False, "longer than the time limit of 3600 seconds"),
    "exit": (FailureReason.OTHER, False, "exit code 1"),
    "image-pull": (FailureReason.INFRASTRUCTURE, True, "could not be pulled (ImagePullBackOff"),
    "unschedulable": (FailureReason.INFRASTRUCTURE, True, "Insufficient memory"),
}


@pytest.mark.parametrize("mode", sorted(FAILURES))
async def test_failures_are_explained(
    mode: str, cluster: Cluster, make_executor: ExecutorFactory, make_job: JobFactory
) -> None:
    reason, retry, words = FAILURES[mode]
    cluster.kubelet.behaviour = lambda pod: mode
    config = Config()
    config.GraderPod.unschedulable_timeout = 0.2
    config.GraderPod.poll_interval = 0.05
    executor = await make_executor(config=config)
    with pytest.raises(GradingFailure) as caught:
        await asyncio.wait_for(executor.autograde(make_task(6), make_job(6)), 10)
    failure = caught.value
    assert (failure.reason, failure.retry) == (reason, retry)
    assert words in failure.message
    if mode in ("oom", "exit"):
        assert failure.logs  # what the pod logged before it failed
    assert pods(cluster) == {}  # deleted afterwards


async def test_failed_pods_can_be_kept_for_debugging(
    cluster: Cluster, make_executor: ExecutorFactory, make_job: JobFactory
) -> None:
    cluster.kubelet.behaviour = lambda pod: "oom"
    executor = await make_executor(keep_failed_pods=True)
    with pytest.raises(GradingFailure):
        await executor.autograde(make_task(7), make_job(7))
    (kept,) = pods(cluster).values()
    assert kept["status"]["phase"] == "Failed"
    # a restart leaves kept pods alone
    await executor.recover(set())
    assert len(pods(cluster)) == 1


async def test_a_cancelled_job_deletes_its_pod(
    cluster: Cluster, make_executor: ExecutorFactory, make_job: JobFactory
) -> None:
    cluster.kubelet.behaviour = lambda pod: "hang"
    executor = await make_executor()
    job = asyncio.ensure_future(executor.autograde(make_task(8), make_job(8)))
    while not any(p.get("status", {}).get("phase") == "Running" for p in pods(cluster).values()):
        await asyncio.sleep(0.02)
    job.cancel()
    with pytest.raises(asyncio.CancelledError):
        await job
    assert pods(cluster) == {}


async def test_the_student_cannot_award_points_from_inside_the_pod(assignment: Path) -> None:
    expected = json.loads((assignment / "gradebook.json").read_text())
    forged = json.loads(json.dumps(expected))
    notebook = forged["notebooks"]["hw"]
    notebook["grade_cells_dict"]["test_double"]["max_score"] = 1000
    notebook["grades_dict"] = {
        "test_double": {
            "id": "test_double",
            "notebook_id": "hw",
            "cell_id": "test_double",
            "auto_score": 1000,
            "extra_credit": 50,
            "max_score_gradecell": 1000,
        },
        "invented": {
            "id": "invented",
            "notebook_id": "hw",
            "cell_id": "invented",
            "auto_score": 99,
        },
    }
    result = trusted_gradebook(expected, forged)
    grades = result["notebooks"]["hw"]["grades_dict"]
    assert set(grades) == {"test_double"}
    assert grades["test_double"]["auto_score"] == 2.0
    assert grades["test_double"]["extra_credit"] is None
    assert result["notebooks"]["hw"]["grade_cells_dict"]["test_double"]["max_score"] == 2.0


# -- start-up checks ----------------------------------------------------------------------------


async def test_startup_names_missing_permissions(
    cluster: Cluster, make_executor: ExecutorFactory
) -> None:
    cluster.emulator.denied = {("delete", "pods"), ("get", "pods/log")}
    with pytest.raises(RuntimeError, match=r"may not delete pods, get pods/log in namespace"):
        await make_executor()


async def test_startup_names_a_missing_claim(
    cluster: Cluster, make_executor: ExecutorFactory
) -> None:
    with pytest.raises(RuntimeError, match=r"volume claim 'nope' does not exist.*claim_name"):
        await make_executor(claim_name="nope")


async def test_startup_says_when_the_api_is_unreachable(
    cluster: Cluster, make_executor: ExecutorFactory, tmp_path: Path
) -> None:
    config = json.loads(cluster.kubeconfig.read_text())
    config["clusters"][0]["cluster"]["server"] = "http://127.0.0.1:9"
    broken = tmp_path / "broken"
    broken.write_text(json.dumps(config))
    with pytest.raises(RuntimeError, match=r"cannot reach the Kubernetes API.*kube_context"):
        await make_executor(kube_config_file=str(broken), api_retries=1, request_timeout=2)


async def test_startup_requires_a_claim(make_executor: ExecutorFactory) -> None:
    with pytest.raises(RuntimeError, match="claim_name"):
        await make_executor(claim_name="")


# -- restarts -----------------------------------------------------------------------------------


async def test_restart_adopts_running_pods_and_deletes_strays(
    cluster: Cluster, make_executor: ExecutorFactory, make_job: JobFactory
) -> None:
    cluster.kubelet.behaviour = lambda pod: "fast"
    first = await make_executor()
    # the service dies while job 10 (still running in the DB) and job 11 (since
    # cancelled) have pods; a foreign pod in the namespace must be left alone
    adopted = (await first.start_pod(make_task(10), make_job(10))).name
    stray = (await first.start_pod(make_task(11), make_job(11))).name
    core = await cluster.core()
    foreign = {
        "metadata": {"name": "someone-else"},
        "spec": {"containers": [{"name": "c", "image": "x"}]},
    }
    response = await core.create_namespaced_pod(NAMESPACE, foreign, _preload_content=False)
    response.release()
    await first.stop()
    while (
        len([p for p in pods(cluster).values() if p.get("status", {}).get("phase") == "Succeeded"])
        < 2
    ):
        await asyncio.sleep(0.02)

    second = await make_executor()
    before = len(executor_requests(cluster.emulator))
    await second.recover({10, 12})
    assert set(pods(cluster)) == {n for n in pods(cluster) if "grade-10-" in n} | {"someone-else"}
    # job 10 is claimed again (a new attempt, a freshly prepared directory): the
    # finished pod's result is collected instead of grading again
    report = await second.autograde(make_task(10), make_job(10, attempt=2))
    assert (report.score, report.max_score) == (5.0, 5.0)
    assert len(pod_requests(cluster, "POST")) == 2  # no new pod
    assert set(pods(cluster)) == {"someone-else"}
    # one delete for the stray, one log read and one delete for the adopted pod
    requests = executor_requests(cluster.emulator)[before:]
    per_pod = [r for r in requests if not r.url.path.endswith("/pods")]  # not list/watch
    assert sorted((r.method, r.url.path.rsplit("/", 1)[-1]) for r in per_pod) == sorted(
        [("DELETE", stray), ("DELETE", adopted), ("GET", "log")]
    )
    await core.api_client.close()

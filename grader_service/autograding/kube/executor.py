"""KubeAutogradeExecutor: every autograde job is one hardened pod in the cluster.

How a job runs
    The pipeline has prepared ``{job}/input`` and ``{job}/output`` (with the gradebook)
    in the service's data directory, which in a cluster lives on a ReadWriteMany claim.
    The executor moves them into a workspace of its own, ``{data}/grading/pods/{pod}``,
    and creates a pod that mounts *only that workspace* (``subPath``) and runs
    ``grader-convert autograde`` on it. When the pod has finished, the graded output is
    moved back into the job directory, the pod's log becomes the grading log, and the
    pod and workspace are deleted.

    The workspace belongs to the pod, not to the pipeline's job attempt: if the service
    crashes, the pod keeps grading, and the service started again adopts it (see
    :meth:`KubeAutogradeExecutor.recover`) and picks up its result from there.

Isolation
    The pod is hardened (:func:`~.util.make_pod`) and labelled so that a NetworkPolicy
    can deny it all egress. The harness (the converter) runs inside the pod, beside the
    student's kernel, so a hostile notebook could edit the gradebook the pod writes; the
    executor therefore rebuilds the gradebook from the one it handed in, taking only the
    per-cell scores from the pod and clamping them to each cell's maximum.

Feedback (HTML) is inherited from :class:`~..local.LocalAutogradeExecutor`: it runs no
student code, so it renders in the service's worker process.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import secrets
import shutil
import time
from pathlib import Path, PurePosixPath
from typing import Any

import yaml
from kubernetes_asyncio.client import models as k8s
from kubernetes_asyncio.client.exceptions import ApiException
from traitlets import Bool, Dict, Float, Integer, List, Unicode, Union, default, validate
from traitlets import Callable as CallableTrait

from ...convert.gradebook import GRADEBOOK_FILENAME, GradeBookModel
from ..executor import (
    FailureReason,
    GradingFailure,
    GradingReport,
    GradingTask,
    JobDirectory,
    outcome_reason,
)
from ..limits import ImagePolicy
from ..local import LocalAutogradeExecutor
from .api import KubeApi, _describe, load_client_configuration
from .pod import FAILED, SUCCEEDED, GraderPod
from .reflector import PodReflector
from .util import (
    PodScheduling,
    PodSecurity,
    generate_hashed_slug,
    make_pod,
    normalize_pull_policy,
    safe_label_value,
    safe_name_part,
    update_k8s_model,
)

JOB_LABEL = "grader-service.io/job-id"
LECTURE_LABEL = "grader-service.io/lecture"
ASSIGNMENT_LABEL = "grader-service.io/assignment-id"
REPORT_FILENAME = "autograde-report.json"
# what the pod may do with its pods, checked at start-up (pods/status is read through
# the pod itself; pods/log is needed for the grading log)
_REQUIRED_ACCESS = [
    ("get", "pods", ""),
    ("list", "pods", ""),
    ("watch", "pods", ""),
    ("create", "pods", ""),
    ("delete", "pods", ""),
    ("get", "pods", "log"),
]


def _default_image_name(lecture_code: str, assignment_name: str) -> str:
    return f"{lecture_code}_image"


async def _resolve(value: Any, *args: Any) -> Any:
    """A setting that is a value or a (possibly async) callable of ``args``."""
    if callable(value):
        value = value(*args)
        if inspect.isawaitable(value):
            value = await value
    return value


class KubeAutogradeExecutor(LocalAutogradeExecutor):
    """Runs each autograde job as a pod; image per lecture or assignment."""

    # -- cluster -------------------------------------------------------------------------

    kube_context = Unicode(
        None,
        allow_none=True,
        help="""The kubeconfig context to use. None (the default) uses the in-cluster
        service account when running in a pod, else the kubeconfig's current context.""",
    ).tag(config=True)

    kube_config_file = Unicode(
        None,
        allow_none=True,
        help="The kubeconfig file (default: $KUBECONFIG, then ~/.kube/config).",
    ).tag(config=True)

    namespace = Unicode(
        "",
        help="""Namespace of the grading pods. Empty (the default): the service account's
        namespace in a pod, else the kubeconfig context's namespace, else ``default``.""",
    ).tag(config=True)

    instance_name = Unicode(
        "grader-service",
        help="""Value of the ``app.kubernetes.io/instance`` label of the grading pods
        (the Helm release name). Two services sharing a namespace need different values:
        each only follows, adopts and deletes its own pods.""",
    ).tag(config=True)

    request_timeout = Float(30.0, help="Seconds any single Kubernetes API request may take.").tag(
        config=True
    )

    api_retries = Integer(
        4,
        help="""Retries of an API request that failed for a transient reason (connection
        error, timeout, HTTP 429 or 5xx), with exponential backoff.""",
    ).tag(config=True)

    api_backoff = Float(0.5, help="Seconds before the first API retry (doubles each time).").tag(
        config=True
    )

    relist_interval = Float(
        120.0,
        help="""Seconds after which the shared watch of the grading pods is renewed with
        a full list: the safety net for events lost on a broken connection.""",
    ).tag(config=True)

    # -- storage ---------------------------------------------------------------------------

    claim_name = Unicode(
        "",
        help="""The ReadWriteMany PersistentVolumeClaim holding the service's data
        directory; grading pods mount their job's directory from it. Required.
        Example: ``c.KubeAutogradeExecutor.claim_name = "grader-service-data"``.""",
    ).tag(config=True)

    claim_data_path = Unicode(
        "",
        help="""Where the service's data directory is inside the claim (empty: the claim's
        root is the data directory).""",
    ).tag(config=True)

    data_dir = Unicode(
        help="""The service's data directory as this process sees it (default:
        ``c.GraderService.grader_service_dir``). Pod workspaces live in its
        ``grading/pods`` directory.""",
    ).tag(config=True)

    @default("data_dir")
    def _data_dir_default(self) -> str:
        return str(getattr(self.parent, "grader_service_dir", "") or "")

    job_mount_path = Unicode(
        "/grader/job",
        help="Where the pod sees its workspace (input/, output/).",
    ).tag(config=True)

    volumes = List(
        Dict(),
        help="""Extra volumes of the grading pods (Kubernetes volume specs, camelCase or
        snake_case), e.g. a read-only dataset. Mount them with ``volume_mounts``.""",
    ).tag(config=True)

    volume_mounts = List(
        Dict(),
        help="""Extra volume mounts of the grading container, e.g.
        ``[{"name": "datasets", "mountPath": "/data", "readOnly": True}]``.""",
    ).tag(config=True)

    tmp_size_limit = Unicode(
        "1Gi", help="Size limit of the pod's writable /tmp (an emptyDir; also HOME)."
    ).tag(config=True)

    # -- image -------------------------------------------------------------------------------

    default_image_name = CallableTrait(
        _default_image_name,
        help="""``callable(lecture_code, assignment_name) -> image`` (may be async) used
        when neither the assignment's ``image`` setting nor ``image_config_path`` names an
        image. The default is the lecture code followed by ``_image``.""",
    ).tag(config=True)

    image_config_path = Unicode(
        None,
        allow_none=True,
        help="""A JSON or YAML file mapping lecture codes to images, or lecture codes to
        ``{assignment name: image}``. Consulted after the assignment's own ``image``
        setting and before ``default_image_name``; re-read when it changes. Example::

            {"ml-2025": "registry.example.org/grading/ml:2025",
             "db-2025": {"SQL basics": "registry.example.org/grading/postgres:16"}}
        """,
    ).tag(config=True)

    image_pull_policy = Unicode(
        "IfNotPresent",
        help="Image pull policy of grading pods: Always, IfNotPresent or Never.",
    ).tag(config=True)

    @validate("image_pull_policy")
    def _normalize_pull_policy(self, proposal: dict[str, Any]) -> str:
        return normalize_pull_policy(str(proposal["value"]))

    image_pull_secrets = List(
        Unicode(), help="Names of Secrets used to pull grading images from private registries."
    ).tag(config=True)

    # -- pod -----------------------------------------------------------------------------------

    uid = Integer(
        1000,
        help="""User id of the grading container (never root). It must be able to write
        the job directories the service creates: run the service with the same uid.""",
    ).tag(config=True)

    gid = Integer(1000, help="Group id of the grading container.").tag(config=True)

    fs_group = Integer(
        None, allow_none=True, help="fsGroup of the grading pod (volume ownership), if any."
    ).tag(config=True)

    runtime_class_name = Unicode(
        None,
        allow_none=True,
        help="""RuntimeClass of grading pods, e.g. ``gvisor`` for a user-space kernel as a
        second wall around student code.""",
    ).tag(config=True)

    priority_class_name = Unicode(
        None, allow_none=True, help="PriorityClass of grading pods, if any."
    ).tag(config=True)

    resources = Union(
        [Dict(), CallableTrait()],
        help="""CPU, memory and ephemeral-storage requests and limits of the grading
        container (a V1ResourceRequirements dict), or ``callable(task) -> dict`` (may be
        async) to size them per lecture, e.g.::

            c.KubeAutogradeExecutor.resources = lambda task: (
                BIG if task.lecture_code == "ml" else SMALL
            )
        """,
    ).tag(config=True)

    @default("resources")
    def _resources_default(self) -> dict[str, Any]:
        return {
            "requests": {"cpu": "250m", "memory": "512Mi", "ephemeral-storage": "256Mi"},
            "limits": {"cpu": "1", "memory": "1Gi", "ephemeral-storage": "2Gi"},
        }

    node_selector = Union(
        [Dict(), CallableTrait()],
        default_value={},
        help="Node selector of grading pods, or ``callable(task) -> dict`` (per lecture).",
    ).tag(config=True)

    tolerations = Union(
        [List(Dict()), CallableTrait()],
        default_value=[],
        help="Tolerations of grading pods, or ``callable(task) -> list`` (per lecture).",
    ).tag(config=True)

    labels = Dict(
        Unicode(), help="Extra labels of grading pods (values are made valid label values)."
    ).tag(config=True)

    annotations = Dict(Unicode(), help="Extra annotations of grading pods.").tag(config=True)

    environment = Dict(Unicode(), help="Extra environment variables of the grading container.").tag(
        config=True
    )

    extra_pod_config = Dict(
        help="""Fields merged into the pod spec last (camelCase or snake_case keys), e.g.
        ``{"dnsPolicy": "None", "dnsConfig": {...}}``. Overriding a value the executor set
        is logged as a warning.""",
    ).tag(config=True)

    extra_container_config = Dict(
        help="Fields merged into the grading container last, like ``extra_pod_config``."
    ).tag(config=True)

    max_grading_time = Integer(
        3600,
        help="""Seconds a grading pod may run (its ``activeDeadlineSeconds``); then it is
        stopped and grading fails with a time-limit reason.""",
    ).tag(config=True)

    convert_executable = Unicode(
        "grader-convert", help="The converter command inside the grading image."
    ).tag(config=True)

    extra_convert_args = List(
        Unicode(),
        help="""Extra arguments of ``grader-convert autograde`` in the pod, e.g.
        ``["--Autograde.tamper_policy=zero"]``.""",
    ).tag(config=True)

    keep_failed_pods = Bool(
        False,
        help="""Keep pods whose grading failed (for ``kubectl describe`` and logs). They
        are not deleted at the next start either; delete them yourself.""",
    ).tag(config=True)

    log_limit_bytes = Integer(
        1_000_000, help="At most this much of a pod's log is kept as the grading log."
    ).tag(config=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.api: KubeApi | None = None
        self.reflector: PodReflector | None = None
        self._adoptable: dict[int, str] = {}
        self._image_config: tuple[float, dict[str, Any]] | None = None

    def _settings(self) -> dict[str, Any]:
        settings = super()._settings()
        # the local worker only renders feedback here: no kernels and no student code,
        # so it needs neither warm kernels nor bubblewrap (absent in unprivileged pods)
        settings["feedback_only"] = True
        return settings

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def pod_labels(self) -> dict[str, str]:
        """The labels that select this executor's pods (and that a NetworkPolicy can use)."""
        return {
            "app.kubernetes.io/name": "grader-service",
            "app.kubernetes.io/component": "grading-pod",
            "app.kubernetes.io/instance": safe_label_value(self.instance_name),
            "app.kubernetes.io/managed-by": "grader-service",
        }

    @property
    def workspace_root(self) -> Path:
        """Where pod workspaces live (in the data directory, so on the claim)."""
        return Path(self.data_dir) / "grading" / "pods"

    async def start(self) -> None:
        """Connect, check access, and start the shared watch (the worker starts lazily)."""
        if not self.claim_name:
            raise RuntimeError(
                "set c.KubeAutogradeExecutor.claim_name to the ReadWriteMany volume claim "
                "that holds the service's data directory"
            )
        if not self.data_dir:
            raise RuntimeError("set c.KubeAutogradeExecutor.data_dir (the data directory)")
        configuration, namespace = await load_client_configuration(
            self.kube_context, self.kube_config_file
        )
        if not self.namespace:
            self.namespace = namespace or "default"
        from ... import _version

        self.api = KubeApi(
            configuration,
            request_timeout=self.request_timeout,
            retries=self.api_retries,
            backoff=self.api_backoff,
            log=self.log,
            user_agent=f"grader-service/{_version.__version__}",
        )
        try:
            await self.check_cluster()
            self.reflector = PodReflector(
                self.api,
                self.namespace,
                self.pod_labels,
                relist_interval=self.relist_interval,
                log=self.log,
            )
            await self.reflector.start()
        except BaseException:
            await self.stop()
            raise
        await asyncio.to_thread(self.workspace_root.mkdir, parents=True, exist_ok=True)
        self.log.info(
            "Grading in Kubernetes namespace %s at %s (claim %s)",
            self.namespace,
            self.api.host,
            self.claim_name,
        )

    async def stop(self) -> None:
        """Stop watching and close the API client; running pods are left to finish."""
        if self.reflector is not None:
            await self.reflector.stop()
            self.reflector = None
        if self.api is not None:
            await self.api.close()
            self.api = None
        await super().stop()

    async def check_cluster(self) -> None:
        """Fail with advice unless the namespace is reachable, access granted, claim there."""
        api = self._api
        where = f"namespace {self.namespace!r} at {api.host}"
        denied = []
        for verb, resource, subresource in _REQUIRED_ACCESS:
            review = k8s.V1SelfSubjectAccessReview(
                api_version="authorization.k8s.io/v1",
                kind="SelfSubjectAccessReview",
                spec=k8s.V1SelfSubjectAccessReviewSpec(
                    resource_attributes=k8s.V1ResourceAttributes(
                        namespace=self.namespace,
                        verb=verb,
                        resource=resource,
                        subresource=subresource or None,
                    )
                ),
            )
            try:
                body = await api.call_json(
                    "check access", api.auth.create_self_subject_access_review, review
                )
            except ApiException as e:
                if e.status in (403, 404):
                    self.log.warning("Cannot check access in the cluster (%s)", _describe(e))
                    break
                raise RuntimeError(f"the Kubernetes API is not usable ({_describe(e)})") from e
            except Exception as e:
                raise RuntimeError(
                    f"cannot reach the Kubernetes API at {api.host} ({_describe(e)}): check "
                    "c.KubeAutogradeExecutor.kube_context or the in-cluster service account"
                ) from e
            if not (body.get("status") or {}).get("allowed"):
                denied.append(f"{verb} {resource}{'/' + subresource if subresource else ''}")
        if denied:
            raise RuntimeError(
                f"the service account may not {', '.join(denied)} in {where}: grant them "
                "with a Role and RoleBinding (verbs get, list, watch, create, delete on "
                "pods, pods/status and pods/log; the Helm chart's role.yaml does this)"
            )
        try:
            await api.call_json(
                "read volume claim",
                api.core.read_namespaced_persistent_volume_claim,
                self.claim_name,
                self.namespace,
            )
        except ApiException as e:
            if e.status == 404:
                raise RuntimeError(
                    f"the volume claim {self.claim_name!r} does not exist in {where}: create "
                    "it (ReadWriteMany, mounted by the service at its data directory) or fix "
                    "c.KubeAutogradeExecutor.claim_name"
                ) from e
            if e.status != 403:
                raise RuntimeError(f"cannot read volume claim ({_describe(e)})") from e
            self.log.info(
                "Cannot verify that claim %s exists (no 'get persistentvolumeclaims')",
                self.claim_name,
            )

    @property
    def _api(self) -> KubeApi:
        if self.api is None:
            raise GradingFailure(
                "the Kubernetes executor is not started",
                FailureReason.INFRASTRUCTURE,
                retry=True,
            )
        return self.api

    @property
    def _reflector(self) -> PodReflector:
        if self.reflector is None:
            raise GradingFailure(
                "the Kubernetes executor is not started",
                FailureReason.INFRASTRUCTURE,
                retry=True,
            )
        return self.reflector

    # -- image ---------------------------------------------------------------------------------

    async def get_image(self, task: GradingTask) -> str:
        """The grading image: the assignment's setting, else the config file, else the default."""
        if task.image:
            try:
                ImagePolicy(parent=self).check(task.image)
            except ValueError as e:
                # allowed when it was saved, since removed from the allow-list
                raise GradingFailure(
                    f"the assignment's grading image cannot be used: {e}",
                    FailureReason.INVALID_SUBMISSION,
                ) from None
            return task.image
        if self.image_config_path:
            mapping = await asyncio.to_thread(self._read_image_config, self.image_config_path)
            entry = mapping.get(task.lecture_code)
            if isinstance(entry, str):
                return entry
            if isinstance(entry, dict) and isinstance(entry.get(task.assignment_name), str):
                return str(entry[task.assignment_name])
        image = await _resolve(self.default_image_name, task.lecture_code, task.assignment_name)
        return str(image)

    def _read_image_config(self, path: str) -> dict[str, Any]:
        """The image mapping file, parsed once per modification (JSON is YAML, too)."""
        mtime = Path(path).stat().st_mtime
        if self._image_config is None or self._image_config[0] != mtime:
            data = yaml.safe_load(Path(path).read_text("utf-8")) or {}
            if not isinstance(data, dict):
                raise GradingFailure(
                    f"{path} must map lecture codes to images",
                    FailureReason.INFRASTRUCTURE,
                )
            self._image_config = (mtime, data)
        return self._image_config[1]

    # -- the pod -------------------------------------------------------------------------------

    def pod_name(self, task: GradingTask) -> str:
        """A new, unique, legible pod name for ``task``."""
        # the random token keeps a second run of the same job from colliding with a pod
        # of an earlier run that is still terminating
        parts = [
            "grade",
            str(task.job_id),
            secrets.token_hex(3),
            safe_name_part(task.lecture_code),
            safe_name_part(task.username),
        ]
        return generate_hashed_slug("-".join(parts)).strip("-")

    def _sub_path(self, name: str) -> str:
        relative = self.workspace_root.joinpath(name).relative_to(Path(self.data_dir))
        return str(PurePosixPath(self.claim_data_path or ".", relative.as_posix()))

    async def get_pod_manifest(self, task: GradingTask, name: str) -> k8s.V1Pod:
        """The pod that grades ``task`` (no API calls)."""
        mount = PurePosixPath(self.job_mount_path)
        cmd = [
            self.convert_executable,
            "autograde",
            "--log-level=INFO",
            "-i",
            str(mount / "input"),
            "-o",
            str(mount / "output"),
            f"--NotebookRunner.cell_timeout={task.cell_timeout}",
            f"--Autograde.report_file={mount / REPORT_FILENAME}",
            # the kernel runs as the harness's user here: keep it out of the harness's
            # memory and kill what it leaves behind before results are written
            "--Autograde.isolate_harness=True",
            *self.extra_convert_args,
        ]
        labels = {
            **{k: safe_label_value(v) for k, v in self.labels.items()},
            **self.pod_labels,
            JOB_LABEL: str(task.job_id),
            LECTURE_LABEL: safe_label_value(task.lecture_code),
            ASSIGNMENT_LABEL: str(task.assignment_id),
        }
        annotations = {
            **self.annotations,
            "grader-service.io/username": task.username,
            "grader-service.io/submission-id": str(task.submission_id),
            "grader-service.io/commit": task.commit_hash,
        }
        pod = make_pod(
            name=name,
            cmd=cmd,
            image=await self.get_image(task),
            image_pull_policy=self.image_pull_policy,
            working_dir=str(mount / "input"),
            volumes=[
                {"name": "job", "persistentVolumeClaim": {"claimName": self.claim_name}},
                *self.volumes,
            ],
            volume_mounts=[
                {"name": "job", "mountPath": str(mount), "subPath": self._sub_path(name)},
                *self.volume_mounts,
            ],
            labels=labels,
            annotations=annotations,
            tolerations=await _resolve(self.tolerations, task),
            env=dict(self.environment),
            resources=await _resolve(self.resources, task),
            image_pull_secrets=list(self.image_pull_secrets),
            security=PodSecurity(
                uid=self.uid,
                gid=self.gid,
                fs_group=self.fs_group,
                runtime_class_name=self.runtime_class_name,
            ),
            scheduling=PodScheduling(
                node_selector=await _resolve(self.node_selector, task),
                priority_class_name=self.priority_class_name,
                active_deadline_seconds=self.max_grading_time,
            ),
            tmp_size_limit=self.tmp_size_limit,
        )
        pod.metadata.namespace = self.namespace
        if self.extra_container_config:
            update_k8s_model(
                pod.spec.containers[0],
                self.extra_container_config,
                self.log,
                "container",
                "extra_container_config",
            )
        if self.extra_pod_config:
            update_k8s_model(
                pod.spec, self.extra_pod_config, self.log, "pod.spec", "extra_pod_config"
            )
        return pod

    async def start_pod(self, task: GradingTask, job: JobDirectory) -> GraderPod:
        """Move the job into a new pod workspace, create its pod and follow it."""
        api, reflector = self._api, self._reflector
        name = self.pod_name(task)
        manifest = await self.get_pod_manifest(task, name)
        workspace = self.workspace_root / name
        await asyncio.to_thread(_move_into_workspace, job, workspace)
        pod = GraderPod(name, self.namespace, reflector, parent=self, log=self.log)
        try:
            created = await api.call_json(
                "create pod", api.core.create_namespaced_pod, self.namespace, manifest
            )
        except ApiException as e:
            pod.stop_polling()
            if e.status == 409:
                # a retried request whose first attempt did arrive: the pod is ours
                return GraderPod(name, self.namespace, reflector, parent=self, log=self.log)
            await asyncio.to_thread(shutil.rmtree, workspace, True)
            raise GradingFailure(
                f"the cluster refused the grading pod ({_describe(e)}): ask an admin to "
                "check the executor's configuration and the namespace's policies",
                FailureReason.INFRASTRUCTURE,
                retry=e.status >= 500,
            ) from None
        except BaseException:
            pod.stop_polling()
            await asyncio.to_thread(shutil.rmtree, workspace, True)
            raise
        reflector.seed(created)
        self.log.info("Grading job %d in pod %s/%s", task.job_id, self.namespace, name)
        return pod

    async def delete_pod(self, name: str) -> None:
        """Delete a pod now (already gone is fine)."""
        api = self._api
        try:
            await api.call_json(
                "delete pod",
                api.core.delete_namespaced_pod,
                name,
                self.namespace,
                grace_period_seconds=0,
            )
        except ApiException as e:
            if e.status != 404:
                raise

    async def read_logs(self, name: str) -> str:
        """The grading container's log ("" if it never started)."""
        api = self._api
        try:
            text = await api.call(
                "read pod log",
                api.core.read_namespaced_pod_log,
                name,
                self.namespace,
                container="autograde",
                limit_bytes=self.log_limit_bytes,
            )
        except ApiException as e:
            if e.status in (400, 404):  # never started, or already gone
                return ""
            raise
        return str(text)

    # -- grading -------------------------------------------------------------------------------

    async def autograde(self, task: GradingTask, job: JobDirectory) -> GradingReport:
        """Grade the job in a pod (or in the pod a previous run of the service left)."""
        expected = await asyncio.to_thread(_read_json, job.output_dir / GRADEBOOK_FILENAME)
        adopted = self._adoptable.pop(task.job_id, None)
        if adopted is not None and adopted in self._reflector.pods:
            self.log.info("Job %d: adopting pod %s of a previous run", task.job_id, adopted)
            pod = GraderPod(adopted, self.namespace, self._reflector, parent=self, log=self.log)
        else:
            pod = await self.start_pod(task, job)
        workspace = self.workspace_root / pod.name
        keep = False
        try:
            # the deadline of the pod counts once it runs; add room to be scheduled
            limit = self.max_grading_time + pod.unschedulable_timeout + 60
            try:
                phase = await asyncio.wait_for(asyncio.shield(pod.polling), limit)
            except TimeoutError:
                raise GradingFailure(
                    f"the grading pod {pod.name} did not finish in {limit:.0f} s",
                    FailureReason.TIMEOUT,
                ) from None
            logs = await self.read_logs(pod.name)
            outcome = pod.outcome
            if phase != SUCCEEDED or outcome is None or outcome.failure is not None:
                failure = (outcome.failure if outcome else None) or GradingFailure(
                    "the grading pod failed", FailureReason.OTHER
                )
                failure.logs = logs
                keep = self.keep_failed_pods and phase == FAILED
                raise failure
            report = await asyncio.to_thread(_collect, workspace, job, expected)
            report.logs = logs
            return report
        finally:
            pod.stop_polling()
            if not keep:
                # shielded: a cancelled job must not leave its pod running
                with contextlib.suppress(Exception):
                    await asyncio.shield(self._cleanup(pod.name, workspace))

    async def _cleanup(self, name: str, workspace: Path) -> None:
        try:
            await self.delete_pod(name)
        finally:
            await asyncio.to_thread(shutil.rmtree, workspace, True)

    async def recover(self, active_job_ids: set[int]) -> None:
        """Adopt pods of jobs still queued or running; delete the others (strays)."""
        reflector = self._reflector
        newest: dict[int, tuple[str, str]] = {}
        strays = []
        for name, pod in list(reflector.pods.items()):
            metadata = pod.get("metadata") or {}
            phase = (pod.get("status") or {}).get("phase")
            try:
                job_id = int((metadata.get("labels") or {}).get(JOB_LABEL, ""))
            except ValueError:
                job_id = -1
            if job_id in active_job_ids:
                created = str(metadata.get("creationTimestamp") or "")
                previous = newest.get(job_id)
                if previous is None or created >= previous[1]:
                    if previous is not None:
                        strays.append(previous[0])
                    newest[job_id] = (name, created)
                else:
                    strays.append(name)
            elif not (self.keep_failed_pods and phase == FAILED):
                strays.append(name)
        self._adoptable = {job_id: name for job_id, (name, _) in newest.items()}
        for name in strays:
            self.log.info("Deleting stray grading pod %s", name)
            with contextlib.suppress(Exception):
                await self._cleanup(name, self.workspace_root / name)
        keep = set(reflector.pods)
        removed = await asyncio.to_thread(
            _remove_orphan_workspaces, self.workspace_root, keep, self.max_grading_time
        )
        if self._adoptable or strays or removed:
            self.log.info(
                "Recovered grading pods: %d to adopt, %d strays deleted, %d old workspaces removed",
                len(self._adoptable),
                len(strays),
                removed,
            )


# -- file work (run in threads) ------------------------------------------------------------------


def _read_json(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return data


def _move_into_workspace(job: JobDirectory, workspace: Path) -> None:
    """Move the prepared input and output into the pod's workspace (a rename on one disk)."""
    workspace.mkdir(parents=True, mode=0o700)
    shutil.move(str(job.input_dir), str(workspace / "input"))
    shutil.move(str(job.output_dir), str(workspace / "output"))


def _collect(workspace: Path, job: JobDirectory, expected: dict[str, Any]) -> GradingReport:
    """Move the pod's output into the job directory and build the report from it."""
    output = workspace / "output"
    try:
        produced = _read_json(output / GRADEBOOK_FILENAME)
    except (OSError, ValueError) as e:
        raise GradingFailure(
            f"the grader wrote no readable gradebook ({type(e).__name__})", FailureReason.OTHER
        ) from None
    gradebook = trusted_gradebook(expected, produced)
    (output / GRADEBOOK_FILENAME).write_text(json.dumps(gradebook), "utf-8")
    if job.output_dir.exists():
        shutil.rmtree(job.output_dir)
    shutil.move(str(output), str(job.output_dir))
    try:
        summary = _read_json(workspace / REPORT_FILENAME)
    except (OSError, ValueError):
        summary = {}
    model = GradeBookModel.from_dict(gradebook)
    return GradingReport(
        gradebook=gradebook,
        score=float(model.score),
        max_score=float(model.max_score),
        summary=summary,
        reason=outcome_reason(summary),
    )


def trusted_gradebook(expected: dict[str, Any], produced: dict[str, Any]) -> dict[str, Any]:
    """The gradebook handed in, with the pod's grades and comments for its cells.

    Student code runs in the same pod as the converter, so the pod's gradebook is not
    trusted: cell definitions (and so the maxima and checksums) come from ``expected``,
    only grades and comments of known cells are taken, and automatic scores are
    clamped to [0, the cell's maximum].
    """
    result = json.loads(json.dumps(expected))
    for nb_name, notebook in (result.get("notebooks") or {}).items():
        theirs = ((produced.get("notebooks") or {}).get(nb_name)) or {}
        maxima = {
            **{
                k: ("max_score_gradecell", c)
                for k, c in notebook.get("grade_cells_dict", {}).items()
            },
            **{
                k: ("max_score_taskcell", c) for k, c in notebook.get("task_cells_dict", {}).items()
            },
        }
        grades = {}
        for cell_id, grade in (theirs.get("grades_dict") or {}).items():
            if cell_id not in maxima or not isinstance(grade, dict):
                continue
            key, cell = maxima[cell_id]
            maximum = float(cell.get("max_score") or 0.0)
            score = grade.get("auto_score")
            if isinstance(score, int | float):
                grade["auto_score"] = min(max(float(score), 0.0), maximum)
            elif score is not None:
                grade["auto_score"] = 0.0
            grade[key] = maximum
            # manual scores and extra credit are the graders', never the pod's
            kept = notebook.get("grades_dict", {}).get(cell_id) or {}
            grade["manual_score"] = kept.get("manual_score")
            grade["extra_credit"] = kept.get("extra_credit")
            grades[cell_id] = grade
        notebook["grades_dict"] = grades or notebook.get("grades_dict", {})
        comments = theirs.get("comments_dict") or {}
        notebook["comments_dict"] = {
            k: v for k, v in comments.items() if k in maxima or isinstance(v, dict)
        } or notebook.get("comments_dict", {})
    return dict(result)


def _remove_orphan_workspaces(root: Path, pods: set[str], older_than: float) -> int:
    """Delete workspaces without a pod that are older than a grading may take."""
    removed = 0
    if not root.is_dir():
        return 0
    cutoff = time.time() - older_than
    for path in root.iterdir():
        if path.name in pods:
            continue
        with contextlib.suppress(OSError):
            if path.stat().st_mtime < cutoff:
                shutil.rmtree(path)
                removed += 1
    return removed


__all__ = ["KubeAutogradeExecutor", "trusted_gradebook"]

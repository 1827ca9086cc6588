"""A Kubernetes API server and a kubelet for tests, without a cluster.

- :class:`Emulator`: kmock's in-memory Kubernetes API, plus what a real API server does
  that kmock does not: answer SelfSubjectAccessReviews (``denied`` lists what to refuse),
  serve pod logs (from the kubelet), and stamp ``creationTimestamp`` on new objects.
- :func:`fix_kmock_watch`: kubernetes-asyncio sends ``watch=True``; kmock only knows
  ``watch=true`` (the real API server parses either). Test-only patch.
- :class:`FakeKubelet`: watches pods over HTTP like a kubelet, and for each new pod
  either really runs its command locally (the claim's ``subPath`` mapped to a directory
  of the test) or plays a scripted failure (OOM, deadline, image pull, unschedulable,
  non-zero exit), patching the pod's status as a kubelet would.
- :func:`executor_requests`: the API requests the executor sent (by its User-Agent).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp.web
import attrs
import kmock
import pytest
from kmock._internal import parsing, rendering
from kubernetes_asyncio import client

BIN = Path(sys.executable).parent
KUBELET_AGENT = "fake-kubelet"
FAILURE_MODES = ("oom", "deadline", "image-pull", "unschedulable", "exit", "hang")


def fix_kmock_watch(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make kmock recognise ``watch=True`` (what kubernetes-asyncio sends) as a watch."""
    original = parsing.guess_k8s

    def guess_k8s(k8s: Any, method: Any, query: dict[str, str]) -> Any:
        query = dict(query)
        if query.get("watch") in ("True", "1"):
            query["watch"] = "true"
        return original(k8s, method, query)

    monkeypatch.setattr(parsing, "guess_k8s", guess_k8s)


@attrs.define(kw_only=True)
class Emulator(kmock.KubernetesEmulator):
    """kmock's emulator with access reviews, pod logs and creation timestamps."""

    #: (verb, "resource[/subresource]") pairs that access reviews refuse
    denied: set[tuple[str, str]] = attrs.field(factory=set)
    #: pod name -> its log (written by the kubelet)
    logs: dict[str, bytes] = attrs.field(factory=dict)
    #: every request served, oldest first
    history: list[rendering.Request] = attrs.field(factory=list)

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        # an empty list is a 200 on a real server, not "unknown resource"
        for resource in ("v1/pods", "v1/persistentvolumeclaims"):
            self.resources[resource] = kmock.ResourceInfo()

    async def _handle(self, request: rendering.Request) -> aiohttp.web.StreamResponse:
        # answered here rather than with kmock reactions: a reaction filters the whole
        # request history on every request, which makes a 100-job benchmark quadratic
        # kmock matches each request against its reactions by filtering its whole request
        # history (quadratic over a benchmark); keep only the request at hand there and
        # the history here
        self.history.append(request)
        del self._requests[:-1]
        resource = request.resource
        if request.subresource == "log" and request.method == kmock.method.GET:
            if request.name not in self.logs:
                return aiohttp.web.json_response(
                    {"kind": "Status", "code": 400, "message": "container is waiting to start"},
                    status=400,
                )
            return aiohttp.web.Response(body=self.logs[request.name], content_type="text/plain")
        if resource is not None and resource.plural == "selfsubjectaccessreviews":
            # a review is answered, never stored (kmock would store it, then 409)
            attrs = (request.data or {}).get("spec", {}).get("resourceAttributes", {})
            verb = attrs.get("verb", "")
            what = attrs.get("resource", "") + (
                "/" + attrs["subresource"] if attrs.get("subresource") else ""
            )
            allowed = (verb, what) not in self.denied
            return aiohttp.web.json_response(
                {
                    "apiVersion": "authorization.k8s.io/v1",
                    "kind": "SelfSubjectAccessReview",
                    "spec": request.data.get("spec", {}),
                    "status": {"allowed": allowed},
                },
                status=201,
            )
        if request.action == kmock.action.CREATE and isinstance(request.data, dict):
            now = datetime.datetime.now(tz=datetime.UTC).isoformat()
            request.data.setdefault("metadata", {}).setdefault("creationTimestamp", now)
        return await super()._handle(request)


def executor_requests(emulator: Emulator) -> list[rendering.Request]:
    """The requests the executor sent (it identifies itself as grader-service/...)."""
    return [
        r
        for r in emulator.history
        if str(r.headers.get("User-Agent", "")).startswith("grader-service/")
    ]


def _container_status(state: dict[str, Any], image: str) -> dict[str, Any]:
    return {
        "name": "autograde",
        "image": image,
        "imageID": "",
        "ready": "running" in state,
        "restartCount": 0,
        "started": "running" in state,
        "state": state,
    }


def _now() -> str:
    return datetime.datetime.now(tz=datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class FakeKubelet:
    """Runs the pods of one namespace: really (``run``) or as a scripted failure.

    ``behaviour(pod) -> mode`` picks what happens to each new pod: ``run`` (run its
    command), ``fast`` (succeed at once, copying the input gradebook to full marks
    without a kernel: for benchmarks), or one of :data:`FAILURE_MODES`.
    """

    def __init__(
        self,
        url: str,
        emulator: Emulator,
        namespace: str,
        claim_dir: Path,
        behaviour: Callable[[dict[str, Any]], str] = lambda pod: "run",
    ) -> None:
        self.url = url
        self.emulator = emulator
        self.namespace = namespace
        self.claim_dir = claim_dir
        self.behaviour = behaviour
        self.seen: set[str] = set()
        self.ran: list[list[str]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._watch: asyncio.Task[None] | None = None
        self._api: client.ApiClient | None = None

    async def start(self) -> None:
        """Start watching for new pods."""
        self._api = client.ApiClient(client.Configuration(host=self.url))
        self._api.user_agent = KUBELET_AGENT
        self.core = client.CoreV1Api(self._api)
        self._watch = asyncio.ensure_future(self._watch_pods())

    async def stop(self) -> None:
        """Stop watching and cancel running pods."""
        tasks = [t for t in [self._watch, *self._tasks] if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._api is not None:
            await self._api.close()

    async def _watch_pods(self) -> None:
        while True:
            with contextlib.suppress(Exception):
                response = await self.core.list_namespaced_pod(
                    self.namespace, watch=True, _preload_content=False
                )
                try:
                    while line := await response.content.readline():
                        self._on_event(json.loads(line))
                finally:
                    response.release()
            await asyncio.sleep(0.05)

    def _on_event(self, event: dict[str, Any]) -> None:
        pod = event.get("object") or {}
        name = pod.get("metadata", {}).get("name")
        if event.get("type") != "ADDED" or name in self.seen:
            return
        if (pod.get("status") or {}).get("phase"):
            return  # a pod this kubelet did not start
        self.seen.add(name)
        task = asyncio.ensure_future(self._run_pod(pod))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def patch_status(self, name: str, status: dict[str, Any]) -> None:
        """Patch a pod's status (as the kubelet reports it)."""
        with contextlib.suppress(client.ApiException):
            response = await self.core.patch_namespaced_pod_status(
                name, self.namespace, {"status": status}, _preload_content=False
            )
            response.release()

    async def _run_pod(self, pod: dict[str, Any]) -> None:
        name = pod["metadata"]["name"]
        container = pod["spec"]["containers"][0]
        image = container["image"]
        mode = self.behaviour(pod)
        scheduled = {"type": "PodScheduled", "status": "True"}
        if mode == "unschedulable":
            await self.patch_status(
                name,
                {
                    "phase": "Pending",
                    "conditions": [
                        {
                            "type": "PodScheduled",
                            "status": "False",
                            "reason": "Unschedulable",
                            "message": "0/3 nodes are available: 3 Insufficient memory.",
                        }
                    ],
                },
            )
            return
        if mode == "image-pull":
            waiting = {"reason": "ImagePullBackOff", "message": f'Back-off pulling "{image}"'}
            await self.patch_status(
                name,
                {
                    "phase": "Pending",
                    "conditions": [scheduled],
                    "containerStatuses": [_container_status({"waiting": waiting}, image)],
                },
            )
            return
        running = {"running": {"startedAt": _now()}}
        await self.patch_status(
            name,
            {
                "phase": "Running",
                "startTime": _now(),
                "conditions": [scheduled],
                "containerStatuses": [_container_status(running, image)],
            },
        )
        if mode == "hang":
            return
        status: dict[str, Any] = {"phase": "Failed"}
        if mode == "run":
            code, output = await self._execute(pod, container)
            self.emulator.logs[name] = output
            status["phase"] = "Succeeded" if code == 0 else "Failed"
            terminated = {"exitCode": code, "reason": "Completed" if code == 0 else "Error"}
        elif mode == "fast":
            self._complete_fast(pod, container)
            self.emulator.logs[name] = b"Score: full marks (fast kubelet)\n"
            status["phase"] = "Succeeded"
            terminated = {"exitCode": 0, "reason": "Completed"}
        elif mode == "oom":
            self.emulator.logs[name] = b"[NotebookRunner] running cell 1\n"
            terminated = {"exitCode": 137, "reason": "OOMKilled"}
        elif mode == "deadline":
            self.emulator.logs[name] = b"[NotebookRunner] running cell 1\n"
            status["reason"] = "DeadlineExceeded"
            status["message"] = "Pod was active on the node longer than the specified deadline"
            terminated = {"exitCode": 137, "reason": "Error"}
        elif mode == "exit":
            self.emulator.logs[name] = b"[grader-convert] ERROR | gradebook.json is unreadable\n"
            terminated = {"exitCode": 1, "reason": "Error"}
        else:
            raise ValueError(mode)
        terminated["finishedAt"] = _now()
        status["containerStatuses"] = [_container_status({"terminated": terminated}, image)]
        await self.patch_status(name, status)

    def _local(self, pod: dict[str, Any], container: dict[str, Any]) -> dict[str, Path]:
        """Mount path in the pod -> directory of the test, for the claim's subPath mounts."""
        claims = {v["name"] for v in pod["spec"].get("volumes", []) if "persistentVolumeClaim" in v}
        return {
            m["mountPath"]: self.claim_dir / m.get("subPath", "")
            for m in container.get("volumeMounts", [])
            if m["name"] in claims
        }

    def _map(self, text: str, mounts: dict[str, Path]) -> str:
        for mount, local in mounts.items():
            text = text.replace(mount, str(local))
        return text

    async def _execute(self, pod: dict[str, Any], container: dict[str, Any]) -> tuple[int, bytes]:
        mounts = self._local(pod, container)
        argv = [self._map(a, mounts) for a in container["command"] + container.get("args", [])]
        if not os.path.isabs(argv[0]):
            argv[0] = str(BIN / argv[0])
        self.ran.append(argv)
        tmp = next(iter(mounts.values())) / ".tmp"
        tmp.mkdir(exist_ok=True)
        env = {e["name"]: e.get("value", "") for e in container.get("env", [])}
        env = {k: v.replace("/tmp", str(tmp)) for k, v in env.items()}
        env["PATH"] = f"{BIN}:{os.environ.get('PATH', '')}"
        process = await asyncio.create_subprocess_exec(
            *argv,
            cwd=self._map(container.get("workingDir", "/"), mounts),
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await process.communicate()
        return int(process.returncode or 0), output

    def _complete_fast(self, pod: dict[str, Any], container: dict[str, Any]) -> None:
        mounts = self._local(pod, container)
        argv = container["command"]
        output = Path(self._map(argv[argv.index("-o") + 1], mounts))
        path = output / "gradebook.json"
        gradebook = json.loads(path.read_text())
        for notebook in gradebook["notebooks"].values():
            for cell_id, cell in notebook["grade_cells_dict"].items():
                notebook["grades_dict"][cell_id] = {
                    "id": cell_id,
                    "notebook_id": notebook["id"],
                    "cell_id": cell_id,
                    "auto_score": cell["max_score"],
                    "max_score_gradecell": cell["max_score"],
                }
        path.write_text(json.dumps(gradebook))

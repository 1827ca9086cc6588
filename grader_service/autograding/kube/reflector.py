"""One label-scoped watch of grading pods, shared by every job of the executor.

Following each pod with its own poll loop costs one API request per job per poll
interval; with a hundred jobs that is a steady load on the API server for no news. The
reflector lists the executor's pods once, then watches them with a single request, and
keeps the latest state of each pod in memory. :class:`~.pod.GraderPod` objects subscribe
to their pod's name and are woken when it changes.

The watch is re-established every ``relist_interval`` seconds with a fresh list (the
server ends watches anyway, events can be lost across reconnects, and a proxy may drop
an idle stream silently), so no pod waits longer than that for news even if an event was
missed. Errors back off exponentially; a 410 Gone re-lists at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from kubernetes_asyncio.client.exceptions import ApiException

from .api import KubeApi, _describe

Listener = Callable[[dict[str, Any] | None], None]


class PodReflector:
    """The latest state of every pod that matches ``labels`` in ``namespace``."""

    def __init__(
        self,
        api: KubeApi,
        namespace: str,
        labels: dict[str, str],
        *,
        relist_interval: float,
        log: logging.Logger | logging.LoggerAdapter[Any],
    ) -> None:
        self.api = api
        self.namespace = namespace
        self.labels = dict(labels)
        self.label_selector = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
        self.relist_interval = relist_interval
        self.log = log
        #: pod name -> the pod as the API server last described it (plain JSON)
        self.pods: dict[str, dict[str, Any]] = {}
        self._updated: dict[str, float] = {}
        self._listeners: dict[str, list[Listener]] = {}
        self._task: asyncio.Task[None] | None = None
        self.first_load: asyncio.Future[None] | None = None

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        """List the pods, then keep watching them in the background."""
        self.first_load = asyncio.get_running_loop().create_future()
        self._task = asyncio.ensure_future(self._run())
        await asyncio.shield(self.first_load)

    async def stop(self) -> None:
        """Stop watching."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    # -- subscriptions -----------------------------------------------------------------

    def subscribe(self, name: str, listener: Listener) -> None:
        """Call ``listener(pod or None)`` whenever pod ``name`` changes or disappears."""
        self._listeners.setdefault(name, []).append(listener)

    def unsubscribe(self, name: str, listener: Listener) -> None:
        """Stop calling ``listener`` for pod ``name``."""
        listeners = self._listeners.get(name, [])
        with contextlib.suppress(ValueError):
            listeners.remove(listener)
        if not listeners:
            self._listeners.pop(name, None)

    def seed(self, pod: dict[str, Any]) -> None:
        """Record a pod we just created, so its waiter need not wait for the watch."""
        name = pod.get("metadata", {}).get("name")
        if name and name not in self.pods:
            self._store(name, pod)

    # -- internals ---------------------------------------------------------------------

    def _ours(self, pod: dict[str, Any]) -> bool:
        # the server filters by label already; checking again costs nothing and keeps
        # foreign pods out if a proxy or an emulator ignores the selector
        labels = pod.get("metadata", {}).get("labels") or {}
        return all(labels.get(k) == v for k, v in self.labels.items())

    def _store(self, name: str, pod: dict[str, Any] | None) -> None:
        if pod is None:
            self.pods.pop(name, None)
            self._updated.pop(name, None)
        else:
            self.pods[name] = pod
            self._updated[name] = asyncio.get_running_loop().time()
        for listener in list(self._listeners.get(name, [])):
            listener(pod)

    async def _list(self) -> str | None:
        started = asyncio.get_running_loop().time()
        body = await self.api.call_json(
            "list grading pods",
            self.api.core.list_namespaced_pod,
            self.namespace,
            label_selector=self.label_selector,
        )
        listed = {
            item["metadata"]["name"]: item for item in body.get("items") or [] if self._ours(item)
        }
        for name, pod in listed.items():
            if self.pods.get(name) != pod:
                self._store(name, pod)
        for name in [n for n in self.pods if n not in listed]:
            # a pod created (and seeded) while the list was under way is not gone
            if self._updated.get(name, 0.0) < started:
                self._store(name, None)
        version = (body.get("metadata") or {}).get("resourceVersion")
        return str(version) if version else None

    async def _watch(self, resource_version: str | None) -> None:
        async for event in self.api.watch_pods(
            self.namespace, self.label_selector, resource_version, int(self.relist_interval)
        ):
            kind = event.get("type")
            pod = event.get("object") or {}
            if kind == "BOOKMARK" or not self._ours(pod):
                continue
            name = pod.get("metadata", {}).get("name")
            if not name:
                continue
            self._store(name, None if kind == "DELETED" else pod)

    async def _run(self) -> None:
        failures = 0
        assert self.first_load is not None
        while True:
            try:
                version = await self._list()
                if not self.first_load.done():
                    self.first_load.set_result(None)
                failures = 0
                await self._watch(version)
            except asyncio.CancelledError:
                raise
            except TimeoutError:
                continue  # our client-side end of a watch: list again
            except ApiException as e:
                if e.status == 410:
                    continue  # the version is too old: list again at once
                failures += 1
                self._failed(e, failures)
            except Exception as e:
                failures += 1
                self._failed(e, failures)
            else:
                continue
            if self.first_load is not None and not self.first_load.done() and failures >= 3:
                self.first_load.set_exception(
                    RuntimeError(f"cannot list the grading pods: {self._last_error}")
                )
            await asyncio.sleep(min(0.5 * 2**failures, 30.0))

    _last_error = ""

    def _failed(self, error: BaseException, failures: int) -> None:
        self._last_error = _describe(error)
        log = self.log.warning if failures < 5 else self.log.error
        log("Watching the grading pods failed (%s); retrying", self._last_error)

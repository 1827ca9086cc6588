"""The Kubernetes API as the executor uses it: one client, a timeout on every call, retries.

Every call goes through :meth:`KubeApi.call`, which bounds it with ``_request_timeout``
(aiohttp) *and* ``asyncio.wait_for`` (a stalled TLS handshake or DNS lookup is not
always covered by the former) and retries connection errors, timeouts, 429 and 5xx with
exponential backoff and jitter: an API server restarting during an upgrade must not fail
the jobs that are running. Everything else (403, 404, 409, 422) is the caller's to
handle, by status.

Responses the executor reads often (pod lists, watch events) are parsed as plain JSON
instead of being deserialised into models: turning a list of a few hundred pods into
``V1Pod`` objects takes long enough to be felt as event-loop lag.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
from kubernetes_asyncio import client, config
from kubernetes_asyncio.client.exceptions import ApiException

T = TypeVar("T")

_SERVICE_ACCOUNT_NAMESPACE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"


def is_retryable(error: BaseException) -> bool:
    """True for failures that a later attempt may not see (network, overload, 5xx)."""
    if isinstance(error, ApiException):
        return error.status in (429, 500, 502, 503, 504) or error.status == 0
    return isinstance(error, aiohttp.ClientError | TimeoutError | ConnectionError)


async def load_client_configuration(
    kube_context: str | None, config_file: str | None
) -> tuple[client.Configuration, str | None]:
    """The API client's configuration and the namespace it implies (None: unknown).

    In a pod without a chosen context this is the in-cluster service account (and its
    namespace); otherwise the kubeconfig file (``config_file``, ``$KUBECONFIG`` or
    ``~/.kube/config``) with ``kube_context`` or its current context.
    """
    configuration = client.Configuration()
    if kube_context is None and config_file is None and os.environ.get("KUBERNETES_SERVICE_HOST"):
        config.load_incluster_config(client_configuration=configuration)
        try:
            namespace = await asyncio.to_thread(Path(_SERVICE_ACCOUNT_NAMESPACE).read_text)
        except OSError:
            return configuration, None
        return configuration, namespace.strip() or None
    path = config_file or os.environ.get("KUBECONFIG", "").split(os.pathsep)[0] or None
    await config.load_kube_config(
        config_file=path,
        context=kube_context,
        client_configuration=configuration,
        persist_config=False,
    )
    contexts, current = config.list_kube_config_contexts(path)
    chosen = next((c for c in contexts if c.get("name") == kube_context), current)
    context_namespace = ((chosen or {}).get("context") or {}).get("namespace")
    return configuration, str(context_namespace) if context_namespace else None


class KubeApi:
    """CoreV1 calls with a timeout each and retries with backoff."""

    def __init__(
        self,
        configuration: client.Configuration,
        *,
        request_timeout: float,
        retries: int,
        backoff: float,
        log: logging.Logger | logging.LoggerAdapter[Any],
        user_agent: str,
    ) -> None:
        self.api_client = client.ApiClient(configuration)
        # the API server's audit log shows who created the grading pods
        self.api_client.user_agent = user_agent
        self.core = client.CoreV1Api(self.api_client)
        self.auth = client.AuthorizationV1Api(self.api_client)
        self.request_timeout = request_timeout
        self.retries = retries
        self.backoff = backoff
        self.log = log

    @property
    def host(self) -> str:
        """The API server's URL (for messages)."""
        return str(self.api_client.configuration.host)

    async def close(self) -> None:
        """Close the HTTP connections."""
        await self.api_client.close()

    async def call(
        self, what: str, fn: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any
    ) -> T:
        """``await fn(*args, **kwargs)`` with a timeout, retrying transient failures."""
        timeout = kwargs.pop("_timeout", self.request_timeout)
        for attempt in range(self.retries + 1):
            try:
                return await asyncio.wait_for(
                    fn(*args, _request_timeout=timeout, **kwargs), timeout + 1
                )
            except Exception as e:
                if not is_retryable(e) or attempt == self.retries:
                    raise
                delay = min(self.backoff * 2**attempt, 30.0) * random.uniform(0.5, 1.0)  # noqa: S311 (jitter)
                self.log.warning(
                    "Kubernetes API: %s failed (%s); retrying in %.1fs", what, _describe(e), delay
                )
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")

    async def call_json(
        self, what: str, fn: Callable[..., Awaitable[Any]], *args: Any, **kwargs: Any
    ) -> dict[str, Any]:
        """Like :meth:`call`, returning the response body as parsed JSON (no models)."""

        async def raw(*a: Any, **kw: Any) -> dict[str, Any]:
            response = await fn(*a, _preload_content=False, **kw)
            try:
                return _parse(response.status, await response.read())
            finally:
                response.release()

        return await self.call(what, raw, *args, **kwargs)

    async def watch_pods(
        self,
        namespace: str,
        label_selector: str,
        resource_version: str | None,
        timeout_seconds: int,
    ) -> AsyncIterator[dict[str, Any]]:
        """Yield the raw events of one watch request until the server (or our timeout) ends it.

        The server is asked to end the watch after ``timeout_seconds``; the client gives
        up a little later, so a server or proxy that forgets to end it cannot hang us.
        """
        kwargs: dict[str, Any] = {
            "label_selector": label_selector,
            "watch": True,
            "allow_watch_bookmarks": True,
            "timeout_seconds": timeout_seconds,
            "_preload_content": False,
            "_request_timeout": timeout_seconds + 10,
        }
        if resource_version:
            kwargs["resource_version"] = resource_version
        # with _preload_content=False the call returns the aiohttp response, not a model
        response: Any = await asyncio.wait_for(
            self.core.list_namespaced_pod(namespace, **kwargs), self.request_timeout + 1
        )
        try:
            if response.status >= 400:
                _parse(response.status, await response.read())
            while line := await response.content.readline():
                event: dict[str, Any] = json.loads(line)
                if event.get("type") == "ERROR":
                    status = event.get("object") or {}
                    raise ApiException(
                        status=int(status.get("code") or 500), reason=status.get("message")
                    )
                yield event
        finally:
            response.release()


def _parse(status: int, data: bytes) -> dict[str, Any]:
    """The JSON body of a response; an ApiException for an error status.

    kubernetes-asyncio raises for error statuses only when it parses the body itself
    (``_preload_content=True``); we parse it ourselves, so we check.
    """
    try:
        body: dict[str, Any] = json.loads(data) if data else {}
    except ValueError:
        body = {"message": data[:200].decode("utf-8", "replace")}
    if status >= 400:
        raise ApiException(status=status, reason=str(body.get("message") or body.get("reason")))
    return body


def _describe(error: BaseException) -> str:
    if isinstance(error, ApiException):
        return f"HTTP {error.status} {error.reason}"
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__

"""``{base_url}grader_labextension/api/{path}``: the service's REST API, with the user's token.

The browser never sees the token: it talks to its own Jupyter server (cookie and XSRF
auth), which adds ``Authorization: token ...`` and forwards the request. Status codes,
JSON errors and the headers that matter (pagination, CSV downloads) pass through
unchanged. ``api/events`` (Server-Sent Events) is streamed, never buffered.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

import tornado.web
from tornado.httputil import HTTPHeaders
from tornado.iostream import StreamClosedError

from ..service import FORWARDED_HEADERS, ServiceStream
from .base import GraderHandler, GraderHTTPError, translate_errors

EVENTS = "events"


class ProxyHandler(GraderHandler):
    """Forwards ``GET/POST/PUT/PATCH/DELETE`` to ``{service}api/{path}``."""

    def _api_path(self, path: str) -> str:
        if any(part in ("..", ".") for part in path.split("/")):
            raise GraderHTTPError(400, "Bad Request", "Invalid API path.")
        return "api/" + path

    def _query(self) -> str:
        """The query to forward, without JupyterLab's cache buster (a bare timestamp such
        as ``?1700000000000``, which the service's strict query validation refuses)."""
        return "&".join(p for p in self.request.query.split("&") if p and not p.isdigit())

    async def _forward(self, path: str) -> None:
        method = self.request.method or "GET"
        body = self.request.body if method in ("POST", "PUT", "PATCH") else None
        response = await self.service.send(
            method,
            self._api_path(path),
            query=self._query(),
            body=body,
            content_type=self.request.headers.get("Content-Type"),
            accept=self.request.headers.get("Accept", "application/json"),
        )
        self.set_status(response.status)
        for name, value in response.headers.items():
            self.set_header(name, value)
        if response.status == 204:
            self.finish()
        else:
            self.finish(response.body)

    @tornado.web.authenticated
    @translate_errors
    async def get(self, path: str) -> None:
        if path == EVENTS:
            await self._stream_events()
        else:
            await self._forward(path)

    @tornado.web.authenticated
    @translate_errors
    async def post(self, path: str) -> None:
        await self._forward(path)

    @tornado.web.authenticated
    @translate_errors
    async def put(self, path: str) -> None:
        await self._forward(path)

    @tornado.web.authenticated
    @translate_errors
    async def patch(self, path: str) -> None:
        await self._forward(path)

    @tornado.web.authenticated
    @translate_errors
    async def delete(self, path: str) -> None:
        await self._forward(path)

    # -- Server-Sent Events ------------------------------------------------------------

    _stream: ServiceStream | None = None
    _headers_flushed: asyncio.Future[None] | None = None
    _browser_gone = False

    def on_connection_close(self) -> None:
        """The browser went away: close the service's stream too."""
        self._browser_gone = True
        if self._stream is not None:
            self._stream.close()

    async def _stream_events(self) -> None:
        """Relay the service's event stream chunk by chunk until either side closes."""

        def on_start(status: int, headers: HTTPHeaders) -> None:
            self.set_status(status)
            for name in FORWARDED_HEADERS:
                if name in headers:
                    self.set_header(name, headers[name])
            # the browser's fetch() resolves on the headers: send them now, not with the
            # first event (maybe a keepalive 15 s away), so the UI shows "live" at once
            self._headers_flushed = asyncio.ensure_future(self._flush())

        def on_chunk(chunk: bytes) -> Awaitable[None] | None:
            if self._browser_gone or self._finished:
                return None
            self.write(chunk)
            # now, not when a buffer fills: each event must reach the browser at once
            return self._flush()

        self.set_header("Cache-Control", "no-cache")
        self.set_header("X-Accel-Buffering", "no")  # tell nginx-like proxies not to buffer
        self._stream = await self.service.open_stream(
            self._api_path(EVENTS), self._query(), self.request.headers.get("Last-Event-ID")
        )
        if self._browser_gone:
            self._stream.close()  # the browser left while we connected
        await self._stream.read(on_start, on_chunk)
        if not self._finished:
            self.finish()

    async def _flush(self) -> None:
        try:
            await self.flush()
        except StreamClosedError:
            if self._stream is not None:
                self._stream.close()


default_handlers = [(r"api/(.*)", ProxyHandler)]

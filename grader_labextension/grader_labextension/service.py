"""The grader service's REST API, seen from the single-user server."""

from __future__ import annotations

import json
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http.client import responses
from typing import Any
from urllib.parse import urlencode, urlsplit

from tornado.http1connection import HTTP1Connection, HTTP1ConnectionParameters
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest
from tornado.httputil import HTTPHeaders, HTTPMessageDelegate, RequestStartLine, ResponseStartLine
from tornado.iostream import IOStream, StreamClosedError
from tornado.tcpclient import TCPClient

from .config import GraderLabConfig


class ServiceError(Exception):
    """The service answered with an error, or could not be reached (``status`` 502/504)."""

    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message

    def body(self) -> dict[str, Any]:
        """The error in the service's envelope (also ours)."""
        return {"status": self.status, "error": self.error, "message": self.message}

    @classmethod
    def from_body(cls, status: int, raw: bytes) -> ServiceError:
        """Read the service's ``{"status", "error", "message"}``; tolerate anything else."""
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        return cls(
            status,
            str(body.get("error") or responses.get(status, "Error")),
            str(body.get("message") or f"The grader service answered {status}."),
        )


@dataclass
class ServiceResponse:
    """A finished response of the service: status, the headers we forward, body."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        """The body as JSON (``None`` when empty)."""
        return json.loads(self.body) if self.body else None


# headers of the service's answer that mean something to the browser
FORWARDED_HEADERS = ("Content-Type", "Content-Disposition", "X-Total-Count", "Retry-After")


class GraderServiceClient:
    """Sends requests to the service with the user's token."""

    def __init__(self, config: GraderLabConfig) -> None:
        self.config = config

    def url(self, path: str, query: str | dict[str, Any] | None = None) -> str:
        """Absolute URL of ``path`` under the service's base (``api/...``, ``git/...``)."""
        url = self.config.service_url + path.lstrip("/")
        if isinstance(query, dict):
            query = urlencode(query, doseq=True)
        return f"{url}?{query}" if query else url

    def auth_headers(self) -> dict[str, str]:
        """The ``Authorization`` header (empty without a token: the service says 401)."""
        token = self.config.api_token
        return {"Authorization": f"token {token}"} if token else {}

    def _request(
        self,
        method: str,
        path: str,
        *,
        query: str | dict[str, Any] | None = None,
        body: bytes | None = None,
        content_type: str | None = None,
        accept: str = "application/json",
        timeout: float | None = None,
    ) -> HTTPRequest:
        headers = {**self.auth_headers(), "Accept": accept}
        if content_type:
            headers["Content-Type"] = content_type
        if body is None and method in ("POST", "PUT", "PATCH"):
            body = b""  # tornado refuses a body-less POST
        return HTTPRequest(
            self.url(path, query),
            method=method,
            headers=headers,
            body=body,
            connect_timeout=min(self.config.request_timeout, 20.0),
            request_timeout=self.config.request_timeout if timeout is None else timeout,
            follow_redirects=False,
        )

    async def send(self, method: str, path: str, **kwargs: Any) -> ServiceResponse:
        """Send a request; any HTTP status comes back as a response, not an exception.

        Raises :class:`ServiceError` (502/504) only when the service cannot be reached.
        """
        request = self._request(method, path, **kwargs)
        try:
            response = await AsyncHTTPClient().fetch(request, raise_error=False)
        except HTTPClientError as e:  # 599: no HTTP answer at all (timeout, reset)
            timed_out = "Timeout" in str(e)
            raise ServiceError(
                504 if timed_out else 502,
                "Gateway Timeout" if timed_out else "Bad Gateway",
                self.unreachable(e),
            ) from e
        except OSError as e:  # connection refused, unknown host
            raise ServiceError(502, "Bad Gateway", self.unreachable(e)) from e
        headers = {
            name: response.headers[name] for name in FORWARDED_HEADERS if name in response.headers
        }
        return ServiceResponse(response.code, response.body or b"", headers)

    async def json(self, method: str, path: str, payload: Any = None, **kwargs: Any) -> Any:
        """Send JSON, return the JSON answer; an error status raises :class:`ServiceError`."""
        if payload is not None:
            kwargs["body"] = json.dumps(payload).encode()
            kwargs["content_type"] = "application/json"
        response = await self.send(method, path, **kwargs)
        if response.status >= 400:
            raise ServiceError.from_body(response.status, response.body)
        return response.json()

    async def open_stream(
        self, path: str, query: str, last_event_id: str | None = None
    ) -> ServiceStream:
        """Start a streamed GET (Server-Sent Events); read it with ``ServiceStream.read``."""
        url = urlsplit(self.url(path, query))
        secure = url.scheme == "https"
        host = url.hostname or "127.0.0.1"
        try:
            stream = await TCPClient().connect(
                host,
                url.port or (443 if secure else 80),
                ssl_options=ssl.create_default_context() if secure else None,
                timeout=min(self.config.request_timeout, 20.0),
            )
        except (OSError, TimeoutError, StreamClosedError) as e:
            raise ServiceError(502, "Bad Gateway", self.unreachable(e)) from e
        # a stream is one endless body: no size limit, no body timeout, no keep-alive
        connection = HTTP1Connection(
            stream,
            True,
            HTTP1ConnectionParameters(no_keep_alive=True, max_body_size=1 << 62, decompress=False),
        )
        headers = HTTPHeaders(
            {
                "Host": url.netloc,
                "Accept": "text/event-stream",
                "Connection": "close",
                **self.auth_headers(),
            }
        )
        if last_event_id:  # the service then replays what was missed, or says "resync"
            headers["Last-Event-ID"] = last_event_id
        target = url.path + (f"?{url.query}" if url.query else "")
        connection.write_headers(RequestStartLine("GET", target, "HTTP/1.1"), headers)
        connection.finish()
        return ServiceStream(stream, connection)

    def unreachable(self, error: object) -> str:
        return f"The grader service at {self.config.service_url} cannot be reached: {error}"


class ServiceStream:
    """An open streamed response of the service; ``close()`` ends it from our side.

    tornado's ``AsyncHTTPClient`` cannot abort a request, so a browser that closes its
    event stream would leave the connection to the service open for ever: this speaks
    HTTP/1.1 over a stream we own and can close.
    """

    def __init__(self, stream: IOStream, connection: HTTP1Connection) -> None:
        self._stream = stream
        self._connection = connection

    async def read(
        self,
        on_start: Callable[[int, HTTPHeaders], None],
        on_chunk: Callable[[bytes], Awaitable[None] | None],
    ) -> None:
        """Hand the status and headers, then every chunk, to the callbacks until the end.

        ``on_chunk`` may return an awaitable (a flush): reading waits for it, so a slow
        browser slows the service's stream instead of filling our memory.
        """
        delegate = _Delegate(on_start, on_chunk)
        try:
            await self._connection.read_response(delegate)
        except StreamClosedError:
            pass  # closed by us or by the service: either way the stream is over
        finally:
            self.close()

    def close(self) -> None:
        """Close the connection to the service (idempotent)."""
        self._stream.close()


class _Delegate(HTTPMessageDelegate):
    def __init__(
        self,
        on_start: Callable[[int, HTTPHeaders], None],
        on_chunk: Callable[[bytes], Awaitable[None] | None],
    ) -> None:
        self.on_start = on_start
        self.on_chunk = on_chunk

    def headers_received(
        self, start_line: RequestStartLine | ResponseStartLine, headers: HTTPHeaders
    ) -> None:
        assert isinstance(start_line, ResponseStartLine)
        self.on_start(start_line.code, headers)

    def data_received(self, chunk: bytes) -> Awaitable[None] | None:
        return self.on_chunk(chunk)

"""Helpers shared by the tests: the service under test and an HTTP client for it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPResponse
from traitlets import default

from grader_service.app import GraderService


class MockGraderService(GraderService):
    """The real service with test defaults: localhost, a free port, no config file."""

    @default("service_host")
    def _test_host(self) -> str:
        return "127.0.0.1"

    @default("service_port")
    def _test_port(self) -> int:
        return 0

    @default("config_file")
    def _no_config_file(self) -> str:
        # the default name, which may be missing (tests must not read the example config)
        return "grader_service_config.py.absent"

    def load_config_file(self, filename: str, path: Any = None) -> None:  # type: ignore[override]
        """Tests pass their config as an object; never read a file."""

    @property
    def url(self) -> str:
        """The base URL the service answers on."""
        return f"http://127.0.0.1:{self.bound_port}{self.base_url_path}"


@dataclass
class Response:
    """What a test needs of an HTTP response."""

    status: int
    body: bytes
    headers: Any

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class ApiClient:
    """Sends real HTTP requests to the service as one of the test users."""

    def __init__(self, base_url: str, tokens: dict[str, str]) -> None:
        self.base_url = base_url
        self.tokens = tokens
        self.http = AsyncHTTPClient(force_instance=True)

    async def request(
        self,
        method: str,
        path: str,
        *,
        user: str | None = None,
        token: str | None = None,
        body: Any = None,
        raw_body: bytes | str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        """``path`` is relative to ``{base}api/`` unless it starts with ``/``."""
        url = (
            self.base_url.rstrip("/") + path
            if path.startswith("/")
            else self.base_url + "api/" + path
        )
        all_headers = dict(headers or {})
        if token is None and user is not None:
            token = self.tokens[user]
        if token is not None:
            all_headers["Authorization"] = f"token {token}"
        payload: bytes | str | None = raw_body
        if body is not None:
            payload = json.dumps(body)
            all_headers["Content-Type"] = "application/json"
        if payload is None and method in ("POST", "PUT", "PATCH"):
            payload = b""
        try:
            response: HTTPResponse = await self.http.fetch(
                url,
                method=method,
                headers=all_headers,
                body=payload,
                allow_nonstandard_methods=True,
            )
        except HTTPClientError as e:
            assert e.response is not None, e
            response = e.response
        return Response(response.code, response.body or b"", response.headers)

    async def get(self, path: str, **kwargs: Any) -> Response:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> Response:
        return await self.request("POST", path, **kwargs)

    async def put(self, path: str, **kwargs: Any) -> Response:
        return await self.request("PUT", path, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> Response:
        return await self.request("DELETE", path, **kwargs)

    def close(self) -> None:
        self.http.close()


def assert_error(response: Response, status: int, *fragments: str) -> dict[str, Any]:
    """Assert ``response`` is the JSON error envelope with ``status`` mentioning ``fragments``."""
    assert response.status == status, (response.status, response.body)
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json
    assert set(body) == {"status", "error", "message"}, body
    assert body["status"] == status
    assert isinstance(body["error"], str) and body["error"]
    for fragment in fragments:
        assert fragment in body["message"], (fragment, body["message"])
    assert "Traceback" not in body["message"]
    return body

"""The base of our handlers: authentication, one JSON error envelope, git in threads."""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Awaitable, Callable
from http.client import responses
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from jupyter_server.base.handlers import APIHandler
from tornado.web import HTTPError

from ..config import GraderLabConfig
from ..service import GraderServiceClient, ServiceError
from ..workspace import GitIdentity, WorkspaceError

P = ParamSpec("P")
T = TypeVar("T")

NAMESPACE = "grader_labextension"


class GraderHTTPError(HTTPError):
    """An error with the service's body: ``{"status", "error", "message"}``."""

    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(status, reason=error)
        self.error = error
        self.message = message


def translate_errors(
    method: Callable[P, Awaitable[None]],
) -> Callable[P, Awaitable[None]]:
    """Turn the service's and git's errors into HTTP errors with their message."""

    @functools.wraps(method)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            await method(*args, **kwargs)
        except ServiceError as e:
            raise GraderHTTPError(e.status, e.error, e.message) from e
        except WorkspaceError as e:
            reason = "Conflict" if e.status == 409 else "Bad Gateway"
            raise GraderHTTPError(e.status, reason, e.message) from e

    return wrapper


class GraderHandler(APIHandler):
    """Handlers of ``{base_url}grader_labextension/...``: JSON in, JSON out."""

    @property
    def grader_config(self) -> GraderLabConfig:
        """The extension's settings."""
        config: GraderLabConfig = self.settings["grader_labextension_config"]
        return config

    @property
    def service(self) -> GraderServiceClient:
        """A client of the grader service with the user's token."""
        return GraderServiceClient(self.grader_config)

    @property
    def identity(self) -> GitIdentity:
        """The user as git sees them."""
        config = self.grader_config
        return GitIdentity(config.api_token, config.username, config.git_timeout)

    @property
    def lectures_dir(self) -> Path:
        """Where local copies of assignments live."""
        return Path(self.grader_config.lectures_dir).expanduser()

    def lab_path(self, path: Path) -> str | None:
        """``path`` relative to the server's root directory (what JupyterLab opens)."""
        root = Path(self.settings.get("server_root_dir", "~")).expanduser().resolve()
        try:
            return path.resolve().relative_to(root).as_posix()
        except ValueError:
            return None

    async def in_workspace(self, path: Path, work: Callable[..., T], *args: Any) -> T:
        """Run blocking git ``work`` in a thread, one operation per directory at a time."""
        locks: dict[Path, asyncio.Lock] = self.settings["grader_labextension_locks"]
        lock = locks.setdefault(path, asyncio.Lock())
        async with lock:  # a double-clicked "Submit" must not run two commits at once
            return await asyncio.to_thread(work, *args)

    def write_json(self, data: Any, status: int = 200) -> None:
        """Finish with ``data`` as JSON."""
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.finish(json.dumps(data))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Every error as ``{"status", "error", "message"}``, like the service's."""
        exc = kwargs.get("exc_info", (None, None, None))[1]
        error = responses.get(status_code, "Error")
        message = error
        if isinstance(exc, GraderHTTPError):
            error, message = exc.error, exc.message
        elif isinstance(exc, HTTPError):
            message = exc.log_message or exc.reason or error
        elif exc is not None:
            message = "Unexpected error in the grader extension; see the server's log."
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.finish(json.dumps({"status": status_code, "error": error, "message": message}))

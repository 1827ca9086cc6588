"""Route templates and per-verb metadata (access rules and API docs).

A route is written once as a template such as ``api/lectures/{lecture_id}``; from it we
derive both tornado's regular expression and the OpenAPI path, so the two cannot
drift apart. Path parameters have one meaning everywhere: ``*_id`` are integers.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel
from tornado.web import RequestHandler

from ..errors import BadRequest, NotFound
from ..orm import LectureRole

MAX_ID = 2**31 - 1
"""The largest row id (ids are 32-bit integers in PostgreSQL): larger ids name nothing."""

PARAMETERS: dict[str, tuple[str, type]] = {
    "lecture_id": (r"\d+", int),
    "assignment_id": (r"\d+", int),
    "submission_id": (r"\d+", int),
    "user_id": (r"\d+", int),
    "username": (r"[^/]+", str),
    # everything after {base}git/: validated by grader_service.git.layout
    "repo_path": (r".+", str),
}

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Route:
    """A URL template under the service's base URL and the handler that serves it."""

    template: str
    handler: type[RequestHandler]
    kwargs: dict[str, Any] = field(default_factory=dict)

    @property
    def parameters(self) -> list[str]:
        """Names of the path parameters, in order."""
        return _PLACEHOLDER.findall(self.template)

    def pattern(self, base_url: str) -> str:
        """Tornado's regular expression for this route under ``base_url``."""

        def group(match: re.Match[str]) -> str:
            name = match.group(1)
            return f"(?P<{name}>{PARAMETERS[name][0]})"

        escaped = re.escape(self.template).replace(r"\{", "{").replace(r"\}", "}")
        return re.escape(base_url) + _PLACEHOLDER.sub(group, escaped) + "/?$"

    def openapi_path(self) -> str:
        """The OpenAPI path (relative to the server URL, which is the base URL)."""
        return "/" + self.template


def convert_path_kwargs(kwargs: dict[str, str]) -> dict[str, Any]:
    """Convert path parameters to their declared types (ids to int); 404 for an id that
    cannot exist (the database would reject it as out of range)."""
    converted = {name: PARAMETERS[name][1](value) for name, value in kwargs.items()}
    for name, value in converted.items():
        if isinstance(value, int) and value > MAX_ID:
            raise NotFound(f"No {name.removesuffix('_id')} has the id {value}.")
        if isinstance(value, str) and "\x00" in value:
            raise BadRequest(f"path.{name}: text must not contain NUL characters.")
    return converted


@dataclass(frozen=True)
class Access:
    """Who may call a handler verb."""

    roles: tuple[LectureRole, ...] = ()
    admin_only: bool = False
    public: bool = False

    def describe(self) -> str:
        """A sentence for the API documentation."""
        if self.public:
            return "No authentication required."
        if self.admin_only:
            return "Requires a grader-service admin."
        if self.roles:
            names = ", ".join(r.value for r in self.roles)
            return f"Requires one of these roles in the lecture: {names} (admins always may)."
        return "Requires an authenticated user."


@dataclass(frozen=True)
class Operation:
    """API documentation of one handler verb, the source of the OpenAPI document."""

    summary: str
    body: Any = None
    query: type[BaseModel] | None = None
    response: Any = None
    status: int = 200
    errors: Sequence[int] = ()
    tags: Sequence[str] = ()
    content_type: str | Sequence[str] = "application/json"
    deprecated: bool = False
    paginated: bool = False
    csv: bool = False


F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


def authorize(
    *roles: LectureRole, admin_only: bool = False, public: bool = False
) -> Callable[[F], F]:
    """Declare who may call a handler verb; checked before the verb runs.

    With ``roles`` and a ``lecture_id`` path parameter, the caller needs one of them in
    that lecture. With no roles, any authenticated user may call (a ``lecture_id`` in the
    path still requires some role in that lecture). Admins pass every check.
    """
    access = Access(roles=roles, admin_only=admin_only, public=public)

    def decorator(method: F) -> F:
        @functools.wraps(method)
        async def checked(self: Any, *args: Any, **kwargs: Any) -> Any:
            if not access.public:
                await self.check_access(access)
            return await method(self, *args, **kwargs)

        checked._access = access  # type: ignore[attr-defined]
        return checked  # type: ignore[return-value]

    return decorator


def document(
    summary: str,
    *,
    body: Any = None,
    query: type[BaseModel] | None = None,
    response: Any = None,
    status: int = 200,
    errors: Sequence[int] = (),
    tags: Sequence[str] = (),
    content_type: str | Sequence[str] = "application/json",
    deprecated: bool = False,
    paginated: bool = False,
    csv: bool = False,
) -> Callable[[F], F]:
    """Attach API documentation to a handler verb (rendered into the OpenAPI document)."""
    operation = Operation(
        summary,
        body,
        query,
        response,
        status,
        errors,
        tags,
        content_type,
        deprecated,
        paginated,
        csv,
    )

    def decorator(method: F) -> F:
        method._operation = operation  # type: ignore[attr-defined]
        return method

    return decorator


def access_of(method: Any) -> Access | None:
    """The :class:`Access` rule declared on a handler verb, if any."""
    return getattr(method, "_access", None)


def operation_of(method: Any) -> Operation | None:
    """The :class:`Operation` documented on a handler verb, if any."""
    return getattr(method, "_operation", None)

"""The base of every HTTP handler: authentication, JSON in and out, one error envelope."""

from __future__ import annotations

import asyncio
import base64
import binascii
import csv
import io
import json
import math
import re
from collections.abc import Coroutine
from http import HTTPStatus
from typing import Any, TypeVar

from pydantic import BaseModel, Field, TypeAdapter, ValidationError
from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tornado.web import HTTPError, RequestHandler

from ..auth.identity import IdentityResolver
from ..errors import BadRequest, Forbidden, GraderError, NotFound, Unauthorized
from ..orm import Lecture, LectureRole, Role, User
from .routing import MAX_ID, Access, access_of, convert_path_kwargs

M = TypeVar("M", bound=BaseModel)

# Building a TypeAdapter costs milliseconds; build the one we need once.
_ANY: TypeAdapter[Any] = TypeAdapter(Any)

_TOKEN_HEADER = re.compile(r"^(?:token|bearer)\s+(\S+)\s*$", re.IGNORECASE)
_BASIC_HEADER = re.compile(r"^basic\s+(\S+)\s*$", re.IGNORECASE)


def format_validation_error(error: ValidationError, where: str) -> str:
    """One line per problem, each naming the field, e.g. ``body.name: Field required``."""
    lines = []
    for problem in error.errors():
        location = ".".join(str(part) for part in (where, *problem["loc"]))
        lines.append(f"{location}: {problem['msg']}")
    return "; ".join(lines)


def _spreadsheet_safe(value: Any) -> Any:
    """Text a spreadsheet would run as a formula (a display name ``=HYPERLINK(...)``)
    gets a leading apostrophe; everything else is written as it is."""
    if isinstance(value, str) and value.startswith(("=", "+", "-", "@", "\t", "\r")):
        return "'" + value
    return value


class Page(BaseModel):
    """``limit``/``offset`` of a paginated list (mixed into query models)."""

    limit: int = Field(default=100, ge=1, le=1000, description="Page size (at most 1000).")
    offset: int = Field(default=0, ge=0, le=MAX_ID, description="How many items to skip.")


class InflightRequests:
    """Counts requests being handled, so a graceful stop can wait for them."""

    def __init__(self) -> None:
        self.count = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def started(self) -> None:
        self.count += 1
        self._idle.clear()

    def finished(self) -> None:
        self.count -= 1
        if self.count <= 0:
            self.count = 0
            self._idle.set()

    async def wait_idle(self) -> None:
        """Return once no request is in flight."""
        await self._idle.wait()


class BaseHandler(RequestHandler):
    """Common behaviour of all grader-service handlers.

    - ``prepare`` authenticates unless the verb is declared public, and converts path
      parameters to their types;
    - ``db`` is a session opened on first use and closed when the request ends, so an
      uncommitted change of a failed request is rolled back;
    - every error, including 404 and 500, is written as
      ``{"status": int, "error": str, "message": str}``.
    """

    current_user: User | None
    is_admin: bool = False
    lecture: Lecture | None = None
    lecture_role: LectureRole | None = None
    _db: AsyncSession | None = None
    _counted = False
    _admitted = False
    # Grader Service 0.12 had GET routes that change state; their aliases set this so
    # they get a writing transaction like POST does.
    mutating_get = False
    # Handlers whose POSTs only read (git's: the pack goes to git, not to the database)
    # set this, so they do not queue for SQLite's single write lock.
    read_only = False

    # -- services from the application settings ------------------------------------

    @property
    def session_factory(self) -> async_sessionmaker[AsyncSession]:
        """The application's session factory."""
        return self.settings["session_factory"]

    @property
    def identity_resolver(self) -> IdentityResolver:
        """Resolves tokens to users."""
        return self.settings["identity_resolver"]

    @property
    def grader_app(self) -> Any:
        """The :class:`~grader_service.app.GraderService` application (for its config)."""
        return self.settings["grader_app"]

    @property
    def db(self) -> AsyncSession:
        """This request's database session (writing verbs get a write transaction)."""
        if self._db is None:
            reading = self.request.method in ("GET", "HEAD", "OPTIONS") and not self.mutating_get
            if reading or self.read_only:
                self._db = self.session_factory()
            else:
                self._db = self.settings["write_session_factory"]()
        return self._db

    # -- request lifecycle ----------------------------------------------------------

    def set_default_headers(self) -> None:
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.set_header("Cache-Control", "no-store")
        self.set_header("X-Content-Type-Options", "nosniff")

    def check_xsrf_cookie(self) -> None:
        """Requests authenticate with tokens in headers, never cookies: no XSRF exposure."""

    async def prepare(self) -> None:
        """Authenticate (unless the verb is public) and type the path parameters."""
        inflight: InflightRequests | None = self.settings.get("inflight")
        if inflight is not None:
            inflight.started()
            self._counted = True
        admission: asyncio.Semaphore | None = self.settings.get("admission")
        if admission is not None:
            # A burst of requests would otherwise all run their first steps in one turn
            # of the event loop; admitted a bounded number at a time, each turn stays
            # short and every request (and the grading scheduler) keeps getting turns.
            await admission.acquire()
            self._admitted = True
        self.path_kwargs = convert_path_kwargs(self.path_kwargs)
        self.current_user = None
        verb = getattr(self, self.request.method.lower(), None) if self.request.method else None
        access = access_of(verb)
        if access is not None and access.public:
            return
        token = self.get_token()
        if token is None:
            raise Unauthorized(
                "Authentication required: send 'Authorization: token <your JupyterHub API token>'."
            )
        identity = await self.identity_resolver.resolve(self.db, token)
        self.current_user = identity.user
        self.is_admin = identity.is_admin

    def on_connection_close(self) -> None:
        self._uncount()

    def _uncount(self) -> None:
        if self._counted:
            self._counted = False
            self.settings["inflight"].finished()
        if self._admitted:
            self._admitted = False
            self.settings["admission"].release()

    def on_finish(self) -> None:
        self._uncount()
        if self._db is not None:
            # on_finish cannot await; close (and roll back) in a task we keep alive.
            self.in_background(self._db.close())
            self._db = None

    def in_background(self, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` beyond this request; the service waits for it (briefly) to stop."""
        tasks: set[asyncio.Task[None]] = self.settings["background_tasks"]
        task = asyncio.ensure_future(work)
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    def get_token(self) -> str | None:
        """The API token from ``Authorization: token|Bearer`` or Basic (git's way)."""
        header = self.request.headers.get("Authorization", "")
        if match := _TOKEN_HEADER.match(header):
            return match.group(1)
        if match := _BASIC_HEADER.match(header):
            try:
                decoded = base64.b64decode(match.group(1), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                raise BadRequest("Malformed Basic authorization header.") from None
            _user, _, password = decoded.partition(":")
            return password or None
        return None

    # -- authorization ----------------------------------------------------------------

    async def check_access(self, access: Access) -> None:
        """Enforce an :class:`Access` rule for the current user (see ``authorize``)."""
        if self.current_user is None:
            raise Unauthorized("Authentication required.")
        lecture_id = self.path_kwargs.get("lecture_id")
        if lecture_id is not None:
            # one round trip for the lecture and the caller's role in it
            row = (
                await self.db.execute(
                    select(Lecture, Role.role)
                    .outerjoin(
                        Role,
                        (Role.lecture_id == Lecture.id) & (Role.user_id == self.current_user.id),
                    )
                    .where(Lecture.id == lecture_id)
                )
            ).first()
            self.lecture, self.lecture_role = row if row is not None else (None, None)
            if self.lecture is None or (self.lecture.deleted and not self.is_admin):
                raise NotFound(f"Lecture {lecture_id} does not exist.")
        if self.is_admin:
            return
        if access.admin_only:
            raise Forbidden("Only grader-service admins may do this.")
        if lecture_id is not None:
            if self.lecture_role is None:
                raise Forbidden(f"You have no role in lecture {lecture_id}.")
            if access.roles and self.lecture_role not in access.roles:
                allowed = " or ".join(r.value for r in access.roles)
                raise Forbidden(
                    f"This needs the {allowed} role in the lecture; you are a "
                    f"{self.lecture_role.value}."
                )

    # -- JSON in --------------------------------------------------------------------

    def _json_body(self) -> Any:
        body = self.request.body
        if not body:
            raise BadRequest("A JSON request body is required.")
        try:
            data = json.loads(body, parse_constant=_reject_constant, parse_float=_finite_float)
        except (ValueError, UnicodeDecodeError, RecursionError) as e:
            raise BadRequest(f"The request body is not valid JSON: {e}") from None
        # NUL and lone surrogates can only arrive as \u escapes; databases cannot store them
        if b"\\u" in body and (where := _unstorable_text(data, "body")) is not None:
            raise BadRequest(f"{where}: text must not contain NUL characters or lone surrogates.")
        return data

    def parse_body(self, model: type[M]) -> M:
        """The request body validated as ``model``; 400 naming the field otherwise."""
        data = self._json_body()
        try:
            return model.model_validate(data)
        except ValidationError as e:
            raise BadRequest(format_validation_error(e, "body")) from None

    def parse_json_object(self) -> dict[str, Any]:
        """The request body as a JSON object (for free-form documents like gradebooks)."""
        data = self._json_body()
        if not isinstance(data, dict):
            raise BadRequest("body: must be a JSON object.")
        return data

    def parse_query(self, model: type[M]) -> M:
        """The query string validated as ``model`` (unknown parameters are rejected)."""
        raw: dict[str, Any] = {}
        for name, values in self.request.query_arguments.items():
            decoded = [v.decode("utf-8", "replace") for v in values]
            if any("\x00" in text for text in (name, *decoded)):
                raise BadRequest(f"query.{name}: text must not contain NUL characters.")
            raw[name] = decoded[-1] if len(decoded) == 1 else decoded
        try:
            return model.model_validate(raw)
        except ValidationError as e:
            raise BadRequest(format_validation_error(e, "query")) from None

    async def paginate(self, stmt: Select[Any], page: Page) -> list[Any]:
        """Run ``stmt`` for one page; the total goes into the ``X-Total-Count`` header."""
        total = await self.db.scalar(
            select(func.count()).select_from(stmt.order_by(None).subquery())
        )
        self.set_header("X-Total-Count", str(total or 0))
        return list((await self.db.scalars(stmt.limit(page.limit).offset(page.offset))).all())

    # -- JSON and CSV out -------------------------------------------------------------

    def write_csv(self, header: list[str], rows: list[list[Any]], filename: str) -> None:
        """Finish with a CSV attachment (UTF-8, header row first)."""
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow([_spreadsheet_safe(name) for name in header])  # assignment names
        writer.writerows([[_spreadsheet_safe(value) for value in row] for row in rows])
        self.set_header("Content-Type", "text/csv; charset=UTF-8")
        self.set_header("Content-Disposition", f'attachment; filename="{filename}"')
        self.finish(buffer.getvalue())

    def notify_grading(self) -> None:
        """Wake this process's grading scheduler: a job was just committed to the queue."""
        scheduler = self.settings.get("grading_scheduler")
        if scheduler is not None:
            scheduler.notify()

    def write_json(self, data: Any, status: int = 200) -> None:
        """Serialise ``data`` (pydantic models, lists of them, or plain JSON) and finish."""
        self.set_status(status)
        payload = _ANY.dump_python(data, mode="json") if _has_models(data) else data
        self.finish(json.dumps(payload))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Render any error as the JSON envelope; never a stack trace."""
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, GraderError):
            status, message = int(exc.status), exc.message
        elif isinstance(exc, IntegrityError):
            status = HTTPStatus.CONFLICT
            message = "The request conflicts with existing data (a name or code already in use?)."
        elif isinstance(exc, HTTPError):
            status = exc.status_code
            message = exc.log_message or HTTPStatus(status).description
            if exc.args[2:]:
                message = message % exc.args[2:]
        else:
            status = status_code
            message = (
                "An internal error occurred; it has been logged. Contact your "
                "grader-service admin if it persists."
                if status >= 500
                else HTTPStatus(status).description
            )
        reason = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
        self.set_status(status)
        self.clear_header("Content-Type")
        self.set_default_headers()
        if status == HTTPStatus.UNAUTHORIZED:
            self.set_header("WWW-Authenticate", self.authenticate_challenge())
        self.finish(json.dumps({"status": status, "error": reason, "message": message}))

    def authenticate_challenge(self) -> str:
        """The ``WWW-Authenticate`` value sent with 401 responses."""
        return 'Token realm="grader-service"'

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        """Client errors are expected: log them in one line, keep tracebacks for bugs."""
        if isinstance(value, GraderError | IntegrityError) or (
            isinstance(value, HTTPError) and value.status_code < 500
        ):
            message = value.message if isinstance(value, GraderError) else str(value)
            self.log.info("%s %s: %s", self.request.method, self.request.path, message)
        else:
            super().log_exception(typ, value, tb)

    @property
    def log(self) -> Any:
        """The application logger."""
        return self.grader_app.log


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is too large for a number")
    return value


def _unstorable_text(data: Any, where: str) -> str | None:
    """Where in ``data`` a string holds NUL or a lone surrogate (which neither PostgreSQL
    nor UTF-8 can store), or None. Iterative, so deep documents cannot exhaust the stack."""
    pending = [(data, where)]
    while pending:
        value, path = pending.pop()
        if isinstance(value, str):
            if "\x00" in value or (not value.isascii() and _has_surrogate(value)):
                return path
        elif isinstance(value, dict):
            for key, item in value.items():
                pending.append((key, path))
                pending.append((item, f"{path}.{key}"))
        elif isinstance(value, list):
            pending.extend((item, f"{path}.{i}") for i, item in enumerate(value))
    return None


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _has_models(data: Any) -> bool:
    if isinstance(data, BaseModel):
        return True
    if isinstance(data, list | tuple):
        return any(isinstance(item, BaseModel) for item in data)
    return False


class NotFoundHandler(BaseHandler):
    """Answers every unknown URL with the JSON 404 envelope."""

    async def prepare(self) -> None:
        raise NotFound(f"No such endpoint: {self.request.method} {self.request.path}")


def admin_or_self(handler: BaseHandler, username: str) -> None:
    """Raise unless the caller is an admin or the user named ``username``."""
    if not handler.is_admin and (
        handler.current_user is None or handler.current_user.name != username
    ):
        raise Forbidden("Only admins may see other users' data.")

"""git smart-HTTP: clone, pull and push assignment repositories with plain ``git``.

Requests are authenticated like the REST API (git sends the token as the Basic-auth
password), authorised per repository type (``git/access.py``), and served by
``git upload-pack``/``git receive-pack --stateless-rpc`` running as an asyncio
subprocess with request and response bodies streamed (gzip request bodies inflated on
the way), so a large push neither blocks the event loop nor sits in memory. This is what
``git http-backend`` does, without its CGI process in between (two fewer processes per
push, which matters at a deadline).
"""

from __future__ import annotations

import asyncio
import time
import zlib
from pathlib import Path
from typing import Literal

from pydantic import Field
from sqlalchemy import and_, select
from tornado.web import HTTPError, stream_request_body

from ..errors import (
    BadRequest,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    Unauthorized,
    UnsupportedMediaType,
)
from ..git.access import may_access
from ..git.commands import git
from ..git.layout import RepoAddress, RepoType, parse_repo_url
from ..git.policy import PushPolicy
from ..git.repos import ensure_bare_repo, head_commit, main_files, seed_from
from ..git.server import GRANT_SECONDS, GitGrant, GitServer
from ..orm import (
    Assignment,
    AssignmentStatus,
    Lecture,
    LectureRole,
    Role,
    Submission,
    User,
    hash_token,
)
from .base import BaseHandler
from .routing import MAX_ID, Route, authorize, document
from .schemas import Strict

_SERVICES = ("git-upload-pack", "git-receive-pack")
_CHUNK = 64 * 1024


class GitQuery(Strict):
    """The query of git's ref advertisement (documentation only: git sends it)."""

    service: Literal["git-upload-pack", "git-receive-pack"] | None = Field(
        default=None, description="info/refs: the service whose refs git asks for."
    )


@stream_request_body
class GitHandler(BaseHandler):
    """``{base}git/{lecture_code}/{assignment_id}/{repo type}[/...]/(info/refs|git-*-pack)``."""

    read_only = True
    proc: asyncio.subprocess.Process | None = None
    _service: str  # git-upload-pack or git-receive-pack
    _advertise: bool  # info/refs (the ref advertisement) rather than the pack exchange
    _v2: bool  # the client speaks protocol v2 (fetches only)
    _repo: Path
    _pushed_source: tuple[RepoAddress, Path] | None = None
    _inflate: zlib._Decompress | None = None
    _inflated = 0
    _body_error: BadRequest | PayloadTooLarge | None = None
    _stdin_closed = False

    @property
    def git_server(self) -> GitServer:
        """The git server configuration."""
        return self.grader_app.git_server

    def authenticate_challenge(self) -> str:
        # git answers a Basic challenge by asking its credential helper for a password
        return 'Basic realm="grader-service git", charset="UTF-8"'

    async def prepare(self) -> None:
        """Authenticate, authorise, find or create the repository, start the backend."""
        inflight = self.settings.get("inflight")
        if inflight is not None:
            inflight.started()
            self._counted = True
        self.current_user = None
        address, suffix = parse_repo_url(self.path_kwargs["repo_path"])
        service = self.get_query_argument("service", "") if suffix == "info/refs" else suffix
        if service not in _SERVICES:
            raise BadRequest("Only git's smart-HTTP protocol is supported (git >= 1.6.6).")
        method = "GET" if suffix == "info/refs" else "POST"
        if self.request.method != method:
            raise HTTPError(405, f"git {suffix} takes {method} requests.")
        push = service == "git-receive-pack"
        token = self.get_token()
        if token is None:
            raise Unauthorized("Authentication required: use your API token as the password.")
        # the second request of a push or fetch: the first one's checks still hold
        grant_key = f"{hash_token(token)} {service} {address}"
        grant = self.git_server.recent_grant(grant_key)
        if grant is not None:
            self.current_user = User(id=grant.user_id, name=grant.username)  # never stored
            self.is_admin = grant.is_admin
            repo, policy = grant.repo, grant.policy
        else:
            identity = await self.identity_resolver.resolve(self.db, token)
            self.current_user, self.is_admin = identity.user, identity.is_admin
            repo, policy = await self._authorised_repository(address, push)
            self.git_server.remember_grant(
                grant_key,
                GitGrant(
                    user_id=identity.user.id,
                    username=identity.user.name,
                    is_admin=identity.is_admin,
                    repo=repo,
                    policy=policy,
                    expires=time.monotonic() + GRANT_SECONDS,
                ),
            )
        self._pushed_source = (
            (address, repo) if push and address.repo_type == RepoType.SOURCE else None
        )
        # exactly this value, as git http-backend demands (and not as JSON)
        content_type = f"application/x-{service}-request"
        if method == "POST" and self.request.headers.get("Content-Type") != content_type:
            raise UnsupportedMediaType(f"git POSTs send 'Content-Type: {content_type}'.")
        encoding = self.request.headers.get("Content-Encoding", "identity").lower()
        if encoding in ("gzip", "x-gzip"):
            self._inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding != "identity":
            raise UnsupportedMediaType(f"Content-Encoding {encoding!r}: git sends gzip or none.")
        self._service = service
        self._advertise = suffix == "info/refs"
        self._repo = repo
        protocol = self.request.headers.get("Git-Protocol")
        # protocol v2 starts with the capabilities, v0 with a line naming the service
        self._v2 = protocol is not None and "version=2" in protocol.split(":")
        args = ["--stateless-rpc", "--advertise-refs"] if self._advertise else ["--stateless-rpc"]
        # the session is not needed while git runs (which may take a while): release it
        if self._db is not None:
            await self._db.close()
        self.proc = await asyncio.create_subprocess_exec(
            "git",
            service.removeprefix("git-"),
            *args,
            ".",
            env=self.git_server.pack_environment(policy, protocol),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=str(repo),
        )

    async def _authorised_repository(
        self, address: RepoAddress, push: bool
    ) -> tuple[Path, PushPolicy | None]:
        """Check the caller's rights on ``address``; return its directory and push policy."""
        assert self.current_user is not None
        if max(address.assignment_id, address.submission_id or 0) > MAX_ID:
            raise NotFound(f"No such repository: {address}.")  # ids the database cannot hold
        # lecture, the caller's role in it and the assignment in one round trip: every
        # clone, fetch and push asks, and a submit is two of them
        found = (
            await self.db.execute(
                select(Lecture, Role.role, Assignment)
                .outerjoin(
                    Role,
                    and_(Role.lecture_id == Lecture.id, Role.user_id == self.current_user.id),
                )
                .outerjoin(
                    Assignment,
                    and_(
                        Assignment.id == address.assignment_id,
                        Assignment.lecture_id == Lecture.id,
                    ),
                )
                .where(Lecture.code == address.lecture_code)
            )
        ).first()
        lecture, role, assignment = found if found is not None else (None, None, None)
        if lecture is None or (lecture.deleted and not self.is_admin):
            raise NotFound(f"Lecture {address.lecture_code!r} does not exist.")
        if role is None and not self.is_admin:
            raise Forbidden(f"You have no role in lecture {lecture.code!r}.")
        staff = self.is_admin or role in (LectureRole.TUTOR, LectureRole.INSTRUCTOR)
        if (
            assignment is None
            or assignment.lecture_id != lecture.id
            or assignment.deleted_at is not None
            or (
                not staff
                and assignment.status in (AssignmentStatus.CREATED, AssignmentStatus.PUSHED)
            )
        ):
            raise NotFound(
                f"Assignment {address.assignment_id} does not exist in {lecture.code!r}."
            )
        is_owner = address.username is not None and address.username == self.current_user.name
        if not may_access(
            address.repo_type, push=push, role=role, is_admin=self.is_admin, is_owner=is_owner
        ):
            action = "push to" if push else "read"
            raise Forbidden(
                f"You may not {action} the {address.repo_type.value} repository {address}."
            )
        repo = self.git_server.directory(address)
        release = self.git_server.directory(
            RepoAddress(address.lecture_code, address.assignment_id, RepoType.RELEASE)
        )
        policy: PushPolicy | None = None
        if address.repo_type == RepoType.USER:
            if await ensure_bare_repo(repo, protect_history=True):
                await seed_from(repo, release)
            if push:
                policy = self.git_server.student_policy(
                    assignment.settings, await main_files(release)
                )
        elif address.repo_type == RepoType.SOURCE:
            await ensure_bare_repo(repo)
            policy = self.git_server.staff_policy(assignment.settings)
        elif address.repo_type == RepoType.EDIT:
            exists = await self.db.scalar(
                select(Submission.id).where(
                    Submission.id == address.submission_id,
                    Submission.assignment_id == assignment.id,
                )
            )
            if exists is None or not (repo / "HEAD").exists():
                raise NotFound(
                    f"No edit copy of submission {address.submission_id}; create one first."
                )
            policy = self.git_server.staff_policy(assignment.settings)
        elif not (repo / "HEAD").exists():
            raise NotFound(
                f"The {address.repo_type.value} repository {address} does not exist yet."
            )
        return repo, policy

    async def data_received(self, chunk: bytes) -> None:
        """Stream the request body (a push's pack, a fetch's wants) into git.

        Tornado does not let this method answer the request, so a body that cannot be
        used is remembered, git is stopped, and the request method raises the error.
        """
        if self._body_error is not None or self._stdin_closed:
            return
        if self._inflate is None:
            await self._feed(chunk)
            return
        try:
            data = self._inflate.decompress(chunk, _CHUNK)
            while data:
                self._inflated += len(data)
                if self._inflated > self.grader_app.max_body_size:
                    raise PayloadTooLarge("The request body inflates to more than the limit.")
                await self._feed(data)
                data = self._inflate.decompress(self._inflate.unconsumed_tail, _CHUNK)
        except zlib.error:
            self._refuse_body(BadRequest("The request body is not valid gzip."))
        except PayloadTooLarge as e:
            self._refuse_body(e)

    async def _feed(self, data: bytes) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        try:
            self.proc.stdin.write(data)
            await self.proc.stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            # git stopped reading (it refused the request): its answer says why
            self._stdin_closed = True

    def _refuse_body(self, error: BadRequest | PayloadTooLarge) -> None:
        self._body_error = error
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()

    async def _relay(self) -> None:
        """Finish the request body, then stream git's answer to the client."""
        assert self.proc is not None and self.proc.stdin and self.proc.stdout and self.proc.stderr
        if self._body_error is None and self._inflate is not None and not self._inflate.eof:
            self._refuse_body(BadRequest("The gzip request body ends early."))
        if self._body_error is not None:
            raise self._body_error
        self.proc.stdin.close()
        stderr_task = asyncio.ensure_future(self.proc.stderr.read())
        kind = "advertisement" if self._advertise else "result"
        self.set_header("Content-Type", f"application/x-{self._service}-{kind}")
        # never cached by a proxy: refs change with every push
        self.set_header("Cache-Control", "no-cache, max-age=0, must-revalidate")
        self.set_header("Expires", "Fri, 01 Jan 1980 00:00:00 GMT")
        self.set_header("Pragma", "no-cache")
        if self._advertise and not self._v2:
            self.write(pkt_line(f"# service={self._service}\n") + FLUSH_PKT)
        while chunk := await self.proc.stdout.read(_CHUNK):
            self.write(chunk)
            await self.flush()
        code = await self.proc.wait()
        stderr = (await stderr_task).decode("utf-8", "replace").strip()
        if code != 0 or stderr:
            path = self.request.path
            self.log.info("git %s (%s) exited %s: %s", self._service, path, code, stderr)
        if self._service == "git-receive-pack" and not self._advertise:
            if self._pushed_source is not None:
                await self._mark_source_pushed(*self._pushed_source)
            if self.git_server.count_push(self._repo):
                self.in_background(collect_garbage(self._repo))
        self.finish()

    def on_finish(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
        super().on_finish()

    def on_connection_close(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
        super().on_connection_close()

    @document(
        "git smart-HTTP ref advertisement (info/refs?service=git-upload-pack|git-receive-pack)",
        query=GitQuery,
        response=str,
        errors=[400, 401, 403, 404, 405],
        tags=["git"],
        content_type=[f"application/x-{service}-advertisement" for service in _SERVICES],
    )
    @authorize()
    async def get(self, repo_path: str) -> None:
        await self._relay()

    @document(
        "git smart-HTTP fetch or push (git-upload-pack / git-receive-pack); the push "
        "policy (file size, count, allowed files) is enforced by the server",
        response=str,
        errors=[400, 401, 403, 404, 405, 415],
        tags=["git"],
        content_type=[f"application/x-{service}-result" for service in _SERVICES],
    )
    @authorize()
    async def post(self, repo_path: str) -> None:
        await self._relay()

    async def _mark_source_pushed(self, address: RepoAddress, repo: Path) -> None:
        """A new assignment whose source now has a commit is "pushed" (ready to release).

        Checked on the repository rather than the push's outcome: a push the hook
        refused leaves main where it was.
        """
        if await head_commit(repo) is None:
            return
        async with self.settings["write_session_factory"]() as session:
            assignment = await session.get(Assignment, address.assignment_id)
            if assignment is not None and assignment.status == AssignmentStatus.CREATED:
                assignment.status = AssignmentStatus.PUSHED
                await session.commit()


def pkt_line(text: str) -> bytes:
    """One line of git's pkt-line framing: four hex digits of length, then the data."""
    data = text.encode()
    return f"{len(data) + 4:04x}".encode() + data


FLUSH_PKT = b"0000"


async def collect_garbage(repo: Path) -> None:
    """``git gc --auto``: pack loose objects once there are enough (see gc_every_pushes)."""
    await git("gc", "--auto", "--quiet", cwd=repo, check=False)


default_handlers: list[Route] = [Route("git/{repo_path}", GitHandler)]

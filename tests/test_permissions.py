"""The permission matrix: every route x method x caller, and the status each caller gets.

Callers: ``anonymous`` (no token), ``other`` (a student of lecture 2 only), and lecture
1's ``student``, ``tutor`` and ``instructor``, plus ``admin`` (no lecture role). Rows
name concrete URLs of seeded objects: a released assignment with the submissions of two
students, an unreleased one, disposable objects for the rows that delete, and lecture 2
(own instructor, student and submission) for staff of lecture 1 reaching outside it.

Each caller runs the whole table against its own freshly seeded service, in table
order, so a row that changes state (a delete, a reassignment) only affects later rows
of the same caller, and is written to touch an object no later row relies on.
``test_every_route_and_method_has_a_row`` fails when a route is added without rows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tornado.web import RequestHandler
from traitlets.config import Config

from grader_service.handlers import default_handlers
from grader_service.handlers.openapi import VERBS
from grader_service.handlers.routing import Route
from tests.commits import pushed_commit
from tests.conftest import TOKENS as BASE_TOKENS
from tests.conftest import AppFactory
from tests.seeding import HIDDEN_TEST, release_assignment
from tests.utils import ApiClient, MockGraderService, assert_error

CALLERS = ("anonymous", "other", "student", "tutor", "instructor", "admin")

TOKENS = {
    **BASE_TOKENS,
    "student2": "token-student2",
    "instructor2": "token-instructor2",
    "other": "token-other",
}


def _members(**roles: list[str]) -> list[dict[str, Any]]:
    return [{"role": role, "members": names} for role, names in roles.items()]


def matrix_config() -> Config:
    """Three lectures: ``lect1`` (the callers), ``lect2`` (another lecture), ``spare``
    (the same staff and student, nothing in it: the lecture that gets deleted)."""
    c = Config()
    c.StaticTokenAuthenticator.tokens = {token: name for name, token in TOKENS.items()}
    c.GraderService.load_roles = {
        "lect1": _members(
            instructor=["instructor"], tutor=["tutor"], student=["student", "student2"]
        ),
        "lect2": _members(instructor=["instructor2"], student=["other"]),
        "spare": _members(
            instructor=["instructor"], tutor=["tutor"], student=["student", "leaver"]
        ),
    }
    return c


# -- the table ------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One request and the status each caller (in ``CALLERS`` order) must get.

    ``secret`` is text that must not appear in what a student (of either lecture) receives.
    """

    method: str
    path: str
    expected: tuple[int, int, int, int, int, int]
    body: Any = None
    secret: str | None = None

    def expectation(self, caller: str) -> int:
        return self.expected[CALLERS.index(caller)]


def row(
    method: str,
    path: str,
    anonymous: int,
    other: int,
    student: int,
    tutor: int,
    instructor: int,
    admin: int,
    *,
    body: Any = None,
    secret: str | None = None,
) -> Row:
    """A row of the matrix; ``path`` is relative to the base URL, ``{name}`` are seeded ids."""
    return Row(method, path, (anonymous, other, student, tutor, instructor, admin), body, secret)


L1 = "api/lectures/{l1}"
L2 = "api/lectures/{l2}"
REL = L1 + "/assignments/{rel}"
DRAFT = L1 + "/assignments/{draft}"
REL2 = L2 + "/assignments/{rel2}"
OWN = REL + "/submissions/{sub_student}"
PEER = REL + "/submissions/{sub_student2}"
OTHER_SUB = REL2 + "/submissions/{sub_other}"
REFS = "/info/refs?service=git-upload-pack"
GIT = "git/lect1/{rel}"
COMMIT = {"commit_hash": "{commit}"}

# fmt: off
#      method    path                                         anon other stud tutor instr admin
ROWS: list[Row] = [
    # the service
    row("GET",    "",                                          200, 200, 200, 200, 200, 200),
    row("GET",    "api/health",                                200, 200, 200, 200, 200, 200),
    row("GET",    "api/openapi.json",                          200, 200, 200, 200, 200, 200),
    row("GET",    "api/config",                                401, 200, 200, 200, 200, 200),
    row("GET",    "api/permissions",                           401, 200, 200, 200, 200, 200),
    row("GET",    "metrics",                                   401, 403, 403, 403, 403, 200),
    # event streams: a 200 never ends (tests/test_events.py covers them), so only refusals
    row("GET",    "api/events?lecture_id=9999",                401, 404, 404, 404, 404, 404),
    # lectures: reading
    row("GET",    "api/lectures",                              401, 200, 200, 200, 200, 200),
    row("GET",    L1,                                          401, 403, 200, 200, 200, 200),
    row("GET",    L2,                                          401, 200, 403, 403, 403, 200),
    row("GET",    L1 + "/users",                               401, 403, 403, 200, 200, 200),
    row("GET",    L2 + "/users",                               401, 403, 403, 403, 403, 200),
    row("GET",    L1 + "/roles",                               401, 403, 403, 403, 200, 200),
    row("GET",    "api/lectures/9999",                         401, 404, 404, 404, 404, 404),
    # users
    row("GET",    "api/users",                                 401, 403, 403, 403, 403, 200),
    row("GET",    "api/users/{u_student}",                     401, 403, 200, 403, 403, 200),
    row("GET",    "api/users/{u_student}?lecture_id={l1}",     401, 403, 200, 200, 200, 200),
    row("GET",    "api/users/{u_other}?lecture_id={l2}",       401, 200, 403, 403, 403, 200),
    row("GET",    "api/users/student/roles",                   401, 403, 200, 403, 403, 200),
    row("GET",    "api/users/student/submissions",             401, 403, 200, 403, 403, 200),
    row("GET",    "api/users/student2/submissions",            401, 403, 403, 403, 403, 200),
    # assignments: reading
    row("GET",    L1 + "/assignments",                         401, 403, 200, 200, 200, 200,
        secret='"draft"'),
    row("GET",    L2 + "/assignments",                         401, 200, 403, 403, 403, 200),
    row("GET",    REL,                                         401, 403, 200, 200, 200, 200),
    row("GET",    DRAFT,                                       401, 403, 404, 200, 200, 200),
    row("GET",    L2 + "/assignments/{rel}",                   401, 404, 403, 403, 403, 404),
    row("GET",    REL + "/properties",                         401, 403, 200, 200, 200, 200,
        secret=HIDDEN_TEST),
    row("GET",    DRAFT + "/properties",                       401, 403, 404, 404, 404, 404),
    row("GET",    REL + "/release/preview",                    401, 403, 403, 200, 200, 200),
    # submissions: reading; students see their own only
    row("GET",    REL + "/submissions",                        401, 403, 200, 200, 200, 200,
        secret='"student2"'),
    row("GET",    REL + "/submissions?instructor-version=true", 401, 403, 403, 200, 200, 200),
    row("GET",    DRAFT + "/submissions",                      401, 403, 404, 200, 200, 200),
    row("GET",    REL + "/submissions/count",                  401, 403, 200, 200, 200, 200),
    row("GET",    DRAFT + "/submissions/count",                401, 403, 404, 200, 200, 200),
    row("GET",    OWN,                                         401, 403, 200, 200, 200, 200),
    row("GET",    PEER,                                        401, 403, 404, 200, 200, 200),
    row("GET",    OWN + "/properties",                         401, 403, 200, 200, 200, 200,
        secret=HIDDEN_TEST),
    row("GET",    PEER + "/properties",                        401, 403, 404, 200, 200, 200),
    row("GET",    OWN + "/logs",                               401, 403, 403, 404, 404, 404),
    row("GET",    PEER + "/logs",                              401, 403, 403, 404, 404, 404),
    row("GET",    OTHER_SUB,                                   401, 200, 403, 403, 403, 200),
    row("GET",    OTHER_SUB + "/properties",                   401, 404, 403, 403, 403, 404),
    row("GET",    L1 + "/submissions",                         401, 403, 403, 200, 200, 200),
    row("GET",    L2 + "/submissions",                         401, 403, 403, 403, 403, 200),
    # git smart-HTTP
    row("GET",    GIT + "/user/student" + REFS,                401, 403, 200, 200, 200, 200),
    row("GET",    GIT + "/user/student2" + REFS,               401, 403, 403, 200, 200, 200),
    row("GET",    GIT + "/source" + REFS,                      401, 403, 403, 200, 200, 200),
    row("GET",    "git/lect1/{draft}/user/student" + REFS,     401, 403, 404, 200, 200, 200),
    row("GET",    "git/lect2/{rel2}/user/other" + REFS,        401, 200, 403, 403, 403, 200),
    row("POST",   GIT + "/release/git-receive-pack",           401, 403, 403, 403, 403, 403),
    # creating
    row("POST",   "api/lectures",                              401, 403, 403, 403, 403, 201,
        body={"code": "lect9"}),
    row("POST",   "api/lectures",                              401, 403, 403, 403, 200, 200,
        body={"code": "lect1", "name": "Lecture 1"}),
    row("POST",   L1 + "/roles",                               401, 403, 403, 403, 201, 201,
        body={"users": [{"username": "newbie", "role": "student"}]}),
    row("POST",   L2 + "/roles",                               401, 403, 403, 403, 403, 201,
        body={"users": [{"username": "newbie", "role": "tutor"}]}),
    row("POST",   L1 + "/assignments",                         401, 403, 403, 403, 201, 201,
        body={"name": "hw-new"}),
    row("POST",   L2 + "/assignments",                         401, 403, 403, 403, 403, 201,
        body={"name": "hw-new"}),
    row("POST",   REL + "/submissions",                        401, 403, 201, 201, 201, 201,
        body=COMMIT),
    row("POST",   REL + "/submissions",                        401, 403, 403, 201, 201, 201,
        body={**COMMIT, "username": "student2"}),
    row("POST",   DRAFT + "/submissions",                      401, 403, 404, 409, 409, 409,
        body=COMMIT),
    row("POST",   REL2 + "/submissions",                       401, 201, 403, 403, 403, 201,
        body={"commit_hash": "{commit2}", "username": "other"}),
    row("POST",   REL + "/reset",                              401, 403, 201, 201, 201, 201),
    row("POST",   REL + "/reset?username=student2",            401, 403, 403, 201, 201, 201),
    row("POST",   DRAFT + "/reset",                            401, 403, 404, 409, 409, 409),
    row("POST",   REL + "/release",                            401, 403, 403, 403, 201, 201),
    row("POST",   DRAFT + "/release",                          401, 403, 403, 403, 409, 409),
    row("POST",   OWN + "/edit",                               401, 403, 403, 201, 201, 201),
    # grading actions (and Grader Service 0.12's GET aliases)
    row("POST",   OWN + "/autograde",                          401, 403, 403, 202, 202, 202),
    row("POST",   OWN + "/feedback",                           401, 403, 403, 202, 202, 202),
    row("GET",    REL + "/grading/{sub_student}/auto",         401, 403, 403, 202, 202, 202),
    row("GET",    REL + "/grading/{sub_student}/feedback",     401, 403, 403, 202, 202, 202),
    row("POST",   OTHER_SUB + "/autograde",                    401, 403, 403, 403, 403, 202),
    # cancelling the jobs queued above (nothing left to cancel gives 404)
    row("DELETE", OWN + "/autograde",                          401, 403, 403, 200, 200, 200),
    row("DELETE", OWN + "/feedback",                           401, 403, 403, 200, 200, 200),
    row("DELETE", OWN + "/feedback",                           401, 403, 403, 404, 404, 404),
    row("POST",   REL + "/regrade",                            401, 403, 403, 202, 202, 202),
    # changing
    row("PUT",    L1,                                          401, 403, 403, 403, 200, 200,
        body={"name": "Lecture one"}),
    row("PUT",    L2,                                          401, 403, 403, 403, 403, 200,
        body={"name": "Lecture two"}),
    row("PUT",    DRAFT,                                       401, 403, 403, 403, 200, 200,
        body={"settings": {"max_submissions": 3}}),
    row("PUT",    REL2,                                        401, 403, 403, 403, 403, 200,
        body={"settings": {"max_submissions": 3}}),
    row("PUT",    OWN,                                         401, 403, 403, 200, 200, 200,
        body={"manual_status": "being_edited"}),
    row("PUT",    PEER,                                        401, 403, 403, 200, 200, 200,
        body={"score_scaling": 0.5}),
    row("PUT",    REL + "/submissions/{sub_move}",             401, 403, 403, 403, 200, 200,
        body={"user_id": "{u_student2}"}),
    row("PUT",    OWN + "/properties",                         401, 403, 403, 200, 200, 200,
        body={"notebooks": {}}),
    row("PUT",    PEER + "/properties",                        401, 403, 403, 200, 200, 200,
        body={"notebooks": {}}),
    row("PUT",    OTHER_SUB + "/properties",                   401, 403, 403, 403, 403, 200,
        body={"notebooks": {}}),
    row("PUT",    "api/users/{u_student2}",                    401, 403, 403, 403, 403, 200,
        body={"display_name": "Student Two"}),
    # deleting (each row deletes an object no later row needs)
    row("DELETE", REL + "/submissions/{sub_withdraw}",         401, 403, 204, 403, 403, 403),
    row("DELETE", PEER,                                        401, 403, 404, 403, 403, 403),
    row("DELETE", REL + "/submissions/{sub_hard}?hard_delete=true",
                                                               401, 403, 403, 403, 403, 204),
    row("DELETE", L1 + "/assignments/{spare_soft}",            401, 403, 403, 403, 204, 204),
    row("DELETE", L1 + "/assignments/{spare_hard}?hard_delete=true",
                                                               401, 403, 403, 403, 403, 204),
    row("DELETE", REL,                                         401, 403, 403, 403, 409, 409),
    row("DELETE", REL2,                                        401, 403, 403, 403, 403, 409),
    row("DELETE", L1 + "/roles?usernames=newbie",              401, 403, 403, 403, 204, 204),
    row("DELETE", L1,                                          401, 403, 403, 403, 409, 409),
    row("DELETE", "api/lectures/{spare}",                      401, 403, 403, 403, 204, 204),
    row("DELETE", "api/users/{u_leaver}",                      401, 403, 403, 403, 403, 204),
]
# fmt: on


# -- which route a row exercises --------------------------------------------------------


def _route_patterns() -> list[tuple[re.Pattern[str], Route]]:
    return [(re.compile(route.pattern("/")), route) for route in default_handlers]


def route_of(path: str, patterns: list[tuple[re.Pattern[str], Route]]) -> Route | None:
    """The route tornado would pick for ``path`` (first match wins, as in tornado)."""
    url = "/" + re.sub(r"\{\w+\}", "1", path.split("?", 1)[0])
    return next((route for pattern, route in patterns if pattern.fullmatch(url)), None)


def served_operations() -> set[tuple[str, str]]:
    """(route template, METHOD) of every verb a handler implements."""
    return {
        (route.template, verb.upper())
        for route in default_handlers
        for verb in VERBS
        if getattr(route.handler, verb) is not getattr(RequestHandler, verb)
    }


def test_every_route_and_method_has_a_row() -> None:
    patterns = _route_patterns()
    covered = set()
    for r in ROWS:
        route = route_of(r.path, patterns)
        assert route is not None, f"{r.method} {r.path} matches no route"
        covered.add((route.template, r.method))
    missing = served_operations() - covered
    assert not missing, f"routes without a row in the permission matrix: {sorted(missing)}"
    assert covered <= served_operations(), sorted(covered - served_operations())


# -- seeding --------------------------------------------------------------------------


async def seed(app: MockGraderService, api: ApiClient, tmp_path: Path) -> dict[str, Any]:
    """Create what the rows name, through the API and git; return the ids by name."""
    ids: dict[str, Any] = {}

    async def call(method: str, path: str, user: str, status: int, body: Any = None) -> Any:
        r = await api.request(method, path, user=user, body=body)
        assert r.status == status, (method, path, r.status, r.body)
        return r.json if r.body else None

    for lecture in await call("GET", "lectures", "admin", 200):
        ids[{"lect1": "l1", "lect2": "l2", "spare": "spare"}[lecture["code"]]] = lecture["id"]
    for user in await call("GET", "users", "admin", 200):
        ids[f"u_{user['name']}"] = user["id"]

    async def assignment(lecture: str, name: str, user: str = "instructor") -> int:
        return int(
            (await call("POST", f"lectures/{lecture}/assignments", user, 201, {"name": name}))["id"]
        )

    l1, l2 = ids["l1"], ids["l2"]
    # a released assignment, released by the service from a pushed source
    release = await release_assignment(app, api, tmp_path / "source", lecture_id=l1)
    ids["rel"], ids["commit"] = release["assignment"]["id"], release["release_commit"]
    ids["draft"] = await assignment(l1, "draft")
    ids["spare_soft"] = await assignment(l1, "spare-soft")
    ids["spare_hard"] = await assignment(l1, "spare-hard")
    # lecture 2: released by status only (no files), with a submission of its student
    ids["rel2"] = await assignment(l2, "hw2", user="instructor2")
    for status in ("pushed", "released"):
        await call(
            "PUT",
            f"lectures/{l2}/assignments/{ids['rel2']}",
            "instructor2",
            200,
            {"status": status},
        )
    # a user's repository starts as a copy of the release once they fetch it, so the
    # release commit is one they may submit
    for user in ("student", "student2", "tutor", "instructor", "admin"):
        refs = await api.get(f"/git/lect1/{ids['rel']}/user/{user}{REFS}", user=user)
        assert refs.status == 200, refs.body
    ids["commit2"] = await pushed_commit(app, "lect2", ids["rel2"], "other")
    submissions = f"lectures/{l1}/assignments/{ids['rel']}/submissions"
    commit = {"commit_hash": ids["commit"]}
    for name, user in [
        ("sub_student", "student"),
        ("sub_student2", "student2"),
        ("sub_withdraw", "student"),
        ("sub_hard", "student"),
        ("sub_move", "student"),
    ]:
        ids[name] = (await call("POST", submissions, user, 201, commit))["id"]
    ids["sub_other"] = (
        await call(
            "POST",
            f"lectures/{l2}/assignments/{ids['rel2']}/submissions",
            "other",
            201,
            {"commit_hash": ids["commit2"]},
        )
    )["id"]
    # the students' own feedback is released, so they may read their gradebooks
    for sub in ("sub_student", "sub_student2"):
        await call(
            "PUT", f"{submissions}/{ids[sub]}", "tutor", 200, {"feedback_status": "generated"}
        )
    return ids


def _fill(value: Any, ids: dict[str, Any]) -> Any:
    if isinstance(value, str):
        if re.fullmatch(r"\{\w+\}", value):
            return ids[value[1:-1]]
        return value.format(**ids)
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    return value


@pytest.mark.asyncio
@pytest.mark.parametrize("caller", CALLERS)
async def test_permission_matrix(make_app: AppFactory, tmp_path: Path, caller: str) -> None:
    app = await make_app(matrix_config())
    api = ApiClient(app.url, TOKENS)
    try:
        ids = await seed(app, api, tmp_path)
        wrong = []
        for r in ROWS:
            path = "/" + _fill(r.path, ids)
            user = None if caller == "anonymous" else caller
            response = await api.request(r.method, path, user=user, body=_fill(r.body, ids))
            expected = r.expectation(caller)
            if response.status != expected:
                wrong.append(
                    f"{r.method} {path}: {response.status} (expected {expected}) "
                    f"{response.body[:200]!r}"
                )
            elif response.status >= 400:
                assert_error(response, expected)
            elif r.secret and caller in ("student", "other"):
                assert r.secret not in response.body.decode(), (path, response.body)
        assert not wrong, f"{caller}:\n" + "\n".join(wrong)
    finally:
        api.close()

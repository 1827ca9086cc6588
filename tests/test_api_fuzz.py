"""Property-based tests of the whole REST API, generated from its own OpenAPI document.

schemathesis reads ``{base}api/openapi.json`` from the running service and, for every
documented operation, sends requests generated from the documented parameters and
bodies: valid ones (positive) and ones that break the schema (negative). Every response
must be no 5xx, have a documented status code and content type, match the documented
body schema and headers, and invalid requests must be rejected with a 4xx.

Most generated requests address seeded objects (lecture 1, a released and an
unreleased assignment, a submission, the caller), so they reach the handlers' logic
rather than stopping at a 404; the rest use generated ids. The run is bounded and
reproducible: a fixed number of examples per operation and mode, hypothesis
derandomized, no example database. It runs as the instructor and the student on
SQLite, and as the instructor on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import TOKENS
from tests.seeding import release_assignment
from tests.utils import ApiClient, MockGraderService, assert_error

# examples per operation and mode; raise it for a deeper local run
MAX_EXAMPLES = int(os.environ.get("GRADER_TEST_FUZZ_EXAMPLES", "12"))
A = "lectures/1/assignments"

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# Negative cases: additionally, input that violates the schema must be rejected.
NEGATIVE_CHECKS = [*CHECKS, negative_data_rejection]

# Mutating operations last, deletions at the very end, so that reads and updates run
# against the seeded objects before anything removes them.
_METHOD_ORDER = {"GET": 0, "POST": 1, "PUT": 2, "PATCH": 2, "DELETE": 3}


async def seed(app: MockGraderService, api: ApiClient, work: Path) -> dict[str, Any]:
    """An assignment released by the service (so it has files and a gradebook) with a
    submission of the student, and an unreleased one."""
    release = await release_assignment(app, api, work)
    rel = release["assignment"]["id"]
    draft = (await api.post(f"{A}", user="instructor", body={"name": "draft"})).json["id"]
    # the student's repository (holding the release commit) exists once they fetch it
    refs = f"/git/lect1/{rel}/user/student/info/refs?service=git-upload-pack"
    assert (await api.get(refs, user="student")).status == 200
    r = await api.post(
        f"{A}/{rel}/submissions",
        user="student",
        body={"commit_hash": release["release_commit"]},
    )
    assert r.status == 201, r.body
    users = {u["name"]: u["id"] for u in (await api.get("users", user="admin")).json}
    return {
        "lecture_id": 1,
        "assignment_id": rel,
        "draft_id": draft,
        "submission_id": r.json["id"],
        "users": users,
    }


def known_parameters(operation: Any, seeded: dict[str, Any], user: str) -> list[dict[str, Any]]:
    """Sets of path parameters of ``operation`` that name seeded objects (the released
    assignment and its submission; the unreleased assignment)."""
    names = [p.name for p in operation.path_parameters]
    if not names:
        return []
    suffix = "info/refs" if operation.method.upper() == "GET" else "git-upload-pack"
    values = {
        "lecture_id": seeded["lecture_id"],
        "assignment_id": seeded["assignment_id"],
        "submission_id": seeded["submission_id"],
        "user_id": seeded["users"][user],
        "username": user,
        "repo_path": f"lect1/{seeded['assignment_id']}/user/{user}/{suffix}",
    }
    known = [{name: values[name] for name in names if name in values}]
    if "assignment_id" in names:
        known.append({**known[0], "assignment_id": seeded["draft_id"]})
    return known


def fuzz_operation(
    operation: Any,
    mode: GenerationMode,
    known: list[dict[str, Any]],
    call: Callable[[Any], None],
) -> str | None:
    """Run ``MAX_EXAMPLES`` cases of ``operation``; the failure report, or None."""
    strategy = st.one_of(
        *(operation.as_strategy(generation_mode=mode, path_parameters=k) for k in known),
        operation.as_strategy(generation_mode=mode),
    )

    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
    )
    @given(case=strategy)
    def run(case: Any) -> None:
        call(case)

    try:
        run()
    except Unsatisfiable:
        if mode == GenerationMode.NEGATIVE:
            return None  # nothing in the request can be wrong (e.g. GET /api/health)
        raise
    except (Exception, BaseExceptionGroup) as e:
        return f"{operation.label} [{mode.value}]: {e}"
    return None


def fuzz(url: str, user: str, seeded: dict[str, Any]) -> list[str]:
    """Fuzz every documented operation as ``user``; returns the failures."""
    config = schemathesis.Config.from_dict(
        {
            "base-url": url.rstrip("/"),
            # the 'token' security scheme of the document; negative cases may drop it
            "auth": {"openapi": {"token": {"api_key": f"token {TOKENS[user]}"}}},
            # a successful event stream never ends: do not wait the default 10 s on it
            "operations": [{"include-path": "/api/events", "request-timeout": 0.5}],
        }
    )
    schema = schemathesis.openapi.from_url(url + "api/openapi.json", config=config)
    session = requests.Session()

    def positive(case: Any) -> None:
        case.call_and_validate(session=session, checks=CHECKS)

    def negative(case: Any) -> None:
        case.call_and_validate(session=session, checks=NEGATIVE_CHECKS)

    failures = []
    operations = []
    for result in schema.get_all_operations():
        if isinstance(result, Ok):
            operations.append(result.ok())
        else:
            failures.append(f"the document has an invalid operation: {result.err()}")
    operations.sort(key=lambda op: _METHOD_ORDER[op.method.upper()])
    try:
        for operation in operations:
            known = known_parameters(operation, seeded, user)
            for mode, call in (
                (GenerationMode.POSITIVE, positive),
                (GenerationMode.NEGATIVE, negative),
            ):
                failure = fuzz_operation(operation, mode, known, call)
                if failure is not None:
                    failures.append(failure)
    finally:
        session.close()
    return failures


async def run_fuzz(app: MockGraderService, api: ApiClient, user: str, work: Path) -> None:
    seeded = await seed(app, api, work)
    # schemathesis calls are blocking: run them in a thread while this loop serves them
    failures = await asyncio.to_thread(fuzz, app.url, user, seeded)
    assert not failures, "\n\n".join(failures)


@pytest.mark.asyncio
@pytest.mark.parametrize("user", ["instructor", "student"])
async def test_api_conforms_to_its_openapi_document(
    app: MockGraderService, api: ApiClient, user: str, db_url: str, tmp_path: Path
) -> None:
    if user == "student" and db_url.startswith("postgresql"):
        pytest.skip("one PostgreSQL pass (as the instructor) keeps the fuzz run short")
    await run_fuzz(app, api, user, tmp_path / "source")


# Input that random generation reaches rarely and that the database cannot hold: NUL
# and lone surrogates (PostgreSQL stores neither), non-finite numbers, ids beyond 32 bits.
# Each is a client error with the envelope, never a 500 (several were, before the fix).
UNSTORABLE = [
    ("POST", "lectures/1/roles", '{"users": [{"username": "a\\u0000b", "role": "student"}]}'),
    ("POST", "lectures/1/assignments", '{"name": "hw\\u0000"}'),
    ("PUT", "lectures/1", '{"name": "lecture \\ud800"}'),
    ("POST", "lectures/1/assignments", '{"name": "hw", "settings": {"cell_timeout": 1e999}}'),
    ("PUT", "lectures/1", '{"name": NaN}'),
    ("GET", "users/a%00b/roles", None),
    ("GET", "users/1?lecture_id=99999999999", None),
    ("GET", "lectures/1/assignments?offset=99999999999999999999", None),
    ("GET", "lectures/1/assignments?status=released%00", None),
    ("GET", "lectures/99999999999/assignments", None),
    ("GET", "/git/lect1/99999999999/user/instructor/info/refs?service=git-upload-pack", None),
]


@pytest.mark.asyncio
@pytest.mark.parametrize(("method", "path", "body"), UNSTORABLE)
async def test_input_the_database_cannot_hold_is_a_client_error(
    api: ApiClient, method: str, path: str, body: str | None
) -> None:
    r = await api.request(method, path, user="admin", raw_body=body)
    assert 400 <= r.status < 500, (r.status, r.body)
    assert_error(r, r.status)


@pytest.mark.asyncio
async def test_git_requests_that_git_never_sends_get_the_error_envelope(api: ApiClient) -> None:
    """The git route answers what git http-backend would refuse in plain text itself."""
    r = await api.post(A, user="instructor", body={"name": "hw"})
    repo = f"/git/lect1/{r.json['id']}/user/instructor"
    for state in ("pushed", "released"):
        await api.put(f"{A}/{r.json['id']}", user="instructor", body={"status": state})
    pack = {"Content-Type": "application/x-git-upload-pack-request"}
    for method, path, headers, status in [
        ("GET", f"{repo}/info/refs", {}, 400),  # no ?service=: the dumb protocol
        ("GET", f"{repo}/git-upload-pack", {}, 405),
        ("POST", f"{repo}/info/refs?service=git-upload-pack", pack, 405),
        ("POST", f"{repo}/git-upload-pack", {}, 415),
        ("POST", f"{repo}/git-upload-pack", {"Content-Type": "application/json"}, 415),
    ]:
        body = b"0000" if method == "POST" else None
        response = await api.request(
            method, path, user="instructor", headers=headers, raw_body=body
        )
        assert_error(response, status)
    # and what git does send still reaches the backend
    r = await api.post(f"{repo}/git-upload-pack", user="instructor", headers=pack, raw_body=b"0000")
    assert r.status == 200 and r.headers["Content-Type"] == "application/x-git-upload-pack-result"

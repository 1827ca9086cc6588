"""Submissions racing each other never break the submission limit."""

from __future__ import annotations

import asyncio

import pytest
from traitlets.config import Config

from tests.commits import pushed_commit
from tests.conftest import AppFactory
from tests.utils import ApiClient

pytestmark = pytest.mark.asyncio

STUDENTS = 50


async def test_fifty_students_submitting_at_once_with_max_one(make_app: AppFactory) -> None:
    c = Config()
    tokens = {f"tok-s{i}": f"s{i}" for i in range(STUDENTS)} | {"tok-teacher": "teacher"}
    c.StaticTokenAuthenticator.tokens = tokens
    c.GraderService.load_roles = {
        "race": [
            {"role": "instructor", "members": ["teacher"]},
            {"role": "student", "members": [f"s{i}" for i in range(STUDENTS)]},
        ]
    }
    app = await make_app(c)
    api = ApiClient(app.url, {name: token for token, name in tokens.items()})
    try:
        lecture = (await api.get("lectures", user="teacher")).json[0]["id"]
        base = f"lectures/{lecture}/assignments"
        r = await api.post(
            base, user="teacher", body={"name": "race", "settings": {"max_submissions": 1}}
        )
        path = f"{base}/{r.json['id']}"
        for status in ("pushed", "released"):
            await api.put(path, user="teacher", body={"status": status})

        aid = int(path.rsplit("/", 1)[1])
        commits = {f"s{i}": await pushed_commit(app, "race", aid, f"s{i}") for i in range(STUDENTS)}

        async def submit(student: str) -> int:
            body = {"commit_hash": commits[student]}
            r = await api.post(f"{path}/submissions", user=student, body=body)
            return r.status

        # every student fires three requests at the same moment
        statuses = await asyncio.gather(*(submit(f"s{i % STUDENTS}") for i in range(3 * STUDENTS)))
        assert statuses.count(201) == STUDENTS
        assert statuses.count(409) == 2 * STUDENTS
        r = await api.get(f"{path}/submissions?instructor-version=true&limit=1000", user="teacher")
        per_student: dict[str, int] = {}
        for submission in r.json:
            per_student[submission["username"]] = per_student.get(submission["username"], 0) + 1
        assert per_student == {f"s{i}": 1 for i in range(STUDENTS)}
        # and exactly one autograde job each
        jobs = {s["id"] for s in r.json}
        assert len(jobs) == STUDENTS
    finally:
        api.close()

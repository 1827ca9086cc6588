"""Users administration."""

from __future__ import annotations

import pytest

from tests.utils import ApiClient, assert_error

pytestmark = pytest.mark.asyncio


async def test_admin_lists_and_renames_users(api: ApiClient) -> None:
    r = await api.get("users", user="admin")
    assert r.status == 200
    names = [u["name"] for u in r.json]
    assert {"instructor", "tutor", "student", "admin"} <= set(names)
    student = next(u for u in r.json if u["name"] == "student")
    r = await api.put(f"users/{student['id']}", user="admin", body={"display_name": "Stu Dent"})
    assert r.json["display_name"] == "Stu Dent"
    assert_error(await api.get("users", user="instructor"), 403, "admins")
    r = await api.get("users?limit=2&name_prefix=s", user="admin")
    assert [u["name"] for u in r.json] == ["student"] and r.headers["X-Total-Count"] == "1"
    r = await api.get("users?limit=2&offset=1", user="admin")
    assert len(r.json) == 2 and int(r.headers["X-Total-Count"]) >= 4


async def test_staff_look_up_members_only(api: ApiClient) -> None:
    users = {u["name"]: u["id"] for u in (await api.get("users", user="admin")).json}
    r = await api.get(f"users/{users['student']}?lecture_id=1", user="tutor")
    assert r.status == 200 and r.json["name"] == "student"
    assert_error(await api.get(f"users/{users['tutor']}?lecture_id=1", user="student"), 403)
    assert_error(await api.get(f"users/{users['tutor']}", user="instructor"), 403, "lecture_id")
    assert (await api.get(f"users/{users['student']}", user="student")).status == 200
    assert_error(await api.get("users/999999", user="admin"), 404)


async def test_user_roles_self_or_admin(api: ApiClient) -> None:
    r = await api.get("users/student/roles", user="student")
    assert [(x["lecture_code"], x["role"], x["source"]) for x in r.json] == [
        ("lect1", "student", "config")
    ]
    assert_error(await api.get("users/student/roles", user="tutor"), 403)
    assert_error(await api.get("users/nobody/roles", user="admin"), 404)


async def test_deleting_a_user_removes_roles(api: ApiClient) -> None:
    users = {u["name"]: u["id"] for u in (await api.get("users", user="admin")).json}
    assert (await api.delete(f"users/{users['student']}", user="admin")).status == 204
    r = await api.get("lectures/1/users", user="instructor")
    assert r.json["students"] == []

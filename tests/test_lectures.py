"""Lectures: listing, creating, updating, deleting, members, roles."""

from __future__ import annotations

import pytest

from tests.utils import ApiClient, assert_error

pytestmark = pytest.mark.asyncio


async def test_roles_from_config_show_in_permissions(api: ApiClient) -> None:
    r = await api.get("permissions", user="tutor")
    assert r.status == 200
    assert r.json == [{"lecture_id": 1, "lecture_code": "lect1", "role": "tutor", "scope": 1}]
    r = await api.get("permissions", user="outsider")
    assert r.json == []


async def test_student_sees_only_own_lectures(api: ApiClient) -> None:
    await api.post("lectures", user="admin", body={"code": "other", "name": "Other course"})
    r = await api.get("lectures", user="student")
    assert [lec["code"] for lec in r.json] == ["lect1"]
    r = await api.get("lectures", user="admin")
    assert [lec["code"] for lec in r.json] == ["lect1", "other"]
    r = await api.get("lectures?instructor=true", user="student")
    assert r.json == []


async def test_admin_creates_and_instructor_updates(api: ApiClient) -> None:
    r = await api.post(
        "lectures", user="admin", body={"code": "ml-2026", "name": "Machine Learning"}
    )
    assert r.status == 201
    created = r.json
    assert created["code"] == "ml-2026" and created["complete"] is False
    assert_error(
        await api.post("lectures", user="instructor", body={"code": "new-one"}), 403, "Only admins"
    )
    r = await api.put("lectures/1", user="instructor", body={"name": "Intro", "complete": True})
    assert r.status == 200 and r.json["name"] == "Intro" and r.json["complete"] is True
    r = await api.get("lectures?complete=false", user="instructor")
    assert r.json == []
    assert_error(await api.put("lectures/1", user="student", body={"name": "x"}), 403, "instructor")


async def test_invalid_lecture_bodies_name_the_field(api: ApiClient) -> None:
    body = assert_error(await api.post("lectures", user="admin", body={"code": "a/b"}), 400)
    assert "body.code" in body["message"]
    body = assert_error(
        await api.post("lectures", user="admin", body={"code": "ok", "extra": 1}), 400
    )
    assert "body.extra" in body["message"]
    assert_error(await api.put("lectures/1", user="instructor", body={}), 400, "at least one")
    assert_error(
        await api.put("lectures/1", user="instructor", body={"complete": "maybe"}),
        400,
        "body.complete",
    )


async def test_soft_delete_hides_and_post_restores(api: ApiClient) -> None:
    r = await api.delete("lectures/1", user="instructor")
    assert r.status == 204
    assert_error(await api.get("lectures/1", user="student"), 404)
    r = await api.get("lectures", user="instructor")
    assert r.json == []
    r = await api.get("lectures?include_deleted=true", user="admin")
    assert [(lec["code"], lec["deleted"]) for lec in r.json] == [("lect1", True)]
    r = await api.post("lectures", user="instructor", body={"code": "lect1"})
    assert r.status == 200 and r.json["deleted"] is False
    assert (await api.get("lectures/1", user="student")).status == 200


async def test_hard_delete_is_for_admins(api: ApiClient) -> None:
    assert_error(await api.delete("lectures/1?hard_delete=true", user="instructor"), 403, "admins")
    assert (await api.delete("lectures/1?hard_delete=true", user="admin")).status == 204
    assert_error(await api.get("lectures/1", user="admin"), 404)
    r = await api.get("permissions", user="student")
    assert r.json == []


async def test_lecture_members_by_role(api: ApiClient) -> None:
    r = await api.get("lectures/1/users", user="tutor")
    assert r.status == 200
    names = {role: [u["name"] for u in users] for role, users in r.json.items()}
    assert names == {"instructors": ["instructor"], "tutors": ["tutor"], "students": ["student"]}
    assert_error(await api.get("lectures/1/users", user="student"), 403)
    assert_error(await api.get("lectures/1/users", user="outsider"), 403, "no role")


async def test_instructor_manages_roles(api: ApiClient) -> None:
    r = await api.post(
        "lectures/1/roles",
        user="instructor",
        body={
            "users": [{"username": "newbie", "role": "student"}, {"username": "tutor", "role": 2}]
        },
    )
    assert r.status == 201
    roles = {(x["user"]["name"], x["role"], x["source"]) for x in r.json}
    assert ("newbie", "student", "api") in roles and ("tutor", "instructor", "api") in roles
    r = await api.get("permissions", user="tutor")
    assert r.json[0]["role"] == "instructor"
    assert_error(
        await api.post(
            "lectures/1/roles",
            user="instructor",
            body={"users": [{"username": "x", "role": "boss"}]},
        ),
        400,
        "body.users.0.role",
    )
    assert_error(
        await api.delete("lectures/1/roles?usernames=newbie,ghost", user="instructor"), 404, "ghost"
    )
    assert (await api.delete("lectures/1/roles?usernames=newbie", user="instructor")).status == 204
    r = await api.get("lectures/1/roles", user="instructor")
    assert "newbie" not in {x["user"]["name"] for x in r.json}

"""Assignments: visibility by role, settings validation, lifecycle, deletion."""

from __future__ import annotations

from typing import Any

import pytest

from tests.utils import ApiClient, assert_error

pytestmark = pytest.mark.asyncio

A = "lectures/1/assignments"


async def create(api: ApiClient, name: str = "hw1", **body: Any) -> dict[str, Any]:
    r = await api.post(A, user="instructor", body={"name": name, **body})
    assert r.status == 201, r.body
    return r.json  # type: ignore[no-any-return]


async def test_students_see_only_released_assignments(api: ApiClient) -> None:
    a = await create(api)
    assert (await api.get(A, user="tutor")).json[0]["name"] == "hw1"
    assert (await api.get(A, user="student")).json == []
    assert_error(await api.get(f"{A}/{a['id']}", user="student"), 404)
    for status in ("pushed", "released"):
        r = await api.put(f"{A}/{a['id']}", user="instructor", body={"status": status})
        assert r.status == 200 and r.json["status"] == status
    r = await api.get(A, user="student")
    assert [x["name"] for x in r.json] == ["hw1"]
    assert r.headers["X-Total-Count"] == "1"


async def test_illegal_status_transition_is_409(api: ApiClient) -> None:
    a = await create(api)
    body = assert_error(
        await api.put(f"{A}/{a['id']}", user="instructor", body={"status": "complete"}), 409
    )
    assert "'created'" in body["message"] and "pushed" in body["message"]
    r = await api.get(f"{A}/{a['id']}", user="instructor")
    assert r.json["status"] == "created"


async def test_settings_are_validated_and_clamped(api: ApiClient) -> None:
    bad_periods = {
        "deadline": "2030-01-01T12:00:00Z",
        "late_submission": [{"period": "P2D", "scaling": 0.5}, {"period": "P1D", "scaling": 0.4}],
    }
    assert_error(
        await api.post(A, user="instructor", body={"name": "x", "settings": bad_periods}),
        400,
        "strictly increasing",
    )
    assert_error(
        await api.post(
            A, user="instructor", body={"name": "x", "settings": {"deadline": "2030-01-01T12:00"}}
        ),
        400,
        "body.settings.deadline",
    )
    assert_error(
        await api.post(
            A, user="instructor", body={"name": "x", "settings": {"image": "evil:latest"}}
        ),
        400,
        "body.settings.image",
    )
    a = await create(api, settings={"cell_timeout": 999999, "max_submissions": 3})
    assert a["settings"]["cell_timeout"] == 3600
    assert_error(await api.post(A, user="instructor", body={"name": "hw1"}), 409, "already has")


async def test_only_instructors_manage_assignments(api: ApiClient) -> None:
    assert_error(await api.post(A, user="tutor", body={"name": "hw"}), 403)
    assert_error(await api.post(A, user="student", body={"name": "hw"}), 403)
    a = await create(api)
    assert_error(await api.put(f"{A}/{a['id']}", user="tutor", body={"name": "x"}), 403)


async def test_delete_rules(api: ApiClient) -> None:
    a = await create(api)
    assert (await api.delete(f"{A}/{a['id']}", user="instructor")).status == 204
    assert_error(await api.get(f"{A}/{a['id']}", user="instructor"), 404)
    # the name is free again
    b = await create(api)
    await api.put(f"{A}/{b['id']}", user="instructor", body={"status": "pushed"})
    await api.put(f"{A}/{b['id']}", user="instructor", body={"status": "released"})
    assert_error(await api.delete(f"{A}/{b['id']}", user="instructor"), 409, "released")
    assert_error(await api.delete(f"{A}/{b['id']}?hard_delete=true", user="instructor"), 403)
    assert (await api.delete(f"{A}/{b['id']}?hard_delete=true", user="admin")).status == 204

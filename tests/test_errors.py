"""Every error is the JSON envelope; bad input gets a 400 naming the field."""

from __future__ import annotations

import pytest

from grader_service.handlers.lectures import LectureHandler
from tests.utils import ApiClient, assert_error

pytestmark = pytest.mark.asyncio


async def test_missing_token_is_401_with_challenge(api: ApiClient) -> None:
    r = await api.get("lectures")
    assert_error(r, 401, "Authorization: token")
    assert "WWW-Authenticate" in r.headers


async def test_wrong_token_is_401(api: ApiClient) -> None:
    assert_error(await api.get("lectures", token="not-a-token"), 401, "invalid or expired")


async def test_basic_auth_with_token_as_password(api: ApiClient) -> None:
    import base64

    creds = base64.b64encode(b"anyone:token-student").decode()
    r = await api.get("permissions", headers={"Authorization": f"Basic {creds}"})
    assert r.status == 200 and r.json[0]["lecture_code"] == "lect1"
    assert_error(await api.get("permissions", headers={"Authorization": "Basic %%%"}), 400, "Basic")


async def test_unknown_route_and_method(api: ApiClient) -> None:
    assert_error(await api.get("no/such/thing", user="student"), 404, "No such endpoint")
    assert_error(await api.request("PATCH", "lectures/1", user="instructor", body={}), 405)


async def test_unknown_lecture_and_forbidden(api: ApiClient) -> None:
    assert_error(await api.get("lectures/4242", user="student"), 404, "4242")
    assert_error(await api.get("lectures/1", user="outsider"), 403, "no role")
    assert_error(await api.get("lectures/abc", user="student"), 404)


async def test_malformed_json_and_wrong_types(api: ApiClient) -> None:
    assert_error(
        await api.post("lectures", user="admin", raw_body="{not json"), 400, "not valid JSON"
    )
    assert_error(await api.post("lectures", user="admin"), 400, "JSON request body is required")
    assert_error(await api.post("lectures", user="admin", body=[1, 2]), 400, "body")
    assert_error(await api.post("lectures", user="admin", body={"code": 12}), 400, "body.code")
    assert_error(
        await api.post("lectures", user="admin", body={"name": "x"}),
        400,
        "body.code: Field required",
    )
    assert_error(
        await api.put("lectures/1", user="instructor", body={"complete": [1]}), 400, "body.complete"
    )


async def test_unknown_and_mistyped_query_parameters(api: ApiClient) -> None:
    assert_error(await api.get("lectures?colour=red", user="student"), 400, "query.colour")
    assert_error(await api.get("lectures?complete=perhaps", user="student"), 400, "query.complete")


async def test_duplicate_code_conflict_leaves_nothing_behind(api: ApiClient) -> None:
    r = await api.post("lectures", user="admin", body={"code": "dup"})
    assert r.status == 201
    # the upsert path updates instead of failing; a rename to nothing is still a 400
    assert_error(
        await api.put(f"lectures/{r.json['id']}", user="admin", body={"name": "  "}),
        400,
        "body.name",
    )
    r = await api.get(f"lectures/{r.json['id']}", user="admin")
    assert r.json["name"] == "dup"


async def test_internal_errors_do_not_leak_details(
    api: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(self: LectureHandler, lecture_id: int) -> None:
        raise RuntimeError("secret internal detail /etc/passwd")

    monkeypatch.setattr(LectureHandler, "get", broken)
    r = await api.get("lectures/1", user="student")
    assert_error(r, 500, "internal error")
    assert "secret" not in r.body.decode()


async def test_public_routes(api: ApiClient) -> None:
    r = await api.get("/")
    assert r.status == 200 and r.json["name"] == "grader-service"
    r = await api.get("health")
    assert r.json == {"health": "OK", "database": "ok"}
    r = await api.get("config", user="student")
    assert (
        r.json["min_cell_timeout"] <= r.json["default_cell_timeout"] <= r.json["max_cell_timeout"]
    )

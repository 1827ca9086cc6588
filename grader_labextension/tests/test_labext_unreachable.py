"""Failures that do not come from the service: it is down, or the user is not logged in."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from grader_fixtures import LabClient


@pytest.fixture
def jp_server_config(jp_root_dir: Path) -> dict[str, Any]:
    """The extension pointed at a port where nothing listens."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return {
        "ServerApp": {"jpserver_extensions": {"grader_labextension": True}},
        "GraderLabConfig": {
            "service_url": f"http://127.0.0.1:{port}/services/grader",  # no slash: added
            "api_token": "unused",
            "username": "student",
            "lectures_dir": str(jp_root_dir / "lectures"),
        },
    }


async def test_unreachable_service_is_a_json_502(lab: LabClient) -> None:
    status, error = await lab.get("api/lectures")
    assert status == 502, error
    assert error["error"] == "Bad Gateway"
    assert "/services/grader/ cannot be reached" in error["message"]

    status, error = await lab.post("lectures/1/assignments/1/fetch")
    assert status == 502 and "cannot be reached" in error["message"], error


async def test_event_stream_of_unreachable_service_is_a_json_502(
    jp_fetch: Callable[..., Any],
) -> None:
    response = await jp_fetch("grader_labextension", "api", "events", raise_error=False)
    assert response.code == 502
    assert "cannot be reached" in json.loads(response.body)["message"]


async def test_requests_need_a_logged_in_user(jp_fetch: Callable[..., Any]) -> None:
    response = await jp_fetch(
        "grader_labextension", "api", "lectures", headers={"Authorization": ""}, raise_error=False
    )
    assert response.code == 403

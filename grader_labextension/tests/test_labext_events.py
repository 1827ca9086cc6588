"""The event stream through the proxy, and a submission graded end to end."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from grader_fixtures import LECTURE_CODE, LECTURE_ID, LabClient, answer, needs_grading
from test_labext_student import local
from tornado.simple_httpclient import HTTPStreamClosedError


class _Enough(Exception):
    """Stops reading a stream once the test has seen what it waited for."""


class EventReader:
    """Reads ``api/events`` through the extension; parses Server-Sent Events."""

    def __init__(self) -> None:
        self.buffer = b""
        self.events: list[dict[str, Any]] = []
        self.comments = 0
        self.connected = asyncio.Event()

    def feed(self, chunk: bytes) -> None:
        self.connected.set()
        self.buffer += chunk
        while b"\n\n" in self.buffer:
            block, self.buffer = self.buffer.split(b"\n\n", 1)
            fields: dict[str, str] = {}
            for line in block.decode().splitlines():
                if line.startswith(":"):
                    self.comments += 1
                name, _, value = line.partition(":")
                fields[name] = value.strip()
            if fields.get("event") == "submission":
                self.events.append(json.loads(fields["data"]))


async def test_events_are_streamed_not_buffered(jp_fetch: Callable[..., Any]) -> None:
    reader = EventReader()

    def on_chunk(chunk: bytes) -> None:
        reader.feed(chunk)
        if reader.comments >= 2:  # keepalives every 0.5 s: the stream is live
            raise _Enough

    # raising in the callback makes tornado drop the connection (and log the exception)
    with pytest.raises(HTTPStreamClosedError):
        await jp_fetch(
            "grader_labextension", "api", "events", streaming_callback=on_chunk, request_timeout=15
        )
    assert reader.comments >= 2


async def test_event_stream_headers_come_before_the_first_event(
    jp_fetch: Callable[..., Any],
) -> None:
    """The browser's fetch() resolves on the headers: they must not wait for an event.

    The service's first keepalive comes 0.5 s after subscribing; headers held back
    until then would arrive together with it.
    """
    loop = asyncio.get_running_loop()
    seen: dict[str, float] = {}

    def on_header(line: str) -> None:
        if line in ("\r\n", "\n"):  # the blank line that ends the headers
            seen.setdefault("headers", loop.time())

    def on_chunk(chunk: bytes) -> None:
        seen.setdefault("first_chunk", loop.time())
        raise _Enough

    with pytest.raises(HTTPStreamClosedError):
        await jp_fetch(
            "grader_labextension",
            "api",
            "events",
            header_callback=on_header,
            streaming_callback=on_chunk,
            request_timeout=15,
        )
    assert seen["first_chunk"] - seen["headers"] > 0.2, seen


async def test_event_stream_errors_are_json(jp_fetch: Callable[..., Any]) -> None:
    response = await jp_fetch(
        "grader_labextension",
        "api",
        "events",
        params={"lecture_id": str(LECTURE_ID)},  # students may not follow a whole lecture
        raise_error=False,
    )
    assert response.code == 403, response.body
    body = json.loads(response.body)
    assert body["status"] == 403 and body["message"]


@needs_grading
async def test_submission_is_graded_and_feedback_pulled(
    lab: LabClient, release: Any, jp_root_dir: Path, jp_fetch: Callable[..., Any]
) -> None:
    assignment = release(autograde_type="full_auto")
    await lab.post(f"{local(assignment)}/fetch")
    work = jp_root_dir / "lectures" / LECTURE_CODE / "assignments" / str(assignment["id"])
    answer(work / "hw.ipynb", "def answer():\n    return 42\n")

    reader = EventReader()
    done: dict[str, Any] = {}

    def on_chunk(chunk: bytes) -> None:
        reader.feed(chunk)
        for event in reader.events:
            if event["submission_id"] == done.get("id") and event["feedback_status"] in (
                "generated",
                "generation_failed",
            ):
                raise _Enough

    stream = asyncio.ensure_future(
        jp_fetch(
            "grader_labextension", "api", "events", streaming_callback=on_chunk, request_timeout=120
        )
    )
    await asyncio.wait_for(reader.connected.wait(), 10)
    status, submission = await lab.post(f"{local(assignment)}/submit")
    assert status == 201, submission
    done["id"] = submission["id"]
    with pytest.raises(HTTPStreamClosedError):
        await stream
    statuses = [e["auto_status"] for e in reader.events if e["submission_id"] == done["id"]]
    assert "automatically_graded" in statuses, reader.events

    base = f"api/lectures/{LECTURE_ID}/assignments/{assignment['id']}/submissions"
    status, graded = await lab.get(f"{base}/{submission['id']}")
    assert graded["auto_status"] == "automatically_graded", graded
    assert graded["feedback_status"] == "generated", graded

    status, feedback = await lab.post(
        f"{local(assignment)}/submissions/{submission['id']}/feedback"
    )
    assert status == 200, feedback
    html = [f for f in feedback["files"] if f.endswith(".html")]
    assert html, feedback
    assert feedback["lab_path"] == (
        f"lectures/{LECTURE_CODE}/feedback/{assignment['id']}/{submission['id']}"
    )
    assert (jp_root_dir / feedback["lab_path"] / html[0]).read_text().strip()
    # pulling again refreshes in place
    status, again = await lab.post(f"{local(assignment)}/submissions/{submission['id']}/feedback")
    assert status == 200 and again["files"] == feedback["files"]

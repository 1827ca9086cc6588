"""Submission events: the broker, and ``GET {base}api/events`` (Server-Sent Events).

The stream is read with a raw HTTP/1.1 client so the tests control exactly when the
connection closes and can see how the response ends (a clean last chunk or a cut).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import pytest_asyncio

from grader_service.events import RESYNC, SubmissionEventBroker
from tests.conftest import TOKENS, AppFactory, base_config
from tests.utils import ApiClient, MockGraderService

LECTURE = 1  # lect1 of the default test service


class SseStream:
    """A raw HTTP/1.1 client of one event stream."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.status = 0
        self.headers: dict[str, str] = {}
        self.body = b""
        self.ended_cleanly = False
        self._buffer = ""

    @classmethod
    async def open(
        cls, url: str, user: str | None = None, headers: dict[str, str] | None = None
    ) -> SseStream:
        """Send the request and read the response head (and a non-stream body)."""
        parts = urlsplit(url)
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        stream = cls(reader, writer)
        lines = [f"GET {parts.path}?{parts.query} HTTP/1.1", f"Host: {parts.netloc}"]
        lines.append("Accept: text/event-stream")
        if user is not None:
            lines.append(f"Authorization: token {TOKENS[user]}")
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        stream.status = int(status_line.split()[1])
        for line in header_lines:
            if line:
                name, _, value = line.partition(":")
                stream.headers[name.strip().lower()] = value.strip()
        if "content-length" in stream.headers:
            stream.body = await reader.readexactly(int(stream.headers["content-length"]))
        return stream

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    async def _read_chunk(self) -> bool:
        """Append the next chunk to the buffer; False at the end of the stream."""
        size_line = await self.reader.readline()
        if not size_line:
            return False  # connection closed without the last chunk
        size = int(size_line.strip(), 16)
        if size == 0:
            await self.reader.readline()
            self.ended_cleanly = True
            return False
        self._buffer += (await self.reader.readexactly(size)).decode()
        await self.reader.readexactly(2)
        return True

    async def frame(self, timeout: float = 5) -> dict[str, str] | None:
        """The next frame as its fields (a comment as ``{"comment": ...}``); None at
        the end of the stream."""

        async def read() -> dict[str, str] | None:
            while "\n\n" not in self._buffer:
                if not await self._read_chunk():
                    return None
            text, self._buffer = self._buffer.split("\n\n", 1)
            fields: dict[str, str] = {}
            for line in text.split("\n"):
                name, _, field_value = line.partition(":")
                fields[name or "comment"] = field_value.removeprefix(" ")
            return fields

        return await asyncio.wait_for(read(), timeout)

    async def event(self, timeout: float = 5) -> dict[str, str] | None:
        """The next event (comments skipped); None at the end of the stream."""
        while True:
            fields = await self.frame(timeout)
            if fields is None or "comment" not in fields:
                return fields

    async def ended(self, timeout: float = 2) -> bool:
        """Whether the stream ends (after any frames still queued) within ``timeout``."""
        try:
            while await self.frame(timeout) is not None:
                continue  # drain what is still queued
        except TimeoutError:
            return False
        return True

    def close(self) -> None:
        self.writer.close()


def submission_event(user_id: int, submission_id: int, lecture_id: int = LECTURE) -> dict[str, Any]:
    """An event as the grading scheduler publishes it."""
    return {
        "type": "submission",
        "submission_id": submission_id,
        "assignment_id": 1,
        "lecture_id": lecture_id,
        "user_id": user_id,
        "username": "someone",
        "auto_status": "automatically_graded",
        "feedback_status": "not_generated",
        "manual_status": "not_graded",
        "queue_position": None,
    }


async def user_id(api: ApiClient, name: str) -> int:
    r = await api.get(f"users?name_prefix={name}", user="admin")
    return next(u["id"] for u in r.json if u["name"] == name)


async def wait_for(condition: Any, timeout: float = 2) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


@pytest_asyncio.fixture
async def streams() -> AsyncIterator[list[SseStream]]:
    """Streams opened by a test, closed at its end."""
    opened: list[SseStream] = []
    yield opened
    for stream in opened:
        stream.close()


async def open_stream(
    streams: list[SseStream], app: MockGraderService, user: str | None, query: str = "", **kw: Any
) -> SseStream:
    stream = await SseStream.open(app.url + "api/events" + query, user, **kw)
    streams.append(stream)
    return stream


# -- over HTTP ------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_student_gets_own_events_only(
    app: MockGraderService, api: ApiClient, streams: list[SseStream]
) -> None:
    student, tutor = await user_id(api, "student"), await user_id(api, "tutor")
    stream = await open_stream(streams, app, "student")
    assert stream.status == 200
    assert stream.headers["content-type"].startswith("text/event-stream")
    assert stream.headers["cache-control"] == "no-cache"
    assert stream.headers["x-accel-buffering"] == "no"
    # the stream is open once the headers arrived: the subscription exists
    app.events.publish(submission_event(tutor, 11), user_id=tutor, lecture_id=LECTURE)
    app.events.publish(submission_event(student, 12), user_id=student, lecture_id=LECTURE)
    event = await stream.event()
    assert event is not None and event["event"] == "submission"
    assert int(event["id"]) > 0
    data = json.loads(event["data"])
    assert data["submission_id"] == 12 and data["user_id"] == student
    assert "score" not in data


@pytest.mark.asyncio
async def test_staff_follow_their_lectures(
    app: MockGraderService, api: ApiClient, streams: list[SseStream]
) -> None:
    student = await user_id(api, "student")
    tutor_stream = await open_stream(streams, app, "tutor", f"?lecture_id={LECTURE}")
    instructor_stream = await open_stream(
        streams, app, "instructor", f"?lecture_id={LECTURE},{LECTURE}&lecture_id={LECTURE}"
    )
    assert tutor_stream.status == instructor_stream.status == 200
    app.events.publish(submission_event(student, 21, 999), user_id=student, lecture_id=999)
    app.events.publish(submission_event(student, 22), user_id=student, lecture_id=LECTURE)
    for stream in (tutor_stream, instructor_stream):
        event = await stream.event()
        assert event is not None and json.loads(event["data"])["submission_id"] == 22


@pytest.mark.asyncio
async def test_lecture_events_need_a_staff_role(
    app: MockGraderService, streams: list[SseStream]
) -> None:
    for user, query, status in [
        ("student", f"?lecture_id={LECTURE}", 403),
        ("outsider", f"?lecture_id={LECTURE}", 403),
        ("tutor", "?lecture_id=4242", 404),
        ("tutor", "?lecture_id=abc", 400),
        ("tutor", "?channel=all", 400),
        (None, "", 401),
    ]:
        stream = await open_stream(streams, app, user, query)
        assert stream.status == status, (user, query, stream.body)
        assert stream.headers["content-type"].startswith("application/json")
        assert set(stream.json) == {"status", "error", "message"}
        assert stream.json["status"] == status
    assert app.events.subscriber_count == 0
    # admins may follow any lecture
    stream = await open_stream(streams, app, "admin", f"?lecture_id={LECTURE}")
    assert stream.status == 200


@pytest.mark.asyncio
async def test_disconnect_removes_the_subscriber(
    app: MockGraderService, streams: list[SseStream]
) -> None:
    stream = await open_stream(streams, app, "student")
    assert stream.status == 200
    assert app.events.subscriber_count == 1
    # a stream is not a request in flight (a graceful stop must not wait for it)
    assert app.tornado_app is not None
    assert app.tornado_app.settings["inflight"].count == 0
    stream.close()
    await wait_for(lambda: app.events.subscriber_count == 0)


@pytest.mark.asyncio
async def test_keepalive_comments(make_app: AppFactory, streams: list[SseStream]) -> None:
    app = await make_app(events_keepalive_interval=0.1)
    stream = await open_stream(streams, app, "student")
    assert await stream.frame(timeout=2) == {"comment": "keepalive"}
    assert await stream.frame(timeout=2) == {"comment": "keepalive"}


@pytest.mark.asyncio
async def test_reconnect_starts_with_resync(
    app: MockGraderService, streams: list[SseStream]
) -> None:
    stream = await open_stream(streams, app, "student", headers={"Last-Event-ID": "41"})
    event = await stream.event()
    assert event is not None and event["event"] == RESYNC


@pytest.mark.asyncio
async def test_closing_the_broker_ends_streams_cleanly(
    app: MockGraderService, streams: list[SseStream]
) -> None:
    stream = await open_stream(streams, app, "student")
    app.events.close()
    assert await stream.ended()
    assert stream.ended_cleanly  # the last chunk was sent: not a cut connection
    assert app.events.subscriber_count == 0


@pytest.mark.asyncio
async def test_stop_ends_open_streams_promptly(
    db_url: str, tmp_path: Path, streams: list[SseStream]
) -> None:
    # not the make_app fixture: this test stops the service itself
    app = MockGraderService(config=base_config(db_url, tmp_path / "data"))
    await app.initialize([])
    await app.serve()
    assert app.shutdown_timeout >= 10
    tutor_stream = await open_stream(streams, app, "tutor", f"?lecture_id={LECTURE}")
    student_stream = await open_stream(streams, app, "student")
    assert app.events.subscriber_count == 2
    started = time.monotonic()
    await app.stop()
    assert time.monotonic() - started < 2
    assert await tutor_stream.ended(timeout=1)
    assert await student_stream.ended(timeout=1)
    assert app.events.subscriber_count == 0


@pytest.mark.asyncio
async def test_streams_stay_out_of_the_latency_histogram(
    app: MockGraderService, streams: list[SseStream]
) -> None:
    """A stream's duration is not a latency: it stays out of the HTTP histogram."""
    stream = await open_stream(streams, app, "student")
    stream.close()
    await wait_for(lambda: app.events.subscriber_count == 0)
    await asyncio.sleep(0.05)
    body, _ = app.metrics.render()
    assert 'route="/api/events",status="2xx"' not in body.decode()


# -- the broker alone --------------------------------------------------------------------


@pytest.mark.asyncio
async def test_slow_subscriber_is_told_to_resync() -> None:
    broker = SubmissionEventBroker(queue_size=3)
    async with broker.subscribe(1) as subscription:
        for n in range(5):
            broker.publish(submission_event(1, n), user_id=1, lecture_id=LECTURE)
        # the backlog overflowed at the 4th event: dropped, replaced by one resync
        first = await subscription.get()
        assert first.type == RESYNC and first.payload() == {"type": RESYNC}
        after = await subscription.get()
        assert after.payload()["submission_id"] == 4
        assert subscription.pending == 0
    assert broker.subscriber_count == 0


@pytest.mark.asyncio
async def test_publish_never_raises_and_sends_each_event_once() -> None:
    broker = SubmissionEventBroker()
    async with broker.subscribe(1, {LECTURE}) as subscription:
        broker.publish({"type": "submission", "bad": {1, 2}}, user_id=1, lecture_id=LECTURE)
        broker.publish({"type": "no\nnewlines"}, user_id=1, lecture_id=LECTURE)
        broker.publish({"type": "submission", "score": float("nan")}, user_id=1, lecture_id=1)
        # an instructor's own submission in a lecture they follow: one event, not two
        broker.publish(submission_event(1, 7), user_id=1, lecture_id=LECTURE)
        event = await subscription.get()
        assert event.payload()["submission_id"] == 7
        assert subscription.pending == 0
        assert event.sse().startswith(f"id: {event.id}\nevent: submission\ndata: {{".encode())


@pytest.mark.asyncio
async def test_publish_from_a_thread_is_delivered_on_the_loop() -> None:
    broker = SubmissionEventBroker()
    async with broker.subscribe(5) as subscription:
        await asyncio.to_thread(
            broker.publish, submission_event(5, 1), user_id=5, lecture_id=LECTURE
        )
        event = await asyncio.wait_for(subscription.get(), 2)
        assert event.payload()["user_id"] == 5


@pytest.mark.asyncio
async def test_close_ends_iteration_and_later_subscriptions() -> None:
    broker = SubmissionEventBroker()
    received: list[int] = []

    async def consume() -> None:
        async with broker.subscribe(1) as subscription:
            async for event in subscription:
                received.append(event.payload()["submission_id"])

    task = asyncio.create_task(consume())
    await wait_for(lambda: broker.subscriber_count == 1)
    broker.publish(submission_event(1, 3), user_id=1, lecture_id=LECTURE)
    await wait_for(lambda: received == [3])
    broker.close()
    await asyncio.wait_for(task, 1)
    async with broker.subscribe(1) as late:
        assert [event async for event in late] == []
    assert broker.subscriber_count == 0

"""``GET {base}api/events``: submission status changes as Server-Sent Events.

A client (the JupyterLab extension) keeps one stream open and re-fetches a submission
over the REST API when an event names it, instead of polling every submission list.
Events carry statuses only, never scores; the REST API applies the visibility rules.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from pydantic import Field, field_validator
from sqlalchemy import select
from tornado.iostream import StreamClosedError

from ..errors import Forbidden, NotFound
from ..events import SubmissionEventBroker, Subscription, SubscriptionClosed
from ..orm import Lecture, Role
from .assignments import STAFF
from .base import BaseHandler
from .routing import MAX_ID, Route, authorize, document
from .schemas import Strict

MAX_LECTURES = 100
"""Most lectures one stream may follow (bounds the role query and the subscription)."""

_KEEPALIVE = b": keepalive\n\n"


class EventsQuery(Strict):
    """Which lectures' events a tutor or instructor also wants."""

    lecture_id: list[Annotated[int, Field(ge=0, le=MAX_ID)]] = Field(
        default_factory=list,
        max_length=MAX_LECTURES,
        description="Also receive the events of every submission of these lectures (you "
        "must be a tutor or instructor there). Repeat the parameter or separate ids with "
        "commas.",
    )

    @field_validator("lecture_id", mode="before")
    @classmethod
    def _split_commas(cls, value: Any) -> Any:
        """``lecture_id=1,2&lecture_id=3`` -> ``["1", "2", "3"]``."""
        values = [value] if isinstance(value, str) else value
        if not isinstance(values, list):
            return value
        parts: list[Any] = []
        for item in values:
            if isinstance(item, str):
                parts.extend(part.strip() for part in item.split(",") if part.strip())
            else:
                parts.append(item)
        return parts


class EventsHandler(BaseHandler):
    """``{base}api/events``: one long response, ``text/event-stream``."""

    streaming = False
    """True once the stream is open (the access log then skips the latency histogram:
    a stream's duration is how long the client stayed, not how fast we answered)."""
    _subscription: Subscription | None = None

    @property
    def broker(self) -> SubmissionEventBroker:
        """The service's event broker."""
        return self.settings["events"]

    @document(
        "Server-Sent Events of status changes of your submissions and, for tutors and "
        "instructors, of all submissions of the lectures given by lecture_id. Frames are "
        "'id: <n>', 'event: submission|resync', 'data: <JSON>'; the data holds "
        "submission_id, assignment_id, lecture_id, user_id, username, auto_status, "
        "feedback_status, manual_status and queue_position, never scores (re-fetch the "
        "submission). 'resync' means events were missed: re-fetch everything shown. A "
        "': keepalive' comment is sent every events_keepalive_interval seconds",
        query=EventsQuery,
        response=str,
        errors=[400, 401, 403, 404],
        tags=["events"],
        content_type="text/event-stream",
    )
    @authorize()
    async def get(self) -> None:
        assert self.current_user is not None
        query = self.parse_query(EventsQuery)
        lecture_ids = frozenset(query.lecture_id)
        # every check answers with a JSON error before the first byte of the stream
        if lecture_ids:
            await self._check_staff(lecture_ids)
        user_id = self.current_user.id
        # the stream may stay open for hours; it needs no database connection meanwhile
        await self.db.close()
        interval = float(self.grader_app.events_keepalive_interval)
        async with self.broker.subscribe(user_id, lecture_ids) as subscription:
            self._subscription = subscription
            # An open stream is not a request in flight: a graceful stop must not wait
            # shutdown_timeout for clients that never hang up. Stopping closes the
            # connection (or the broker), which ends the loop below.
            self._uncount()
            self.streaming = True
            self.set_header("Content-Type", "text/event-stream; charset=UTF-8")
            self.set_header("Cache-Control", "no-cache")
            # nginx (and ingress-nginx) would otherwise buffer the stream
            self.set_header("X-Accel-Buffering", "no")
            if self.request.headers.get("Last-Event-ID"):
                # a reconnecting EventSource: events sent in between are lost
                subscription.resync()
            try:
                await self.flush()  # the headers: the client knows it is subscribed
                while True:
                    try:
                        async with asyncio.timeout(interval):
                            frame = (await subscription.get()).sse()
                    except TimeoutError:
                        frame = _KEEPALIVE
                    self.write(frame)
                    await self.flush()
            except (SubscriptionClosed, StreamClosedError):
                pass  # the service stops, or the client left

    async def _check_staff(self, lecture_ids: frozenset[int]) -> None:
        """404 for lectures that do not exist, 403 unless the caller is a tutor or
        instructor of each of them (admins may follow any lecture)."""
        assert self.current_user is not None
        rows = (
            await self.db.execute(
                select(Lecture, Role.role)
                .outerjoin(
                    Role,
                    (Role.lecture_id == Lecture.id) & (Role.user_id == self.current_user.id),
                )
                .where(Lecture.id.in_(lecture_ids))
            )
        ).all()
        roles = {lecture.id: role for lecture, role in rows if self.is_admin or not lecture.deleted}
        if missing := sorted(lecture_ids - roles.keys()):
            raise NotFound(f"Lecture {', '.join(map(str, missing))} does not exist.")
        if self.is_admin:
            return
        if not_staff := sorted(lid for lid, role in roles.items() if role not in STAFF):
            raise Forbidden(
                "Only tutors and instructors may follow a lecture's events; you are not one "
                f"in lecture {', '.join(map(str, not_staff))}."
            )

    def on_connection_close(self) -> None:
        # the client left: end the subscription now rather than at the next keepalive
        if self._subscription is not None:
            self._subscription.close()
        super().on_connection_close()


default_handlers: list[Route] = [Route("api/events", EventsHandler)]

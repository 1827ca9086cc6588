"""In-process publish/subscribe of submission state changes (for ``GET {base}api/events``).

The grading scheduler publishes an event whenever a submission's status changes; every
open event stream of the submission's owner, and of the staff who asked for the
lecture, receives it. Events carry statuses only, never scores: clients re-fetch the
submission over the REST API, which applies the score visibility rules.

Delivery is best effort and local to this process: a subscriber that falls behind, or
reconnects, is sent a ``resync`` event and must re-fetch what it shows. With several
replicas, each serves the events of the jobs it processes.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Final

log = logging.getLogger(__name__)

RESYNC: Final = "resync"
"""Type of the event telling a subscriber it missed events and must re-fetch."""

DEFAULT_QUEUE_SIZE: Final = 100
"""Events kept for a subscriber that has not read them yet."""

# An SSE field value ends at a line break; event types are plain words.
_EVENT_TYPE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


@dataclass(frozen=True)
class Event:
    """One event as delivered: sequence number, type and JSON data."""

    id: int
    type: str
    data: str
    """The event as JSON text (serialised once, whatever the number of subscribers)."""

    def payload(self) -> dict[str, Any]:
        """The event's data as an object."""
        result: dict[str, Any] = json.loads(self.data)
        return result

    def sse(self) -> bytes:
        """The Server-Sent Events frame of this event."""
        return f"id: {self.id}\nevent: {self.type}\ndata: {self.data}\n\n".encode()


class SubscriptionClosed(Exception):
    """The subscription ended (the broker closed, or the subscriber left)."""


class Subscription:
    """Events for one subscriber: its own submissions and those of ``lecture_ids``.

    Use as ``async with broker.subscribe(...) as events: async for event in events``;
    the subscription is registered on entering and removed on leaving, so a stream that
    ends for any reason leaves nothing behind.
    """

    def __init__(
        self, broker: SubmissionEventBroker, user_id: int, lecture_ids: frozenset[int]
    ) -> None:
        self.broker = broker
        self.user_id = user_id
        self.lecture_ids = lecture_ids
        self._queue: deque[Event] = deque()
        self._ready = asyncio.Event()
        self.closed = False

    # -- broker side (never blocks) -----------------------------------------------------

    def _offer(self, event: Event) -> None:
        if self.closed:
            return
        if len(self._queue) >= self.broker.queue_size:
            # The subscriber is too slow: rather than buffering without bound or
            # silently losing events, drop the backlog and tell it to re-fetch.
            self._queue.clear()
            self._queue.append(Event(event.id, RESYNC, json.dumps({"type": RESYNC})))
            log.info("Event subscriber of user %s fell behind; sent resync", self.user_id)
        else:
            self._queue.append(event)
        self._ready.set()

    def close(self) -> None:
        """End the subscription; a reader waiting in :meth:`get` is woken up."""
        if self.closed:
            return
        self.closed = True
        self._queue.clear()
        self._ready.set()
        self.broker._remove(self)

    # -- subscriber side ---------------------------------------------------------------

    @property
    def pending(self) -> int:
        """Events queued and not read yet."""
        return len(self._queue)

    def resync(self) -> None:
        """Queue a ``resync`` event first (e.g. for a client that reconnected and may
        have missed events)."""
        if not self.closed:
            event = Event(self.broker._sequence, RESYNC, json.dumps({"type": RESYNC}))
            self._queue.appendleft(event)
            self._ready.set()

    async def get(self) -> Event:
        """The next event, waiting for one if none is queued.

        Raises :class:`SubscriptionClosed` once the subscription is closed. Safe to
        cancel (e.g. by ``asyncio.timeout``): no event is lost.
        """
        while not self._queue:
            if self.closed:
                raise SubscriptionClosed()
            self._ready.clear()
            await self._ready.wait()
        return self._queue.popleft()

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Event:
        try:
            return await self.get()
        except SubscriptionClosed:
            raise StopAsyncIteration from None

    async def __aenter__(self) -> Subscription:
        self.broker._add(self)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class SubmissionEventBroker:
    """Routes published submission events to the subscriptions that may see them.

    :meth:`publish` is safe to call from any code path of the scheduler: it never
    blocks and never raises (a failure to notify must not fail a grading job).
    """

    def __init__(self, *, queue_size: int = DEFAULT_QUEUE_SIZE) -> None:
        self.queue_size = queue_size
        self.closed = False
        self._sequence = 0
        self._by_user: dict[int, set[Subscription]] = {}
        self._by_lecture: dict[int, set[Subscription]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None

    @property
    def subscriber_count(self) -> int:
        """Open subscriptions (every subscription is indexed by its user)."""
        return sum(len(subs) for subs in self._by_user.values())

    def subscribe(self, user_id: int, lecture_ids: Iterable[int] = frozenset()) -> Subscription:
        """A subscription to ``user_id``'s own submissions and, for staff, to all
        submissions of ``lecture_ids`` (the caller checks the staff role)."""
        return Subscription(self, user_id, frozenset(lecture_ids))

    def publish(self, event: dict[str, Any], *, user_id: int, lecture_id: int) -> None:
        """Deliver ``event`` (a JSON object with a ``type``) to the subscriptions of
        ``user_id`` and of staff following ``lecture_id``. Never blocks, never raises."""
        try:
            loop = self._loop
            if loop is not None and threading.get_ident() != self._loop_thread:
                # from a worker thread: the queues belong to the event loop's thread
                if not loop.is_closed():
                    loop.call_soon_threadsafe(self._deliver, event, user_id, lecture_id)
                return
            self._deliver(event, user_id, lecture_id)
        except Exception:
            log.exception("Could not publish a submission event")

    def _deliver(self, event: dict[str, Any], user_id: int, lecture_id: int) -> None:
        try:
            if self.closed:
                return
            targets = self._by_user.get(user_id, set()) | self._by_lecture.get(lecture_id, set())
            if not targets:
                return
            kind = event.get("type", "message")
            if not isinstance(kind, str) or not _EVENT_TYPE.match(kind):
                raise ValueError(f"invalid event type {kind!r}")
            # no indent: the JSON must stay on the one "data:" line of the SSE frame
            data = json.dumps(event, separators=(",", ":"), allow_nan=False)
            self._sequence += 1
            delivered = Event(self._sequence, kind, data)
            for subscription in targets:
                subscription._offer(delivered)
        except Exception:
            log.exception("Could not deliver a submission event")

    def close(self) -> None:
        """End every subscription (at shutdown, so open streams finish promptly)."""
        self.closed = True
        for subs in list(self._by_user.values()):
            for subscription in list(subs):
                subscription.close()

    # -- bookkeeping, called by Subscription -----------------------------------------------

    def _add(self, subscription: Subscription) -> None:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
            self._loop_thread = threading.get_ident()
        if self.closed:
            # subscribing during shutdown: the stream ends at once
            subscription.close()
            return
        self._by_user.setdefault(subscription.user_id, set()).add(subscription)
        for lecture_id in subscription.lecture_ids:
            self._by_lecture.setdefault(lecture_id, set()).add(subscription)

    def _remove(self, subscription: Subscription) -> None:
        _discard(self._by_user, subscription.user_id, subscription)
        for lecture_id in subscription.lecture_ids:
            _discard(self._by_lecture, lecture_id, subscription)


def _discard(index: dict[int, set[Subscription]], key: int, subscription: Subscription) -> None:
    subs = index.get(key)
    if subs is not None:
        subs.discard(subscription)
        if not subs:
            del index[key]

"""Prometheus metrics of one service instance: HTTP latency and the grading pipeline.

Each :class:`GraderMetrics` owns its registry instead of using prometheus_client's global
one, so several services can live in one process (the tests start many) without
"Duplicated timeseries" errors. Every value is updated where the event happens (request
finished, job changed state); a scrape only serialises what is in memory and never
queries the database, so scraping stays cheap however often Prometheus asks.

Label values come from fixed vocabularies (route templates, status classes, job phases
and outcomes) so the number of time series stays bounded whatever clients send.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)

if TYPE_CHECKING:
    from tornado.web import RequestHandler

    from .handlers.routing import Route

HTTP_METHODS: Final = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
"""Methods recorded as themselves; anything else a client invents is counted as "other"."""

UNMATCHED_ROUTE: Final = "unmatched"
"""The route label of requests no route matched (404s of unknown URLs)."""

PHASES: Final = frozenset({"queued", "executed", "stored", "total"})
"""Phases of a grading job: waiting in the queue (queued -> started), running
(started -> executed), storing results (executed -> stored) and end to end."""

OUTCOMES: Final = frozenset({"succeeded", "failed", "retried", "cancelled"})
"""How a grading attempt ended."""

REASONS: Final = frozenset(
    {
        "ok",
        "timeout",
        "memory_limit",
        "kernel_died",
        "tampering",
        "infrastructure",
        "invalid_submission",
        "cancelled",
        "other",
    }
)
"""Why a grading attempt ended that way; unknown reasons are recorded as "other"."""

# Requests: mostly milliseconds, but git pushes and exports may take tens of seconds.
HTTP_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
# Grading: a trivial notebook takes a second, a queue at a deadline or a heavy notebook
# tens of minutes (30 min is a generous cell-timeout budget).
GRADING_BUCKETS: Final = (
    0.1,
    0.5,
    1,
    2.5,
    5,
    10,
    30,
    60,
    120,
    300,
    600,
    900,
    1200,
    1800,
)


def _label(value: Any) -> str:
    """A label value from a str or a StrEnum (``JobKind.AUTOGRADE`` -> ``autograde``)."""
    return str(getattr(value, "value", value))


def status_class(status: int) -> str:
    """``404`` -> ``"4xx"``: the class keeps the label's cardinality at five values."""
    return f"{status // 100}xx" if 100 <= status < 600 else "other"


class GraderMetrics:
    """The metrics of one grader service, in a registry of its own.

    The HTTP layer calls :meth:`observe_request`; the grading scheduler calls
    :meth:`set_queue_depth`, :meth:`observe_phase` and :meth:`count_outcome`;
    ``GET {base}metrics`` serves :meth:`render`.
    """

    def __init__(self, *, process_metrics: bool = True) -> None:
        """Create the metrics; ``process_metrics`` adds the standard ``process_*`` ones
        (CPU, memory, open files; read from /proc at scrape time, no I/O elsewhere)."""
        self.registry = CollectorRegistry(auto_describe=True)
        if process_metrics:
            ProcessCollector(registry=self.registry)
        self.http_request_duration = Histogram(
            "grader_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template (not the raw URL).",
            ["method", "route", "status"],
            buckets=HTTP_BUCKETS,
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "grader_grading_queue_depth",
            "Grading jobs waiting in the queue.",
            ["kind"],
            registry=self.registry,
        )
        self.jobs_running = Gauge(
            "grader_grading_jobs_running",
            "Grading jobs being executed.",
            ["kind"],
            registry=self.registry,
        )
        self.job_phase = Histogram(
            "grader_grading_job_phase_seconds",
            "Duration of the phases of grading jobs: queued (wait until started), executed "
            "(started -> executed), stored (executed -> results stored), total.",
            ["kind", "phase"],
            buckets=GRADING_BUCKETS,
            registry=self.registry,
        )
        self.jobs = Counter(
            "grader_grading_jobs",
            "Grading attempts that ended, by outcome and reason.",
            ["kind", "outcome", "reason"],
            registry=self.registry,
        )

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        """Record one answered request. ``route`` is the route's template (see
        :class:`RouteLabels`), never the requested path, which holds ids."""
        method = method.upper()
        self.http_request_duration.labels(
            method if method in HTTP_METHODS else "other", route, status_class(status)
        ).observe(max(0.0, seconds))

    def set_queue_depth(self, kind: str, queued: int, running: int) -> None:
        """Set how many jobs of ``kind`` are queued and how many are running now."""
        label = _label(kind)
        self.queue_depth.labels(label).set(queued)
        self.jobs_running.labels(label).set(running)

    def observe_phase(self, kind: str, phase: str, seconds: float) -> None:
        """Record how long a job of ``kind`` spent in ``phase`` (one of :data:`PHASES`)."""
        phase = _label(phase)
        if phase not in PHASES:
            raise ValueError(f"Unknown grading phase {phase!r}; expected one of {sorted(PHASES)}")
        self.job_phase.labels(_label(kind), phase).observe(max(0.0, seconds))

    def count_outcome(self, kind: str, outcome: str, reason: str) -> None:
        """Count one finished grading attempt. ``outcome`` must be one of
        :data:`OUTCOMES`; a ``reason`` outside :data:`REASONS` is counted as "other" so
        that free-text error messages cannot create new time series."""
        outcome = _label(outcome)
        if outcome not in OUTCOMES:
            raise ValueError(
                f"Unknown grading outcome {outcome!r}; expected one of {sorted(OUTCOMES)}"
            )
        reason = _label(reason)
        self.jobs.labels(_label(kind), outcome, reason if reason in REASONS else "other").inc()

    def render(self) -> tuple[bytes, str]:
        """The exposition text of every metric and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class RouteLabels:
    """Names the route that served a request: its OpenAPI path such as
    ``/api/lectures/{lecture_id}``, so one label value covers every lecture."""

    def __init__(self, routes: Sequence[Route], base_url: str) -> None:
        # Usually a handler class serves one route and the lookup is a dict access; a
        # class serving several is told apart by matching the path.
        self._by_handler: dict[type, list[tuple[re.Pattern[str], str]]] = {}
        for route in routes:
            self._by_handler.setdefault(route.handler, []).append(
                (re.compile(route.pattern(base_url)), route.openapi_path())
            )

    def __call__(self, handler: RequestHandler) -> str:
        """The route template of the request ``handler`` served, or ``"unmatched"``."""
        candidates = self._by_handler.get(type(handler))
        if not candidates:
            return UNMATCHED_ROUTE
        if len(candidates) == 1:
            return candidates[0][1]
        path = handler.request.path
        for pattern, name in candidates:
            if pattern.match(path):
                return name
        return UNMATCHED_ROUTE

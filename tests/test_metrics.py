"""Prometheus metrics: ``GET {base}metrics``, who may scrape, and what is recorded."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from traitlets.config import Config

from grader_service.handlers import default_handlers
from grader_service.metrics import GraderMetrics
from tests.conftest import AppFactory
from tests.utils import ApiClient, MockGraderService, assert_error

Samples = list[tuple[str, dict[str, str], float]]


async def scrape(api: ApiClient, user: str | None = "admin") -> Samples:
    """Scrape as ``user`` and parse the exposition text (fails on invalid syntax)."""
    r = await api.get("/metrics", user=user)
    assert r.status == 200, r.body
    assert r.headers["Content-Type"].startswith("text/plain")
    samples: Samples = []
    for family in text_string_to_metric_families(r.body.decode()):
        samples.extend((s.name, s.labels, s.value) for s in family.samples)
    return samples


def value(samples: Samples, name: str, **labels: str) -> float | None:
    """The value of the sample ``name`` with exactly these labels, or None."""
    for sample_name, sample_labels, sample_value in samples:
        if sample_name == name and sample_labels == labels:
            return sample_value
    return None


@pytest.mark.asyncio
async def test_scrape_needs_an_admin_token(api: ApiClient) -> None:
    body = assert_error(await api.get("/metrics"), 401, "Authentication required")
    assert body["error"] == "Unauthorized"
    assert_error(await api.get("/metrics", user="student"), 403, "admins")
    assert_error(await api.get("/metrics", user="instructor"), 403, "admins")
    samples = await scrape(api)
    names = {name for name, _, _ in samples}
    # the HTTP histogram has samples once a request was answered (the 401 above)
    assert "grader_http_request_duration_seconds_count" in names


@pytest.mark.asyncio
async def test_anonymous_scrape_when_auth_is_off(make_app: AppFactory) -> None:
    config = Config()
    config.GraderService.metrics_require_auth = False
    app = await make_app(config)
    client = ApiClient(app.url, {})
    try:
        await scrape(client, user=None)
        # a token that nobody knows does not matter either
        r = await client.get("/metrics", token="no-such-token")
        assert r.status == 200
    finally:
        client.close()


@pytest.mark.asyncio
async def test_request_latency_is_labelled_with_the_route(api: ApiClient) -> None:
    assert (await api.get("lectures/1", user="student")).status == 200
    assert (await api.get("lectures/1", user="student")).status == 200
    assert (await api.get("lectures/4242", user="admin")).status == 404
    assert (await api.get("no/such/endpoint", user="student")).status == 404
    samples = await scrape(api)
    count = "grader_http_request_duration_seconds_count"
    route = "/api/lectures/{lecture_id}"
    assert value(samples, count, method="GET", route=route, status="2xx") == 2
    assert value(samples, count, method="GET", route=route, status="4xx") == 1
    assert value(samples, count, method="GET", route="unmatched", status="4xx") == 1
    # histogram buckets are there and cumulative
    bucket = value(
        samples,
        "grader_http_request_duration_seconds_bucket",
        method="GET",
        route=route,
        status="2xx",
        le="+Inf",
    )
    assert bucket == 2
    # bounded cardinality: labels are templates, never raw paths with ids
    known = {r.openapi_path() for r in default_handlers} | {"unmatched"}
    routes = {labels["route"] for name, labels, _ in samples if "route" in labels}
    assert routes <= known, routes - known


@pytest.mark.asyncio
async def test_invented_methods_do_not_create_series(api: ApiClient) -> None:
    await api.request("BREW", "lectures", user="student")
    samples = await scrape(api)
    methods = {labels["method"] for _, labels, _ in samples if "method" in labels}
    assert "BREW" not in methods and "other" in methods


@pytest.mark.asyncio
async def test_grading_metrics_show_in_the_scrape(app: MockGraderService, api: ApiClient) -> None:
    metrics = app.metrics
    assert app.tornado_app is not None and app.tornado_app.settings["metrics"] is metrics
    metrics.set_queue_depth("autograde", 3, 1)
    metrics.observe_phase("autograde", "queued", 2.5)
    metrics.observe_phase("autograde", "total", 42.0)
    metrics.count_outcome("autograde", "failed", "timeout")
    metrics.count_outcome("autograde", "failed", "timeout")
    metrics.count_outcome("feedback", "succeeded", "ok")
    # free text would create a new series per message: it becomes "other"
    metrics.count_outcome("autograde", "failed", "Kernel said: no")
    samples = await scrape(api)
    assert value(samples, "grader_grading_queue_depth", kind="autograde") == 3
    assert value(samples, "grader_grading_jobs_running", kind="autograde") == 1
    phase = "grader_grading_job_phase_seconds"
    assert value(samples, f"{phase}_count", kind="autograde", phase="queued") == 1
    assert value(samples, f"{phase}_sum", kind="autograde", phase="queued") == 2.5
    assert value(samples, f"{phase}_bucket", kind="autograde", phase="total", le="30.0") == 0
    assert value(samples, f"{phase}_bucket", kind="autograde", phase="total", le="60.0") == 1
    total = "grader_grading_jobs_total"
    assert value(samples, total, kind="autograde", outcome="failed", reason="timeout") == 2
    assert value(samples, total, kind="feedback", outcome="succeeded", reason="ok") == 1
    assert value(samples, total, kind="autograde", outcome="failed", reason="other") == 1


@pytest.mark.asyncio
async def test_each_service_has_its_own_registry(make_app: AppFactory) -> None:
    first, second = await make_app(), await make_app()
    assert first.metrics is not second.metrics
    first.metrics.set_queue_depth("autograde", 7, 0)
    clients = [ApiClient(a.url, {"admin": "token-admin"}) for a in (first, second)]
    try:
        one, two = [await scrape(c) for c in clients]
    finally:
        for c in clients:
            c.close()
    assert value(one, "grader_grading_queue_depth", kind="autograde") == 7
    assert value(two, "grader_grading_queue_depth", kind="autograde") in (None, 0)


@pytest.mark.parametrize(
    ("call", "args"),
    [
        ("observe_phase", ("autograde", "waiting", 1.0)),
        ("count_outcome", ("autograde", "exploded", "ok")),
    ],
)
def test_unknown_phase_or_outcome_is_a_programming_error(call: str, args: Any) -> None:
    metrics = GraderMetrics(process_metrics=False)
    with pytest.raises(ValueError, match="Unknown grading"):
        getattr(metrics, call)(*args)


def test_render_is_the_exposition_format() -> None:
    metrics = GraderMetrics()
    metrics.observe_request("get", "/api/health", 200, 0.003)
    body, content_type = metrics.render()
    assert content_type.startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(body.decode())}
    assert families["grader_http_request_duration_seconds"].type == "histogram"
    assert families["grader_grading_jobs"].type == "counter"
    assert "process_cpu_seconds" in families

"""``GET {base}metrics``: Prometheus metrics (outside ``api/``, where scrapers look)."""

from __future__ import annotations

from ..metrics import GraderMetrics
from .base import BaseHandler
from .routing import Access, Route, authorize, document


class MetricsHandler(BaseHandler):
    """Serves the exposition text of the service's :class:`GraderMetrics`.

    Admins only by default: the metrics reveal activity (request rates per route, queue
    lengths). With ``c.GraderService.metrics_require_auth = False`` anyone who can reach
    the port may scrape, for a Prometheus inside the cluster without a token.
    """

    @property
    def require_auth(self) -> bool:
        """Whether scraping needs an admin token (``metrics_require_auth``)."""
        return bool(self.grader_app.metrics_require_auth)

    async def prepare(self) -> None:
        if self.require_auth:
            await super().prepare()
        else:
            # Anonymous scraping is allowed: a token, if sent, is not even checked (a
            # scraper with a stale token must not lose its metrics). Rendering is
            # synchronous, so there is nothing in flight for a shutdown to wait for.
            self.current_user = None

    async def check_access(self, access: Access) -> None:
        if self.require_auth:
            await super().check_access(access)

    @document(
        "Prometheus metrics in the text exposition format (admins only, unless "
        "c.GraderService.metrics_require_auth = False)",
        response=str,
        errors=[401, 403],
        tags=["service"],
        content_type="text/plain",
    )
    @authorize(admin_only=True)
    async def get(self) -> None:
        metrics: GraderMetrics = self.settings["metrics"]
        body, content_type = metrics.render()
        self.set_header("Content-Type", content_type)
        self.finish(body)


default_handlers: list[Route] = [Route("metrics", MetricsHandler)]

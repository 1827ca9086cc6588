"""Service-level routes: version, health, client config, the caller's permissions."""

from __future__ import annotations

from sqlalchemy import select, text

from .._version import __version__
from ..errors import ServiceUnavailable
from ..orm import Lecture, Role
from .base import BaseHandler
from .routing import Route, authorize, document
from .schemas import Health, Permission, ServiceConfig, VersionInfo


class VersionHandler(BaseHandler):
    """``GET {base}``: what is running here."""

    @document("Service name and version", response=VersionInfo, tags=["service"])
    @authorize(public=True)
    async def get(self) -> None:
        self.write_json(VersionInfo(name="grader-service", version=__version__))


class HealthHandler(BaseHandler):
    """``GET {base}api/health``: for load balancers and Kubernetes probes."""

    @document(
        "Health check (queries the database)", response=Health, errors=[503], tags=["service"]
    )
    @authorize(public=True)
    async def get(self) -> None:
        try:
            await self.db.execute(text("SELECT 1"))
        except Exception as e:
            self.log.error("Health check: database query failed: %s", e)
            raise ServiceUnavailable("The database is not reachable.") from None
        self.write_json(Health(health="OK", database="ok"))


class ConfigHandler(BaseHandler):
    """``GET {base}api/config``: settings the JupyterLab extension shows."""

    @document(
        "Client-relevant service settings", response=ServiceConfig, errors=[401], tags=["service"]
    )
    @authorize()
    async def get(self) -> None:
        policy = self.grader_app.cell_timeout_policy
        self.write_json(
            ServiceConfig(
                version=__version__,
                default_cell_timeout=policy.default_cell_timeout,
                min_cell_timeout=policy.min_cell_timeout,
                max_cell_timeout=policy.max_cell_timeout,
            )
        )


class PermissionsHandler(BaseHandler):
    """``GET {base}api/permissions``: the caller's role in every live lecture."""

    @document(
        "Your roles in all lectures", response=list[Permission], errors=[401], tags=["service"]
    )
    @authorize()
    async def get(self) -> None:
        assert self.current_user is not None
        rows = await self.db.execute(
            select(Role.role, Lecture.id, Lecture.code)
            .join(Lecture)
            .where(Role.user_id == self.current_user.id, Lecture.deleted_at.is_(None))
            .order_by(Lecture.code)
        )
        self.write_json(
            [
                Permission(lecture_id=lid, lecture_code=code, role=role, scope=role.scope)
                for role, lid, code in rows
            ]
        )


default_handlers = [
    Route("", VersionHandler),
    Route("api/health", HealthHandler),
    Route("api/config", ConfigHandler),
    Route("api/permissions", PermissionsHandler),
]

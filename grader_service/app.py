"""The grader-service application: configuration, wiring, start and graceful stop.

``GraderService`` is the composition root. ``initialize()`` lists the concerns in the
order they are set up; ``start()`` only serves and waits for a signal to stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
import sys
import time
import warnings
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from tornado.web import Application as TornadoApplication
from tornado.web import RequestHandler
from traitlets import (
    Bool,
    Dict,
    Enum,
    Float,
    Instance,
    Integer,
    List,
    Type,
    Unicode,
    Union,
    default,
    validate,
)
from traitlets.config import Application, catch_config_error

from . import handlers
from ._version import __version__
from .auth import Authenticator, JupyterHubAuthenticator, StaticTokenAuthenticator
from .auth.identity import IdentityResolver
from .auth.roles import apply_load_roles, parse_load_roles
from .autograding import CellTimeoutPolicy, ImagePolicy
from .autograding.executor import AutogradeExecutor, resolve_executor_class
from .autograding.local import LocalAutogradeExecutor
from .autograding.pipeline import GradingPipeline
from .autograding.scheduler import GradingScheduler
from .events import SubmissionEventBroker
from .git.server import GitServer
from .handlers.base import InflightRequests
from .metrics import GraderMetrics, RouteLabels
from .orm.db import (
    SchemaError,
    create_engine,
    ensure_schema,
    is_sqlite,
    new_session_factory,
    redact_url,
)
from .release_schedule import ReleaseScheduler
from .subcommands import NewToken, UpgradeDB


def _env(*names: str) -> str | None:
    """The first of the environment variables ``names`` that is set and not empty."""
    for name in names:
        if value := os.environ.get(name):
            return value
    return None


def _with_slashes(path: str) -> str:
    """``services/grader`` -> ``/services/grader/`` (routes are joined without checks)."""
    inner = path.strip("/")
    return f"/{inner}/" if inner else "/"


class GraderService(Application):
    """A Jupyter-integrated grading service: assignments, submissions, autograding."""

    name = "grader-service"
    version = __version__
    description = """Start the grader service.

    Configuration is read from grader_service_config.py in the current directory, or the
    file given with -f. Write a documented starting point with
    'grader-service --generate-config -f grader_service_config.py'."""
    examples = """
    grader-service -f grader_service_config.py      # serve
    grader-service --generate-config -f config.py   # write a documented config file
    grader-service upgrade-db -f config.py          # migrate the database
    grader-service token alice --note 'CI export'   # issue an API token for alice
    """

    aliases = {
        "f": "GraderService.config_file",
        "config": "GraderService.config_file",
        "host": "GraderService.service_host",
        "port": "GraderService.service_port",
        "log-level": "Application.log_level",
        "db-url": "GraderService.db_url",
    }
    flags = {
        "debug": ({"Application": {"log_level": 10}}, "Log at DEBUG level."),
        "generate-config": (
            {"GraderService": {"generate_config": True}},
            "Write a documented configuration file to the -f path and exit.",
        ),
        "upgrade-db": (
            {"GraderService": {"upgrade_db": True}},
            "Upgrade the database schema at start-up if it is out of date.",
        ),
    }
    subcommands = {
        "upgrade-db": (UpgradeDB, UpgradeDB.description.splitlines()[0]),
        "token": (NewToken, NewToken.description.splitlines()[0]),
    }

    # Operators expect start-up and request lines: INFO, with timestamps.
    log_level = Enum(
        Application.log_level.values,
        default_value=logging.INFO,
        help="Log level: DEBUG, INFO, WARN, ERROR or CRITICAL (or 10..50).",
    ).tag(config=True)
    log_format = Unicode(
        "[%(levelname)1.1s %(asctime)s.%(msecs).03d %(name)s] %(message)s",
        help="Format of log lines (Python logging syntax).",
    ).tag(config=True)
    log_datefmt = Unicode("%Y-%m-%d %H:%M:%S", help="Format of timestamps in the log.").tag(
        config=True
    )

    classes: List[type] = List(
        help="Configurable classes listed by --help-all and --generate-config."
    )

    @default("classes")
    def _classes_default(self) -> list[type]:
        return [
            GraderService,
            CellTimeoutPolicy,
            ImagePolicy,
            GitServer,
            ReleaseScheduler,
            Authenticator,
            JupyterHubAuthenticator,
            StaticTokenAuthenticator,
            *self._grading_classes(),
        ]

    @staticmethod
    def _grading_classes() -> list[type]:
        """The grading classes an operator configures (documented by --generate-config)."""
        from .autograding.kernel_pool import KernelPool
        from .autograding.sandbox import Sandbox
        from .convert import Autograde, KernelLauncher, NotebookRunner

        return [
            GradingScheduler,
            LocalAutogradeExecutor,
            Sandbox,
            KernelPool,
            NotebookRunner,
            KernelLauncher,
            Autograde,
        ]

    # -- configuration ----------------------------------------------------------------

    config_file = Unicode(
        "grader_service_config.py",
        help="""The configuration file to load (``-f``).

        A missing file is an error unless it is this default name.
        """,
    ).tag(config=True)

    generate_config = Bool(
        False, help="Write a documented configuration file to ``config_file`` and exit."
    ).tag(config=True)

    service_host = Unicode(
        "127.0.0.1",
        help="""Interface to listen on.

        Default: ``$GRADER_HOST``, else the host of ``$JUPYTERHUB_SERVICE_URL`` (when
        JupyterHub manages the service), else ``127.0.0.1``. Use ``0.0.0.0`` in a
        container.

        Example::

            c.GraderService.service_host = "0.0.0.0"
        """,
    ).tag(config=True)

    @default("service_host")
    def _service_host_default(self) -> str:
        if host := _env("GRADER_HOST"):
            return host
        if url := _env("JUPYTERHUB_SERVICE_URL"):
            from urllib.parse import urlparse

            return urlparse(url).hostname or "127.0.0.1"
        return "127.0.0.1"

    service_port = Integer(
        4010,
        help="""Port to listen on (0 picks a free port and logs it).

        Default: ``$GRADER_PORT``, else the port of ``$JUPYTERHUB_SERVICE_URL``, else 4010.
        """,
    ).tag(config=True)

    @default("service_port")
    def _service_port_default(self) -> int:
        if port := _env("GRADER_PORT"):
            return int(port)
        if url := _env("JUPYTERHUB_SERVICE_URL"):
            from urllib.parse import urlparse

            return urlparse(url).port or 4010
        return 4010

    base_url_path = Unicode(
        "/services/grader/",
        help="""URL prefix of every route; the REST API lives under ``{base}api/`` and git
        under ``{base}git/``.

        Default: ``$GRADER_BASE_URL``, else ``$JUPYTERHUB_SERVICE_PREFIX``, else
        ``/services/grader/`` (where JupyterHub exposes a service named ``grader``).
        """,
    ).tag(config=True)

    @default("base_url_path")
    def _base_url_path_default(self) -> str:
        return _with_slashes(
            _env("GRADER_BASE_URL", "JUPYTERHUB_SERVICE_PREFIX") or "/services/grader/"
        )

    @validate("base_url_path")
    def _slashes(self, proposal: dict[str, str]) -> str:
        return _with_slashes(proposal["value"])

    grader_service_dir = Unicode(
        "grader_service_data",
        help="""Directory of the service's data: git repositories, job directories and,
        by default, the SQLite database. Created with mode 0700.

        Default: ``$GRADER_SERVICE_DIRECTORY``, else ``./grader_service_data``.
        """,
    ).tag(config=True)

    @default("grader_service_dir")
    def _grader_service_dir_default(self) -> str:
        return _env("GRADER_SERVICE_DIRECTORY") or str(Path.cwd() / "grader_service_data")

    @validate("grader_service_dir")
    def _absolute_dir(self, proposal: dict[str, str]) -> str:
        return str(Path(proposal["value"]).expanduser().resolve())

    db_url = Unicode(
        help="""Database URL (SQLAlchemy syntax).

        Default: ``$GRADER_DB_URL``, else a SQLite file ``grader.sqlite`` in
        ``grader_service_dir``. Use PostgreSQL in production and whenever more than one
        replica runs; plain ``sqlite://`` and ``postgresql://`` URLs are switched to their
        asyncio drivers (aiosqlite, asyncpg) automatically.

        Example::

            c.GraderService.db_url = "postgresql+asyncpg://grader:secret@db:5432/grader"
        """,
    ).tag(config=True)

    @default("db_url")
    def _db_url_default(self) -> str:
        return (
            _env("GRADER_DB_URL") or f"sqlite:///{Path(self.grader_service_dir) / 'grader.sqlite'}"
        )

    upgrade_db = Bool(
        False,
        help="""Upgrade an out-of-date database schema at start-up instead of refusing to
        start. SQLite files are backed up first. Without it, run
        ``grader-service upgrade-db -f <config>`` after backing up.
        """,
    ).tag(config=True)

    authenticator_class = Type(
        default_value=JupyterHubAuthenticator,
        klass=Authenticator,
        help="""How API tokens are checked.

        Default: ``grader_service.auth.JupyterHubAuthenticator`` when
        ``$JUPYTERHUB_API_URL`` is set (the usual deployment), otherwise
        ``grader_service.auth.StaticTokenAuthenticator`` (development only).
        """,
    ).tag(config=True)

    @default("authenticator_class")
    def _authenticator_class_default(self) -> type[Authenticator]:
        if _env("JUPYTERHUB_API_URL"):
            return JupyterHubAuthenticator
        return StaticTokenAuthenticator

    load_roles = Dict(
        help="""Lectures and roles to create at start-up.

        Lecture code -> list of ``{"role": "student"|"tutor"|"instructor", "members":
        [username | {"username": ..., "display_name": ...}]}``. Roles granted here are
        revoked when their user is removed from this setting; roles from JupyterHub
        groups or the API are not touched.

        Example::

            c.GraderService.load_roles = {
                "lect1": [{"role": "instructor", "members": ["alice"]},
                          {"role": "student", "members": ["bob", "carol"]}],
            }
        """,
    ).tag(config=True)

    shutdown_timeout = Float(
        10.0,
        help="""Seconds to let requests in flight finish after SIGTERM/SIGINT before the
        remaining connections are closed. Keep it below Kubernetes'
        ``terminationGracePeriodSeconds``.""",
    ).tag(config=True)

    grading_enabled = Bool(
        True,
        help="""Grade in this process: run the grading scheduler and its executor.

        Turn it off for replicas that should only serve the API and git (jobs queued
        there are graded by the replicas that have it on, through the shared database).""",
    ).tag(config=True)

    autograde_executor_class = Union(
        [Type(klass=AutogradeExecutor), Unicode()],
        default_value="local",
        help="""Where grading jobs run: an executor class, a dotted class path, or the
        name of an entry point of the ``grader_service.autograde_executors`` group:
        ``"local"`` (this host, kernels in a bubblewrap sandbox) or ``"kubernetes"``
        (one pod per job).""",
    ).tag(config=True)

    max_body_size = Integer(
        100 * 1024 * 1024,
        help="Largest request body in bytes (git pushes of large notebooks need room).",
    ).tag(config=True)

    max_concurrent_requests = Integer(
        16,
        min=1,
        help="""API requests handled at the same time; more wait their turn (git
        transfers and event streams are not counted). Bounding it keeps every turn of
        the event loop short under a burst (hundreds of students at a deadline), so
        latency stays even and the grading scheduler is never starved.""",
    ).tag(config=True)

    trust_xheaders = Bool(
        False,
        help="""Trust ``X-Forwarded-For``/``X-Real-Ip`` and ``X-Scheme`` from a reverse proxy
        (JupyterHub's proxy or an ingress) for logging client addresses.""",
    ).tag(config=True)

    extra_log_file = Unicode(
        "", help="Also append the log to this file (besides standard error)."
    ).tag(config=True)

    metrics_require_auth = Bool(
        True,
        help="""Whether ``GET {base}metrics`` (Prometheus) needs an admin's token.

        Set to False when only a trusted scraper can reach the port (e.g. a Prometheus
        inside the cluster behind a NetworkPolicy); the metrics show request rates per
        route and grading queue lengths, not personal data.""",
    ).tag(config=True)

    events_keepalive_interval = Float(
        15.0,
        min=0.05,
        help="""Seconds between ``: keepalive`` comments on idle ``{base}api/events``
        streams, so proxies with idle timeouts keep them open and a vanished client is
        noticed.""",
    ).tag(config=True)

    # -- state built by initialize() ------------------------------------------------

    engine = Instance(AsyncEngine, allow_none=True, help="The database engine.")
    session_factory = Instance(
        async_sessionmaker, allow_none=True, help="Sessions, one per request."
    )
    authenticator = Instance(Authenticator, allow_none=True, help="The configured authenticator.")
    cell_timeout_policy = Instance(CellTimeoutPolicy, allow_none=True, help="Cell timeout limits.")
    image_policy = Instance(ImagePolicy, allow_none=True, help="Allowed grading images.")
    git_server = Instance(GitServer, allow_none=True, help="The git smart-HTTP server settings.")
    release_scheduler = Instance(
        ReleaseScheduler, allow_none=True, help="Releases assignments at their release_at."
    )
    executor = Instance(
        AutogradeExecutor, allow_none=True, help="Runs grading jobs (autograde_executor_class)."
    )
    grading_scheduler = Instance(
        GradingScheduler, allow_none=True, help="Claims and runs this process's grading jobs."
    )
    tornado_app = Instance(TornadoApplication, allow_none=True, help="The tornado web application.")
    http_server = Instance(HTTPServer, allow_none=True, help="The HTTP server.")
    bound_port = Integer(0, help="The port actually listened on (after start).")
    metrics = Instance(
        GraderMetrics, help="Prometheus metrics of this service (served at ``{base}metrics``)."
    )
    events = Instance(
        SubmissionEventBroker,
        help="Publishes submission status changes to ``{base}api/events`` streams.",
    )

    # Created on first use, so whatever is initialised first (the grading scheduler or
    # the web application) gets the same object.
    @default("metrics")
    def _metrics_default(self) -> GraderMetrics:
        return GraderMetrics()

    @default("events")
    def _events_default(self) -> SubmissionEventBroker:
        return SubmissionEventBroker()

    @catch_config_error
    async def initialize(self, argv: list[str] | None = None) -> None:  # type: ignore[override]
        """Set everything up, one concern at a time, in dependency order."""
        super().initialize(argv)
        if self.subapp is not None or self.generate_config:
            return
        self.load_config_file(self.config_file)
        self.init_logging()
        self.init_data_dir()
        self.init_db()
        try:
            await self.init_schema()
            self.init_authenticator()
            self.init_grading_limits()
            self.init_git()
            self.init_release_schedule()
            await self.init_roles()
            self.init_tornado_app()
            self.init_grading()
        except BaseException:
            # e.g. a bad config value: do not leave database connections behind
            await self.dispose_engines()
            raise

    def load_config_file(self, filename: str, path: str | list[str] | None = None) -> None:  # type: ignore[override]
        """Load ``filename``; only the default name may be missing."""
        config_path = Path(filename).expanduser()
        if not config_path.exists():
            if filename != self.__class__.config_file.default_value:
                self.log.critical("Config file %s does not exist.", config_path)
                self.exit(1)
            return
        super().load_config_file(str(config_path.resolve()))

    def init_logging(self) -> None:
        """Route tornado's and SQLAlchemy's loggers through ours."""
        self.log.propagate = False
        # grader_service.* are the domain modules' loggers (they do not know the app)
        for name in (
            "grader_service",
            "tornado.access",
            "tornado.application",
            "tornado.general",
            "alembic",
        ):
            logger = logging.getLogger(name)
            logger.propagate = False
            logger.setLevel(self.log.level)
            for handler in self.log.handlers:
                logger.addHandler(handler)
        if self.extra_log_file:
            file_handler = logging.FileHandler(self.extra_log_file)
            file_handler.setFormatter(self.log.handlers[0].formatter if self.log.handlers else None)
            self.log.addHandler(file_handler)

    def init_data_dir(self) -> None:
        """Create the data directory, private to the service's user."""
        path = Path(self.grader_service_dir)
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        (path / "git").mkdir(mode=0o700, exist_ok=True)

    def init_db(self) -> None:
        """Create the engine and the session factory (nothing is queried yet)."""
        self.log.info("Database: %s", redact_url(self.db_url))
        self.engine = create_engine(self.db_url)
        self.session_factory = new_session_factory(self.engine)
        # SQLite has one writer at a time: writing requests take the lock when their
        # transaction begins (see create_engine); PostgreSQL shares one engine.
        self.write_engine = (
            create_engine(self.db_url, immediate=True) if is_sqlite(self.engine) else self.engine
        )
        self.write_session_factory = new_session_factory(self.write_engine)

    async def init_schema(self) -> None:
        """Refuse to run on a schema this code does not match (see ``upgrade_db``)."""
        assert self.engine is not None
        try:
            await ensure_schema(self.engine, upgrade=self.upgrade_db)
        except SchemaError as e:
            self.log.critical("%s", e)
            await self.dispose_engines()
            self.exit(1)

    def init_authenticator(self) -> None:
        """Instantiate the configured authenticator."""
        self.authenticator = self.authenticator_class(parent=self, log=self.log)
        if isinstance(self.authenticator, StaticTokenAuthenticator):
            self.log.warning(
                "Using StaticTokenAuthenticator: fine for development, never for production. "
                "Set JUPYTERHUB_API_URL or c.GraderService.authenticator_class."
            )

    def init_grading_limits(self) -> None:
        """Limits every executor shares (cell timeouts, allowed images)."""
        self.cell_timeout_policy = CellTimeoutPolicy(parent=self)
        self.image_policy = ImagePolicy(parent=self)

    def init_git(self) -> None:
        """Repositories live in the data directory; hooks are rewritten at every start."""
        self.git_server = GitServer(parent=self, data_dir=self.grader_service_dir)
        self.git_server.install_hooks()

    def init_release_schedule(self) -> None:
        """Scheduled releases (started with the server)."""
        self.release_scheduler = ReleaseScheduler(
            parent=self,
            session_factory=self.write_session_factory,
            git_server=self.git_server,
        )

    def init_grading(self) -> None:
        """The executor and the scheduler (started with the server) if this process grades."""
        if not self.grading_enabled:
            self.log.info("Grading is off in this process (c.GraderService.grading_enabled)")
            return
        try:
            executor_class = resolve_executor_class(self.autograde_executor_class)
        except (ValueError, ImportError, AttributeError) as e:
            self.log.critical("Invalid c.GraderService.autograde_executor_class: %s", e)
            self.exit(1)
        work_dir = Path(self.grader_service_dir) / "grading"
        self.executor = executor_class(parent=self, log=self.log)
        if isinstance(self.executor, LocalAutogradeExecutor) and not self.executor.work_dir:
            self.executor.work_dir = str(work_dir / "sandboxes")
        assert self.cell_timeout_policy is not None and self.git_server is not None
        pipeline = GradingPipeline(
            self.write_session_factory,
            self.git_server,
            self.executor,
            self.cell_timeout_policy,
            work_dir,
        )
        self.grading_scheduler = GradingScheduler(
            parent=self,
            log=self.log,
            session_factory=self.write_session_factory,
            pipeline=pipeline,
            metrics=self.metrics,
            events=self.events,
        )
        if self.tornado_app is not None:
            self.tornado_app.settings["grading_scheduler"] = self.grading_scheduler

    async def start_grading(self) -> None:
        """Start the executor, then the scheduler. Without a working executor nothing is
        claimed: queued jobs wait (nothing is lost) and the log says why."""
        if self.executor is None or self.grading_scheduler is None:
            return
        try:
            await self.executor.start()
        except Exception as e:
            self.log.critical(
                "Grading is NOT running: %s. Submissions are queued and will be graded "
                "once the executor works (fix it and restart the service).",
                e,
            )
            self.grading_scheduler = None
            return
        self.grading_scheduler.start()

    async def init_roles(self) -> None:
        """Create the lectures and roles of ``load_roles``."""
        assert self.session_factory is not None
        try:
            spec = parse_load_roles(self.load_roles)
        except ValueError as e:
            self.log.critical("Invalid c.GraderService.load_roles: %s", e)
            self.exit(1)
        async with self.session_factory() as session:
            await apply_load_roles(session, spec)
            await session.commit()

    def init_tornado_app(self) -> None:
        """Build the tornado application from the handlers' route tables."""
        from .handlers.openapi import build_openapi

        routes = handlers.default_handlers
        url_specs: list[Any] = [
            (route.pattern(self.base_url_path), route.handler, route.kwargs) for route in routes
        ]
        self.tornado_app = TornadoApplication(
            url_specs,
            default_handler_class=handlers.NotFoundHandler,
            session_factory=self.session_factory,
            write_session_factory=self.write_session_factory,
            identity_resolver=IdentityResolver(self.authenticator),  # type: ignore[arg-type]
            grader_app=self,
            background_tasks=set(),
            inflight=InflightRequests(),
            admission=asyncio.Semaphore(self.max_concurrent_requests),
            openapi=build_openapi(routes, self.base_url_path),
            metrics=self.metrics,
            route_labels=RouteLabels(routes, self.base_url_path),
            events=self.events,
            log_function=self._log_request,
            serve_traceback=False,
        )

    def _log_request(self, handler: RequestHandler) -> None:
        """One access-log line per request (health checks only at debug level), and its
        latency in the metrics, labelled with the route's template."""
        status = handler.get_status()
        seconds = handler.request.request_time()
        duration_ms = 1000.0 * seconds
        # an event stream lasts as long as its client stays: not a latency
        if not getattr(handler, "streaming", False):
            self.metrics.observe_request(
                handler.request.method or "GET",
                handler.settings["route_labels"](handler),
                status,
                seconds,
            )
        if status >= 500:
            level = self.log.error
        elif status >= 400:
            level = self.log.warning
        elif handler.request.path.endswith("/api/health"):
            level = self.log.debug
        else:
            level = self.log.info
        user = getattr(handler, "current_user", None)
        level(
            "%d %s %s (%s@%s) %.1fms",
            status,
            handler.request.method,
            handler.request.path,
            getattr(user, "name", "-"),
            handler.request.remote_ip,
            duration_ms,
        )

    # -- running -----------------------------------------------------------------------

    async def start(self) -> None:  # type: ignore[override]
        """Serve until SIGTERM or SIGINT, then stop gracefully."""
        if self.subapp is not None:
            result = self.subapp.start()
            if isinstance(result, Awaitable):
                await result
            return
        if self.generate_config:
            self.write_config_file()
            return
        await self.serve()
        await self._stopping.wait()
        await self.stop()

    async def serve(self) -> None:
        """Listen and install the signal handlers; returns once the port is bound."""
        assert self.tornado_app is not None
        # Everything imported and built so far lives as long as the process. Freezing it
        # keeps full garbage collections from rescanning it: measured here, that turns
        # 100-150 ms loop stalls under load into a few milliseconds.
        gc.collect()
        gc.freeze()
        self.http_server = HTTPServer(
            self.tornado_app, xheaders=self.trust_xheaders, max_body_size=self.max_body_size
        )
        sockets = bind_sockets(self.service_port, self.service_host)
        self.bound_port = sockets[0].getsockname()[1]
        self.http_server.add_sockets(sockets)
        if self.release_scheduler is not None:
            self.release_scheduler.start()
        await self.start_grading()
        self._stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stopping.set)
        self.log.info(
            "grader-service %s is listening on http://%s:%d%s",
            __version__,
            self.service_host,
            self.bound_port,
            self.base_url_path,
        )

    def request_stop(self) -> None:
        """Ask a running service to stop (what a signal does)."""
        self._stopping.set()

    async def stop(self) -> None:
        """Stop accepting, let requests in flight finish (bounded), release resources."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        self.log.info(
            "Stopping: no new connections; waiting up to %.0fs for requests", self.shutdown_timeout
        )
        started = time.monotonic()
        if self.http_server is not None and self.tornado_app is not None:
            self.http_server.stop()
            # open event streams end with a proper final chunk instead of a cut
            self.events.close()
            inflight: InflightRequests = self.tornado_app.settings["inflight"]
            try:
                await asyncio.wait_for(inflight.wait_idle(), self.shutdown_timeout)
            except TimeoutError:
                self.log.warning(
                    "%d requests still running after %.0fs; closing them",
                    inflight.count,
                    self.shutdown_timeout,
                )
            # what is left are idle keep-alive connections
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.http_server.close_all_connections(), 1)
        if self.release_scheduler is not None:
            await self.release_scheduler.stop()
        if self.grading_scheduler is not None:
            await self.grading_scheduler.stop()
        if self.executor is not None:
            await self.executor.stop()
        if self.tornado_app is not None:
            pending = list(self.tornado_app.settings["background_tasks"])
            if pending:
                await asyncio.wait(pending, timeout=2)
        if self.authenticator is not None:
            await self.authenticator.close()
        await self.dispose_engines()
        self.log.info("Stopped in %.2fs", time.monotonic() - started)

    async def dispose_engines(self) -> None:
        """Close every database connection."""
        if self.write_engine is not None and self.write_engine is not self.engine:
            await self.write_engine.dispose()
        if self.engine is not None:
            await self.engine.dispose()

    def write_config_file(self) -> None:
        """Write the documented default configuration to ``config_file``."""
        path = Path(self.config_file)
        if path.exists():
            self.log.critical("%s exists; remove it or choose another file with -f.", path)
            self.exit(1)
        # imported only here: kubernetes-asyncio costs every start-up ~0.6 s otherwise
        from .autograding.kube.executor import KubeAutogradeExecutor

        self.classes = [*self.classes, KubeAutogradeExecutor]
        path.write_text(self.generate_config_file())
        print(f"Wrote the default configuration to {path}")

    @classmethod
    def launch_instance(cls, argv: list[str] | None = None, **kwargs: Any) -> None:
        """Run the application in a fresh event loop (the console script's entry)."""
        app = cls.instance(**kwargs)

        async def launch() -> None:
            await app.initialize(argv)
            await app.start()

        use_pidfd_child_watcher()
        asyncio.run(launch())


def use_pidfd_child_watcher() -> None:
    """On Python 3.11, wait for subprocesses with pidfds instead of a thread each.

    Every git request and grading step starts subprocesses; 3.11's default child
    watcher starts (and joins) a thread per child to wait for it. Python >= 3.12 uses
    pidfds by itself, and Linux has had them since 5.3.
    """
    if sys.version_info >= (3, 12) or not hasattr(os, "pidfd_open"):
        return
    try:
        os.close(os.pidfd_open(os.getpid()))  # seccomp or old kernels may refuse
    except OSError:
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        asyncio.get_event_loop_policy().set_child_watcher(asyncio.PidfdChildWatcher())


def main(argv: list[str] | None = None) -> None:
    """Console script ``grader-service``."""
    GraderService.launch_instance(argv)
    sys.exit(0)


if __name__ == "__main__":
    main()

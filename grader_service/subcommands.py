"""Maintenance subcommands of ``grader-service``: each a tiny Application."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from traitlets import Integer, Unicode
from traitlets.config import Application

from .orm.db import SchemaError, create_engine, ensure_schema, redact_url

if TYPE_CHECKING:
    from .app import GraderService


class _Subcommand(Application):
    """Shares the parent's config file and database settings."""

    aliases = {
        "f": "GraderService.config_file",
        "config": "GraderService.config_file",
        "db-url": "GraderService.db_url",
        "log-level": "Application.log_level",
    }

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # --help describes the aliases, which name GraderService's options
        from .app import GraderService

        self.classes = [type(self), GraderService]

    @property
    def service(self) -> GraderService:
        """The parent GraderService, with its config file loaded."""
        parent: Any = self.parent
        # Options were parsed by this subcommand; hand them to the service, load the
        # config file they name, then re-apply them so the command line wins.
        parent.update_config(self.cli_config)
        parent.load_config_file(parent.config_file)
        parent.update_config(self.cli_config)
        return parent


class UpgradeDB(_Subcommand):
    """Upgrade the database schema to the version this grader-service needs.

    Back up the database first (SQLite files are copied next to themselves
    automatically). Safe to run on an up-to-date or a new, empty database.
    """

    name = "grader-service-upgrade-db"
    description = __doc__ or ""

    async def start(self) -> None:  # type: ignore[override]
        """Run the migrations and report the revision."""
        service = self.service
        service.init_data_dir()

        async def upgrade() -> str:
            engine = create_engine(service.db_url)
            try:
                status = await ensure_schema(engine, upgrade=True)
            finally:
                await engine.dispose()
            return status.head

        try:
            head = await upgrade()
        except SchemaError as e:
            self.log.critical("%s", e)
            self.exit(1)
        print(f"Database {redact_url(service.db_url)} is at revision {head} (up to date).")


class NewToken(_Subcommand):
    """Issue an API token for a user (printed once; only its hash is stored).

    Usage: grader-service token USERNAME [--note TEXT] [--expires-in SECONDS]
    """

    name = "grader-service-token"
    description = __doc__ or ""
    aliases = {
        **_Subcommand.aliases,
        "note": "NewToken.note",
        "expires-in": "NewToken.expires_in",
    }

    note = Unicode("", help="What the token is for (shown to admins).").tag(config=True)
    expires_in = Integer(0, help="Seconds until the token expires; 0 = never.").tag(config=True)

    async def start(self) -> None:  # type: ignore[override]
        """Create the user if needed and print a new token."""
        if len(self.extra_args) != 1:
            self.log.critical("Give exactly one username: grader-service token USERNAME")
            self.exit(2)
        username = self.extra_args[0]
        service = self.service

        async def issue() -> str:
            from .auth.roles import get_or_create_user
            from .orm import ApiToken, hash_token, new_token, utcnow
            from .orm.api_token import TOKEN_PREFIX_LENGTH
            from .orm.db import new_session_factory

            engine = create_engine(service.db_url)
            try:
                await ensure_schema(engine, upgrade=False)
                async with new_session_factory(engine)() as session:
                    user = await get_or_create_user(session, username)
                    token = new_token()
                    session.add(
                        ApiToken(
                            user_id=user.id,
                            hashed=hash_token(token),
                            prefix=token[:TOKEN_PREFIX_LENGTH],
                            note=self.note,
                            expires_at=utcnow() + timedelta(seconds=self.expires_in)
                            if self.expires_in
                            else None,
                        )
                    )
                    await session.commit()
                    return token
            finally:
                await engine.dispose()

        try:
            token = await issue()
        except SchemaError as e:
            self.log.critical("%s", e)
            self.exit(1)
        print(token)

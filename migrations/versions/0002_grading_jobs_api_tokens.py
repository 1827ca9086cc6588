"""The durable grading queue and service-issued API tokens.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _checked(table: str, column: str, *values: str) -> sa.Enum:
    """A VARCHAR(32) with a CHECK constraint, as the models declare their enums."""
    return sa.Enum(
        *values, name=f"ck_{table}_{column}", native_enum=False, create_constraint=True, length=32
    )


def upgrade() -> None:
    op.create_table(
        "grading_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("lecture_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind", _checked("grading_jobs", "job_kind", "autograde", "feedback"), nullable=False
        ),
        sa.Column(
            "state",
            _checked(
                "grading_jobs", "job_state", "queued", "running", "succeeded", "failed", "cancelled"
            ),
            nullable=False,
        ),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("lease_owner", sa.String(255), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("available_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("executed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name="fk_grading_jobs_submission_id_submissions",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["lecture_id"],
            ["lectures.id"],
            name="fk_grading_jobs_lecture_id_lectures",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_grading_jobs"),
    )
    op.create_index("ix_grading_jobs_submission_id", "grading_jobs", ["submission_id"])
    op.create_index(
        "ix_grading_jobs_state_priority", "grading_jobs", ["state", "priority", "available_at"]
    )
    op.create_index(
        "uq_grading_jobs_submission_id_kind_active",
        "grading_jobs",
        ["submission_id", "kind"],
        unique=True,
        sqlite_where=sa.text("state IN ('queued', 'running')"),
        postgresql_where=sa.text("state IN ('queued', 'running')"),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("hashed", sa.String(64), nullable=False),
        sa.Column("prefix", sa.String(4), nullable=False),
        sa.Column("note", sa.String(255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_api_tokens_user_id_users", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_api_tokens"),
        sa.UniqueConstraint("hashed", name="uq_api_tokens_hashed"),
    )
    op.create_index("ix_api_tokens_user_id", "api_tokens", ["user_id"])


def downgrade() -> None:
    op.drop_table("api_tokens")
    op.drop_table("grading_jobs")

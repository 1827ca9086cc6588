"""Initial schema: users, lectures, roles, assignments, submissions.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _checked(table: str, column: str, *values: str) -> sa.Enum:
    """A VARCHAR(32) with a CHECK constraint, as the models declare their enums."""
    return sa.Enum(
        *values, name=f"ck_{table}_{column}", native_enum=False, create_constraint=True, length=32
    )


def _timestamps() -> list[sa.Column]:
    return [
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("display_name", sa.String(255), nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("name", name="uq_users_name"),
    )
    op.create_table(
        "lectures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("code", sa.String(255), nullable=False),
        sa.Column("complete", sa.Boolean(), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name="pk_lectures"),
        sa.UniqueConstraint("code", name="uq_lectures_code"),
    )
    op.create_table(
        "roles",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("lecture_id", sa.Integer(), nullable=False),
        sa.Column(
            "role",
            _checked("roles", "lecture_role", "student", "tutor", "instructor"),
            nullable=False,
        ),
        sa.Column(
            "source", _checked("roles", "role_source", "hub", "config", "api"), nullable=False
        ),
        *_timestamps(),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_roles_user_id_users", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["lecture_id"], ["lectures.id"], name="fk_roles_lecture_id_lectures", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "lecture_id", name="pk_roles"),
    )
    op.create_index("ix_roles_lecture_id", "roles", ["lecture_id"])
    op.create_table(
        "assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lecture_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column(
            "status",
            _checked(
                "assignments", "assignment_status", "created", "pushed", "released", "complete"
            ),
            nullable=False,
        ),
        sa.Column("points", sa.Float(), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("properties", sa.JSON(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        *_timestamps(),
        sa.ForeignKeyConstraint(
            ["lecture_id"],
            ["lectures.id"],
            name="fk_assignments_lecture_id_lectures",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_assignments"),
    )
    op.create_index("ix_assignments_lecture_id", "assignments", ["lecture_id"])
    op.create_index(
        "uq_assignments_lecture_id_name_live",
        "assignments",
        ["lecture_id", "name"],
        unique=True,
        sqlite_where=sa.text("deleted_at IS NULL"),
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_table(
        "submissions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assignment_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("commit_hash", sa.String(64), nullable=False),
        sa.Column(
            "auto_status",
            _checked(
                "submissions",
                "auto_status",
                "not_graded",
                "pending",
                "automatically_graded",
                "grading_failed",
            ),
            nullable=False,
        ),
        sa.Column(
            "manual_status",
            _checked(
                "submissions", "manual_status", "not_graded", "being_edited", "manually_graded"
            ),
            nullable=False,
        ),
        sa.Column(
            "feedback_status",
            _checked(
                "submissions",
                "feedback_status",
                "not_generated",
                "generating",
                "generated",
                "generation_failed",
                "feedback_outdated",
            ),
            nullable=False,
        ),
        sa.Column("grading_score", sa.Float(), nullable=False),
        sa.Column("score_scaling", sa.Float(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("edited", sa.Boolean(), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["assignment_id"],
            ["assignments.id"],
            name="fk_submissions_assignment_id_assignments",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_submissions_user_id_users", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_submissions"),
    )
    op.create_index(
        "ix_submissions_assignment_id_user_id", "submissions", ["assignment_id", "user_id"]
    )
    op.create_index("ix_submissions_user_id", "submissions", ["user_id"])
    op.create_table(
        "submission_properties",
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("properties", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name="fk_submission_properties_submission_id_submissions",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("submission_id", name="pk_submission_properties"),
    )
    op.create_table(
        "submission_logs",
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("logs", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name="fk_submission_logs_submission_id_submissions",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("submission_id", name="pk_submission_logs"),
    )


def downgrade() -> None:
    op.drop_table("submission_logs")
    op.drop_table("submission_properties")
    op.drop_table("submissions")
    op.drop_table("assignments")
    op.drop_table("roles")
    op.drop_table("lectures")
    op.drop_table("users")

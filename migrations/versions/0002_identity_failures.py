"""identity failures: the guessing limit across calls and replicas

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "identity_failures",
        sa.Column("check_id", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("call_id", sa.String(length=64), nullable=True),
        sa.Column("caller_bidx", sa.String(length=64), nullable=True),
        sa.Column("patient_id", sa.String(length=64), nullable=True),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id"],
            ["calls.id"],
            name=op.f("fk_identity_failures_call_id_calls"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_identity_failures_patient_id_patients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_failures")),
    )
    op.create_index(op.f("ix_identity_failures_at"), "identity_failures", ["at"], unique=False)
    op.create_index(
        op.f("ix_identity_failures_check_id"), "identity_failures", ["check_id"], unique=False
    )
    op.create_index(
        op.f("ix_identity_failures_caller_bidx"), "identity_failures", ["caller_bidx"], unique=False
    )
    op.create_index(
        op.f("ix_identity_failures_patient_id"), "identity_failures", ["patient_id"], unique=False
    )


def downgrade() -> None:
    op.drop_table("identity_failures")

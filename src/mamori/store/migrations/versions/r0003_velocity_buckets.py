"""Velocity buckets: reservations summed per scope, asset and time bucket; reservations indexed by time.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "guard_velocity_scopes",
        sa.Column("per", sa.String(length=64), nullable=False),
        sa.Column("registered_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("per", name=op.f("pk_guard_velocity_scopes")),
    )
    op.create_table(
        "guard_velocity_buckets",
        sa.Column("scope", sa.String(length=32), nullable=False),
        sa.Column("level", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("start_us", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("asset", sa.String(length=64), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("l0", sa.BigInteger(), nullable=False),
        sa.Column("l1", sa.BigInteger(), nullable=False),
        sa.Column("l2", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("scope", "level", "start_us", "asset", name=op.f("pk_guard_velocity_buckets")),
    )
    with op.batch_alter_table("guard_reservations", schema=None) as batch_op:
        batch_op.create_index("ix_guard_reservations_reserved", ["reserved_us"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("guard_reservations", schema=None) as batch_op:
        batch_op.drop_index("ix_guard_reservations_reserved")
    op.drop_table("guard_velocity_buckets")
    op.drop_table("guard_velocity_scopes")

"""Threat-intelligence hub: the operator's organisation (whose identity stands in for anonymous producers) and
accounts whose submissions are anonymous.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("hub_organisations") as table:
        table.add_column(sa.Column("operator", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("hub_accounts") as table:
        table.add_column(sa.Column("anonymous", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("hub_accounts") as table:
        table.drop_column("anonymous")
    with op.batch_alter_table("hub_organisations") as table:
        table.drop_column("operator")

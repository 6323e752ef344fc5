"""Member node: the cursor of each pull from a remote TAXII 2.1 collection (``mamori intel sync``).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "intel_sync_state",
        sa.Column("remote_url", sa.String(length=1000), nullable=False),
        sa.Column("local_collection_id", sa.String(length=36), nullable=False),
        sa.Column("date_added_last", sa.String(length=64), nullable=True),
        sa.Column("objects", sa.BigInteger(), nullable=False),
        sa.Column("synced_us", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["local_collection_id"],
            ["taxii_collections.id"],
            name=op.f("fk_intel_sync_state_local_collection_id_taxii_collections"),
        ),
        sa.PrimaryKeyConstraint("remote_url", name=op.f("pk_intel_sync_state")),
    )


def downgrade() -> None:
    op.drop_table("intel_sync_state")

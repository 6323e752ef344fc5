"""Threat-intelligence hub: member organisations and accounts, TAXII API roots and collections with rights, sharing
groups, STIX objects (one row per version) with their TLP audience, and submission statuses.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hub_organisations",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("identity_ref", sa.String(length=300), nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.Column("removed_us", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hub_organisations")),
    )
    op.create_table(
        "hub_sharing_groups",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hub_sharing_groups")),
    )
    op.create_table(
        "taxii_api_roots",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=256), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("max_content_length", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_taxii_api_roots")),
    )
    op.create_table(
        "hub_accounts",
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("organisation_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("secret_sha256", sa.LargeBinary(length=32), nullable=False),
        sa.Column("password_hash", sa.String(length=256), nullable=True),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.Column("revoked_us", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["hub_organisations.id"],
            name=op.f("fk_hub_accounts_organisation_id_hub_organisations"),
        ),
        sa.PrimaryKeyConstraint("key_id", name=op.f("pk_hub_accounts")),
        sa.UniqueConstraint("name", name="uq_hub_accounts_name"),
    )
    with op.batch_alter_table("hub_accounts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_hub_accounts_organisation_id"), ["organisation_id"], unique=False)

    op.create_table(
        "hub_sharing_group_members",
        sa.Column("group_id", sa.String(length=64), nullable=False),
        sa.Column("organisation_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["hub_sharing_groups.id"],
            name=op.f("fk_hub_sharing_group_members_group_id_hub_sharing_groups"),
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["hub_organisations.id"],
            name=op.f("fk_hub_sharing_group_members_organisation_id_hub_organisations"),
        ),
        sa.PrimaryKeyConstraint("group_id", "organisation_id", name=op.f("pk_hub_sharing_group_members")),
    )
    op.create_table(
        "taxii_collections",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("api_root", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=256), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("alias", sa.String(length=64), nullable=True),
        sa.Column("default_tlp", sa.Integer(), nullable=False),
        sa.Column("sharing_group_id", sa.String(length=64), nullable=True),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["api_root"], ["taxii_api_roots.name"], name=op.f("fk_taxii_collections_api_root_taxii_api_roots")
        ),
        sa.ForeignKeyConstraint(
            ["sharing_group_id"],
            ["hub_sharing_groups.id"],
            name=op.f("fk_taxii_collections_sharing_group_id_hub_sharing_groups"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_taxii_collections")),
    )
    with op.batch_alter_table("taxii_collections", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_taxii_collections_api_root"), ["api_root"], unique=False)

    op.create_table(
        "taxii_status",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("api_root", sa.String(length=64), nullable=False),
        sa.Column("organisation_id", sa.String(length=64), nullable=False),
        sa.Column("request_us", sa.BigInteger(), nullable=False),
        sa.Column("document", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["api_root"], ["taxii_api_roots.name"], name=op.f("fk_taxii_status_api_root_taxii_api_roots")
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["hub_organisations.id"],
            name=op.f("fk_taxii_status_organisation_id_hub_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_taxii_status")),
    )
    op.create_table(
        "taxii_collection_rights",
        sa.Column("collection_id", sa.String(length=36), nullable=False),
        sa.Column("organisation_id", sa.String(length=64), nullable=False),
        sa.Column("can_read", sa.Boolean(), nullable=False),
        sa.Column("can_write", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["collection_id"],
            ["taxii_collections.id"],
            name=op.f("fk_taxii_collection_rights_collection_id_taxii_collections"),
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["hub_organisations.id"],
            name=op.f("fk_taxii_collection_rights_organisation_id_hub_organisations"),
        ),
        sa.PrimaryKeyConstraint("collection_id", "organisation_id", name=op.f("pk_taxii_collection_rights")),
    )
    op.create_table(
        "taxii_objects",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("collection_id", sa.String(length=36), nullable=False),
        sa.Column("date_added_us", sa.BigInteger(), nullable=False),
        sa.Column("stix_id", sa.String(length=300), nullable=False),
        sa.Column("stix_type", sa.String(length=250), nullable=False),
        sa.Column("spec_version", sa.String(length=8), nullable=False),
        sa.Column("version_us", sa.BigInteger(), nullable=False),
        sa.Column("is_first", sa.Boolean(), nullable=False),
        sa.Column("is_last", sa.Boolean(), nullable=False),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.Column("tlp", sa.Integer(), nullable=False),
        sa.Column("producer_id", sa.String(length=64), nullable=False),
        sa.Column("submitted_by", sa.String(length=32), nullable=False),
        sa.Column("document", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["collection_id"], ["taxii_collections.id"], name=op.f("fk_taxii_objects_collection_id_taxii_collections")
        ),
        sa.ForeignKeyConstraint(
            ["producer_id"], ["hub_organisations.id"], name=op.f("fk_taxii_objects_producer_id_hub_organisations")
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_taxii_objects")),
        sa.UniqueConstraint("collection_id", "date_added_us", name="uq_taxii_objects_date_added"),
        sa.UniqueConstraint("collection_id", "stix_id", "version_us", name="uq_taxii_objects_version"),
    )
    with op.batch_alter_table("taxii_objects", schema=None) as batch_op:
        batch_op.create_index(
            "ix_taxii_objects_type_added", ["collection_id", "stix_type", "date_added_us"], unique=False
        )

    op.create_table(
        "taxii_object_readers",
        sa.Column("object_seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("reader", sa.String(length=64), nullable=False),
        sa.Column("max_tlp", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["object_seq"],
            ["taxii_objects.seq"],
            name=op.f("fk_taxii_object_readers_object_seq_taxii_objects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("object_seq", "kind", "reader", name=op.f("pk_taxii_object_readers")),
    )


def downgrade() -> None:
    op.drop_table("taxii_object_readers")
    with op.batch_alter_table("taxii_objects", schema=None) as batch_op:
        batch_op.drop_index("ix_taxii_objects_type_added")

    op.drop_table("taxii_objects")
    op.drop_table("taxii_collection_rights")
    op.drop_table("taxii_status")
    with op.batch_alter_table("taxii_collections", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_taxii_collections_api_root"))

    op.drop_table("taxii_collections")
    op.drop_table("hub_sharing_group_members")
    with op.batch_alter_table("hub_accounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hub_accounts_organisation_id"))

    op.drop_table("hub_accounts")
    op.drop_table("taxii_api_roots")
    op.drop_table("hub_sharing_groups")
    op.drop_table("hub_organisations")

"""Guard service: policy versions, approver keys, API keys, address book, changes, withdrawals, approvals, releases.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "guard_address_book",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("chain", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=256), nullable=False),
        sa.Column("label", sa.String(length=256), nullable=False),
        sa.Column("approved_by", sa.Text(), nullable=False),
        sa.Column("effective_us", sa.BigInteger(), nullable=False),
        sa.Column("removed_us", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_guard_address_book")),
    )
    with op.batch_alter_table("guard_address_book", schema=None) as batch_op:
        batch_op.create_index("ix_guard_address_book_chain_address", ["chain", "address"], unique=False)

    op.create_table(
        "guard_api_keys",
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("secret_sha256", sa.LargeBinary(length=32), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("principal", sa.String(length=256), nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.Column("revoked_us", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("key_id", name=op.f("pk_guard_api_keys")),
    )
    op.create_table(
        "guard_approver_keys",
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("person", sa.String(length=256), nullable=False),
        sa.Column("public_key", sa.LargeBinary(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("added_us", sa.BigInteger(), nullable=False),
        sa.Column("removed_us", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("key_id", name=op.f("pk_guard_approver_keys")),
    )
    with op.batch_alter_table("guard_approver_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_guard_approver_keys_person"), ["person"], unique=False)

    op.create_table(
        "guard_balances",
        sa.Column("wallet", sa.String(length=256), nullable=False),
        sa.Column("asset", sa.String(length=64), nullable=False),
        sa.Column("amount", sa.String(length=80), nullable=False),
        sa.Column("as_of_us", sa.BigInteger(), nullable=False),
        sa.Column("reported_by", sa.String(length=256), nullable=False),
        sa.PrimaryKeyConstraint("wallet", "asset", name=op.f("pk_guard_balances")),
    )
    op.create_table(
        "guard_changes",
        sa.Column("change_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.LargeBinary(), nullable=False),
        sa.Column("subject_digest", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("proposed_by", sa.String(length=256), nullable=False),
        sa.Column("proposed_us", sa.BigInteger(), nullable=False),
        sa.Column("expires_us", sa.BigInteger(), nullable=False),
        sa.Column("decided_us", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("change_id", name=op.f("pk_guard_changes")),
    )
    with op.batch_alter_table("guard_changes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_guard_changes_status"), ["status"], unique=False)

    op.create_table(
        "guard_policy_versions",
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("proposed_by", sa.String(length=256), nullable=False),
        sa.Column("proposed_us", sa.BigInteger(), nullable=False),
        sa.Column("activated_us", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_guard_policy_versions")),
    )
    with op.batch_alter_table("guard_policy_versions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_guard_policy_versions_status"), ["status"], unique=False)

    op.create_table(
        "guard_withdrawals",
        sa.Column("request_id", sa.String(length=256), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("initiator", sa.String(length=256), nullable=False),
        sa.Column("wallet", sa.String(length=256), nullable=False),
        sa.Column("chain", sa.String(length=64), nullable=False),
        sa.Column("asset", sa.String(length=64), nullable=False),
        sa.Column("amount", sa.String(length=80), nullable=False),
        sa.Column("destination", sa.String(length=256), nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.Column("received_us", sa.BigInteger(), nullable=False),
        sa.Column("request_digest", sa.String(length=64), nullable=False),
        sa.Column("request_document", sa.LargeBinary(), nullable=False),
        sa.Column("transaction", sa.LargeBinary(), nullable=True),
        sa.Column("signing_hash", sa.String(length=66), nullable=True),
        sa.Column("policy_version", sa.Integer(), nullable=True),
        sa.Column("verdict", sa.LargeBinary(), nullable=True),
        sa.Column("decided_us", sa.BigInteger(), nullable=True),
        sa.Column("reserved_us", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("request_id", name=op.f("pk_guard_withdrawals")),
    )
    with op.batch_alter_table("guard_withdrawals", schema=None) as batch_op:
        batch_op.create_index("ix_guard_withdrawals_wallet_reserved", ["wallet", "reserved_us"], unique=False)

    op.create_table(
        "guard_reservations",
        sa.Column("request_id", sa.String(length=256), nullable=False),
        sa.Column("wallet", sa.String(length=256), nullable=False),
        sa.Column("asset", sa.String(length=64), nullable=False),
        sa.Column("destination", sa.String(length=256), nullable=False),
        sa.Column("initiator", sa.String(length=256), nullable=False),
        sa.Column("reserved_us", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.String(length=80), nullable=False),
        sa.Column("amount_l0", sa.BigInteger(), nullable=False),
        sa.Column("amount_l1", sa.BigInteger(), nullable=False),
        sa.Column("amount_l2", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("request_id", name=op.f("pk_guard_reservations")),
    )
    with op.batch_alter_table("guard_reservations", schema=None) as batch_op:
        batch_op.create_index("ix_guard_reservations_wallet_reserved", ["wallet", "reserved_us"], unique=False)

    op.create_table(
        "guard_change_approvals",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("change_id", sa.String(length=64), nullable=False),
        sa.Column("approver", sa.String(length=256), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.LargeBinary(length=64), nullable=False),
        sa.Column("at_us", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["change_id"], ["guard_changes.change_id"], name=op.f("fk_guard_change_approvals_change_id_guard_changes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_guard_change_approvals")),
        sa.UniqueConstraint("change_id", "approver", name="uq_guard_change_approvals_change_approver"),
    )
    op.create_table(
        "guard_releases",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("request_id", sa.String(length=256), nullable=False),
        sa.Column("signing_hash", sa.String(length=66), nullable=False),
        sa.Column("token", sa.Text(), nullable=False),
        sa.Column("issued_us", sa.BigInteger(), nullable=False),
        sa.Column("expires_us", sa.BigInteger(), nullable=False),
        sa.Column("audit_seq", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["guard_withdrawals.request_id"],
            name=op.f("fk_guard_releases_request_id_guard_withdrawals"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_guard_releases")),
    )
    with op.batch_alter_table("guard_releases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_guard_releases_request_id"), ["request_id"], unique=False)

    op.create_table(
        "guard_withdrawal_approvals",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("request_id", sa.String(length=256), nullable=False),
        sa.Column("approver", sa.String(length=256), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("signing_hash", sa.String(length=66), nullable=False),
        sa.Column("policy_digest", sa.String(length=64), nullable=False),
        sa.Column("policy_version", sa.Integer(), nullable=False),
        sa.Column("expires_us", sa.BigInteger(), nullable=False),
        sa.Column("signature", sa.LargeBinary(length=64), nullable=False),
        sa.Column("at_us", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["guard_withdrawals.request_id"],
            name=op.f("fk_guard_withdrawal_approvals_request_id_guard_withdrawals"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_guard_withdrawal_approvals")),
        sa.UniqueConstraint("request_id", "approver", "signing_hash", name="uq_guard_withdrawal_approvals_once"),
    )


def downgrade() -> None:
    op.drop_table("guard_withdrawal_approvals")
    with op.batch_alter_table("guard_releases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_guard_releases_request_id"))

    op.drop_table("guard_releases")
    op.drop_table("guard_change_approvals")
    with op.batch_alter_table("guard_reservations", schema=None) as batch_op:
        batch_op.drop_index("ix_guard_reservations_wallet_reserved")

    op.drop_table("guard_reservations")
    with op.batch_alter_table("guard_withdrawals", schema=None) as batch_op:
        batch_op.drop_index("ix_guard_withdrawals_wallet_reserved")

    op.drop_table("guard_withdrawals")
    with op.batch_alter_table("guard_policy_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_guard_policy_versions_status"))

    op.drop_table("guard_policy_versions")
    with op.batch_alter_table("guard_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_guard_changes_status"))

    op.drop_table("guard_changes")
    op.drop_table("guard_balances")
    with op.batch_alter_table("guard_approver_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_guard_approver_keys_person"))

    op.drop_table("guard_approver_keys")
    op.drop_table("guard_api_keys")
    with op.batch_alter_table("guard_address_book", schema=None) as batch_op:
        batch_op.drop_index("ix_guard_address_book_chain_address")

    op.drop_table("guard_address_book")

"""Billing: accounts, the append-only ledger, prepaid resource groups, task charges.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _money(name: str) -> sa.Column:
    return sa.Column(name, sa.BigInteger(), nullable=False)


def upgrade() -> None:
    op.create_table(
        "billing_accounts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("holder", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        _money("balance_cents"),
        _money("frozen_cents"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_billing_accounts_holder", "billing_accounts", ["holder"], unique=True)
    op.create_index("ix_billing_accounts_user_id", "billing_accounts", ["user_id"])
    op.create_table(
        "billing_ledger",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("account_id", sa.Integer(), sa.ForeignKey("billing_accounts.id"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        _money("amount_cents"),
        _money("frozen_cents"),
        _money("balance_after"),
        _money("frozen_after"),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_billing_ledger_account_id", "billing_ledger", ["account_id"])
    op.create_index("ix_billing_ledger_task_id", "billing_ledger", ["task_id"])
    op.create_table(
        "resource_groups",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("owner_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("spec", sa.String(64), nullable=False),
        sa.Column("nodes", sa.Integer(), nullable=False),
        sa.Column("region", sa.String(64), nullable=False),
        _money("price_cents"),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_resource_groups_name", "resource_groups", ["name"], unique=True)
    op.create_index("ix_resource_groups_owner_id", "resource_groups", ["owner_id"])
    op.create_table(
        "task_charges",
        sa.Column("task_id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("account_id", sa.Integer(), sa.ForeignKey("billing_accounts.id"), nullable=True),
        sa.Column("charge_type", sa.String(24), nullable=False),
        sa.Column("spec", sa.String(64), nullable=False),
        sa.Column("nodes", sa.Integer(), nullable=False),
        _money("price_cents"),
        sa.Column(
            "resource_group_id", sa.Integer(), sa.ForeignKey("resource_groups.id"), nullable=True
        ),
        _money("frozen_cents"),
        _money("charged_cents"),
        _money("billed_ms"),
        _money("pending_ms"),
        sa.Column("run_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("open", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_task_charges_account_id", "task_charges", ["account_id"])
    op.create_index("ix_task_charges_resource_group_id", "task_charges", ["resource_group_id"])


def downgrade() -> None:
    op.drop_table("task_charges")
    op.drop_table("resource_groups")
    op.drop_table("billing_ledger")
    op.drop_table("billing_accounts")

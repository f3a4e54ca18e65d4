"""indexes for the run inspector's tenant-wide run lists

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 01:45:00
"""
from alembic import op


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_runs_tenant_seq', 'runs', ['tenant', 'seq'], unique=False)
    op.create_index('ix_runs_tenant_status_seq', 'runs', ['tenant', 'status', 'seq'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_runs_tenant_status_seq', table_name='runs')
    op.drop_index('ix_runs_tenant_seq', table_name='runs')

"""sandbox_sessions: the sandbox host holding each code-interpreter session

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 23:00:00.000000
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

S = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table('sandbox_sessions',
    sa.Column('tenant', S(length=64), nullable=False),
    sa.Column('session', S(length=64), nullable=False),
    sa.Column('host', S(length=200), nullable=False),
    sa.Column('instance', S(length=32), nullable=False),
    sa.Column('updated_at', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('tenant', 'session'),
    )


def downgrade() -> None:
    op.drop_table('sandbox_sessions')

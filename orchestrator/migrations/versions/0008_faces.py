"""the face that owns a run, its face-only fields, function calls that end a run, a cap on
built-in tool calls, and threads private to a response chain

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 20:30:00.000000
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('face', sqlmodel.sql.sqltypes.AutoString(length=16),
                                      nullable=False, server_default='assistants'))
        batch_op.add_column(sa.Column('face_data', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('end_on_function_calls', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('max_tool_calls', sa.Integer(), nullable=True))
    with op.batch_alter_table('threads', schema=None) as batch_op:
        batch_op.add_column(sa.Column('private', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('threads', schema=None) as batch_op:
        batch_op.drop_column('private')
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.drop_column('max_tool_calls')
        batch_op.drop_column('end_on_function_calls')
        batch_op.drop_column('face_data')
        batch_op.drop_column('face')

"""containers and the files in them (Responses' code interpreter)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 10:00:00.000000
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

SEQ = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
S = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table('containers',
    sa.Column('seq', SEQ, nullable=False),
    sa.Column('id', S(length=64), nullable=False),
    sa.Column('tenant', S(length=64), nullable=False),
    sa.Column('created_at', sa.Integer(), nullable=False),
    sa.Column('name', S(length=256), nullable=False),
    sa.Column('expires_minutes', sa.Integer(), nullable=False),
    sa.Column('last_active_at', sa.Integer(), nullable=False),
    sa.Column('memory_limit', S(length=8), nullable=False),
    sa.PrimaryKeyConstraint('seq'),
    )
    op.create_index('ix_containers_id', 'containers', ['id'], unique=True)
    op.create_index('ix_containers_tenant_seq', 'containers', ['tenant', 'seq'])

    op.create_table('container_files',
    sa.Column('seq', SEQ, nullable=False),
    sa.Column('id', S(length=64), nullable=False),
    sa.Column('tenant', S(length=64), nullable=False),
    sa.Column('created_at', sa.Integer(), nullable=False),
    sa.Column('container_id', S(length=64), nullable=False),
    sa.Column('file_id', S(length=64), nullable=False),
    sa.Column('path', S(length=1024), nullable=False),
    sa.Column('source', S(length=16), nullable=False),
    sa.Column('bytes', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('seq'),
    sa.UniqueConstraint('container_id', 'path', name='ux_container_files_path'),
    )
    op.create_index('ix_container_files_id', 'container_files', ['id'], unique=True)
    op.create_index('ix_container_files_container_seq', 'container_files',
                    ['container_id', 'seq'])


def downgrade() -> None:
    op.drop_index('ix_container_files_container_seq', table_name='container_files')
    op.drop_index('ix_container_files_id', table_name='container_files')
    op.drop_table('container_files')
    op.drop_index('ix_containers_tenant_seq', table_name='containers')
    op.drop_index('ix_containers_id', table_name='containers')
    op.drop_table('containers')

"""vector stores, their files and batches, indexed chunks (FTS5 / tsvector)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 01:20:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

SEQ = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
S = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table('vector_stores',
    sa.Column('seq', SEQ, nullable=False),
    sa.Column('id', S(length=64), nullable=False),
    sa.Column('tenant', S(length=64), nullable=False),
    sa.Column('created_at', sa.Integer(), nullable=False),
    sa.Column('name', S(length=256), nullable=False),
    sa.Column('internal', sa.Boolean(), nullable=False),
    sa.Column('expires_after', sa.JSON(), nullable=True),
    sa.Column('expires_at', sa.Integer(), nullable=True),
    sa.Column('last_active_at', sa.Integer(), nullable=True),
    sa.Column('metadata', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('seq'),
    )
    op.create_index('ix_vector_stores_id', 'vector_stores', ['id'], unique=True)
    op.create_index('ix_vector_stores_tenant_seq', 'vector_stores',
                    ['tenant', 'internal', 'seq'])

    op.create_table('vector_store_files',
    sa.Column('seq', SEQ, nullable=False),
    sa.Column('id', S(length=64), nullable=False),
    sa.Column('tenant', S(length=64), nullable=False),
    sa.Column('vector_store_id', S(length=64), nullable=False),
    sa.Column('batch_id', S(length=64), nullable=True),
    sa.Column('created_at', sa.Integer(), nullable=False),
    sa.Column('status', S(length=16), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.JSON(), nullable=True),
    sa.Column('usage_bytes', sa.BigInteger(), nullable=False),
    sa.Column('chunking_strategy', sa.JSON(), nullable=False),
    sa.Column('attributes', sa.JSON(), nullable=True),
    sa.Column('updated_at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('seq'),
    sa.UniqueConstraint('vector_store_id', 'id', name='ux_vector_store_files_store_file'),
    )
    op.create_index('ix_vector_store_files_id', 'vector_store_files', ['id'])
    op.create_index('ix_vector_store_files_store_seq', 'vector_store_files',
                    ['vector_store_id', 'seq'])
    op.create_index('ix_vector_store_files_batch', 'vector_store_files', ['batch_id', 'seq'])
    op.create_index('ix_vector_store_files_status', 'vector_store_files',
                    ['status', 'updated_at'])

    op.create_table('vector_store_file_batches',
    sa.Column('seq', SEQ, nullable=False),
    sa.Column('id', S(length=64), nullable=False),
    sa.Column('tenant', S(length=64), nullable=False),
    sa.Column('created_at', sa.Integer(), nullable=False),
    sa.Column('vector_store_id', S(length=64), nullable=False),
    sa.Column('cancelled', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('seq'),
    )
    op.create_index('ix_vector_store_file_batches_id', 'vector_store_file_batches', ['id'],
                    unique=True)
    op.create_index('ix_vector_store_file_batches_vector_store_id',
                    'vector_store_file_batches', ['vector_store_id'])

    op.create_table('retrieval_chunks',
    sa.Column('seq', SEQ, nullable=False),
    sa.Column('tenant', S(length=64), nullable=False),
    sa.Column('vector_store_id', S(length=64), nullable=False),
    sa.Column('file_id', S(length=64), nullable=False),
    sa.Column('ordinal', sa.Integer(), nullable=False),
    sa.Column('tokens', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('embedding', sa.LargeBinary(), nullable=True),
    sa.PrimaryKeyConstraint('seq'),
    )
    op.create_index('ix_retrieval_chunks_store_file', 'retrieval_chunks',
                    ['vector_store_id', 'file_id', 'ordinal'])

    dialect = op.get_bind().dialect.name
    if dialect == 'sqlite':
        # External-content FTS5 index over retrieval_chunks.text, kept in step by triggers.
        op.execute("CREATE VIRTUAL TABLE retrieval_chunks_fts USING fts5("
                   "text, content='retrieval_chunks', content_rowid='seq',"
                   " tokenize='porter unicode61')")
        op.execute("CREATE TRIGGER retrieval_chunks_ai AFTER INSERT ON retrieval_chunks BEGIN"
                   " INSERT INTO retrieval_chunks_fts(rowid, text) VALUES (new.seq, new.text);"
                   " END")
        op.execute("CREATE TRIGGER retrieval_chunks_ad AFTER DELETE ON retrieval_chunks BEGIN"
                   " INSERT INTO retrieval_chunks_fts(retrieval_chunks_fts, rowid, text)"
                   " VALUES ('delete', old.seq, old.text); END")
    elif dialect == 'postgresql':
        op.execute("ALTER TABLE retrieval_chunks ADD COLUMN tsv tsvector GENERATED ALWAYS AS"
                   " (to_tsvector('english', text)) STORED")
        op.execute("CREATE INDEX ix_retrieval_chunks_tsv ON retrieval_chunks USING GIN (tsv)")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == 'sqlite':
        op.execute("DROP TRIGGER IF EXISTS retrieval_chunks_ad")
        op.execute("DROP TRIGGER IF EXISTS retrieval_chunks_ai")
        op.execute("DROP TABLE IF EXISTS retrieval_chunks_fts")
    op.drop_table('retrieval_chunks')
    op.drop_table('vector_store_file_batches')
    op.drop_table('vector_store_files')
    op.drop_table('vector_stores')

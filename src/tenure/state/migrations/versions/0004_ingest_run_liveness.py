"""ingest runs: the process that runs them (pid, host), a heartbeat, and the error of a failed run

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('ingest_runs') as batch:
        batch.add_column(sa.Column('pid', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('host', sa.String(length=255), nullable=True))
        batch.add_column(sa.Column('heartbeat_at', sa.String(length=32), nullable=True))
        batch.add_column(sa.Column('error', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('ingest_runs') as batch:
        batch.drop_column('error')
        batch.drop_column('heartbeat_at')
        batch.drop_column('host')
        batch.drop_column('pid')

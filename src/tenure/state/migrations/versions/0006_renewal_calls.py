"""renewal forecast calls (the renewals page's commit/best case/at risk category, audited)

One row per (account, renewal): the renewal is keyed by its date (YYYY-MM-DD) or, for a rolling
term without a date, by the term ("monthly", "quarterly"), so a call made for this year's renewal
does not carry over to next year's. The forecast rolls calls up by category and renewal date.

Revision ID: 0006
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('renewal_calls',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.String(length=100), nullable=False),
    sa.Column('renewal_key', sa.String(length=20), nullable=False),
    sa.Column('renewal_date', sa.Date(), nullable=True),
    sa.Column('category', sa.String(length=20), nullable=True),
    sa.Column('amount_override', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('next_step', sa.Text(), nullable=True),
    sa.Column('set_by', sa.String(length=100), nullable=False),
    sa.Column('set_by_id', sa.Integer(), nullable=True),
    sa.Column('set_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['set_by_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('account_id', 'renewal_key', name='uq_renewal_calls_account_renewal')
    )
    op.create_index('ix_renewal_calls_renewal_date', 'renewal_calls', ['renewal_date'])


def downgrade() -> None:
    op.drop_index('ix_renewal_calls_renewal_date', table_name='renewal_calls')
    op.drop_table('renewal_calls')

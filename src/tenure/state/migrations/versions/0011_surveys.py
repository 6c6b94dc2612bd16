"""surveys: invitations (random id, expiry, reminder, single use), responses (score, comment) and
the public page's rate counters; a branch from 0010

Revision ID: 0011
Revises: 0010
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('voc_invitations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invitation_id', sa.String(length=64), nullable=False),
    sa.Column('dedupe_key', sa.String(length=255), nullable=False),
    sa.Column('program', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('account_id', sa.String(length=100), nullable=False),
    sa.Column('contact_id', sa.String(length=100), nullable=True),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('locale', sa.String(length=35), nullable=True),
    sa.Column('trigger', sa.String(length=120), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('reminded_at', sa.DateTime(), nullable=True),
    sa.Column('answered_at', sa.DateTime(), nullable=True),
    sa.Column('changed_at', sa.DateTime(), nullable=False),
    sa.Column('synced_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('dedupe_key'),
    sa.UniqueConstraint('invitation_id')
    )
    op.create_index(op.f('ix_voc_invitations_account_id'), 'voc_invitations', ['account_id'], unique=False)
    op.create_index('ix_voc_invitations_contact_sent', 'voc_invitations', ['contact_id', 'sent_at'], unique=False)
    op.create_index('ix_voc_invitations_program_status', 'voc_invitations', ['program', 'status'], unique=False)
    op.create_index('ix_voc_invitations_sync', 'voc_invitations', ['synced_at'], unique=False)
    op.create_table('voc_responses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('response_id', sa.String(length=100), nullable=False),
    sa.Column('invitation_id', sa.String(length=64), nullable=True),
    sa.Column('program', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('touchpoint', sa.String(length=100), nullable=True),
    sa.Column('account_id', sa.String(length=100), nullable=False),
    sa.Column('contact_id', sa.String(length=100), nullable=True),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('responded_at', sa.DateTime(), nullable=False),
    sa.Column('commented_at', sa.DateTime(), nullable=True),
    sa.Column('changed_at', sa.DateTime(), nullable=False),
    sa.Column('synced_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('invitation_id'),
    sa.UniqueConstraint('response_id')
    )
    op.create_index(op.f('ix_voc_responses_account_id'), 'voc_responses', ['account_id'], unique=False)
    op.create_index('ix_voc_responses_program', 'voc_responses', ['program', 'responded_at'], unique=False)
    op.create_index('ix_voc_responses_sync', 'voc_responses', ['synced_at'], unique=False)
    op.create_table('voc_rate_hits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=120), nullable=False),
    sa.Column('window_start', sa.DateTime(), nullable=False),
    sa.Column('hits', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key', 'window_start', name='uq_voc_rate_hits_key_window')
    )
    op.create_index(op.f('ix_voc_rate_hits_window_start'), 'voc_rate_hits', ['window_start'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_voc_rate_hits_window_start'), table_name='voc_rate_hits')
    op.drop_table('voc_rate_hits')
    op.drop_index('ix_voc_responses_sync', table_name='voc_responses')
    op.drop_index('ix_voc_responses_program', table_name='voc_responses')
    op.drop_index(op.f('ix_voc_responses_account_id'), table_name='voc_responses')
    op.drop_table('voc_responses')
    op.drop_index('ix_voc_invitations_sync', table_name='voc_invitations')
    op.drop_index('ix_voc_invitations_program_status', table_name='voc_invitations')
    op.drop_index('ix_voc_invitations_contact_sent', table_name='voc_invitations')
    op.drop_index(op.f('ix_voc_invitations_account_id'), table_name='voc_invitations')
    op.drop_table('voc_invitations')

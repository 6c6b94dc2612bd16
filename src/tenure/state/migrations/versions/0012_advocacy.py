"""advocacy: the reference fatigue ledger and reference requests, case studies and their stage
moves, referrals, advisory-board members (tenure.voc.advocacy)

Revision ID: 0012
Revises: 0010
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('reference_ledger',
    sa.Column('contact_id', sa.String(length=100), nullable=False),
    sa.Column('account_id', sa.String(length=100), nullable=False),
    sa.Column('asks', sa.Integer(), nullable=False),
    sa.Column('last_asked_at', sa.DateTime(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('contact_id')
    )
    op.create_table('reference_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.String(length=100), nullable=False),
    sa.Column('account_id', sa.String(length=100), nullable=False),
    sa.Column('team', sa.String(length=100), nullable=False),
    sa.Column('requested_by', sa.String(length=100), nullable=False),
    sa.Column('opportunity_id', sa.String(length=100), nullable=True),
    sa.Column('prospect', sa.String(length=255), nullable=True),
    sa.Column('purpose', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('requested_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_reference_requests_contact_at', 'reference_requests', ['contact_id', 'requested_at'],
                    unique=False)
    op.create_index('ix_reference_requests_account', 'reference_requests', ['account_id'], unique=False)
    op.create_table('case_studies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.String(length=100), nullable=False),
    sa.Column('contact_id', sa.String(length=100), nullable=True),
    sa.Column('title', sa.String(length=255), nullable=False),
    sa.Column('stage', sa.String(length=50), nullable=False),
    sa.Column('owner', sa.String(length=100), nullable=True),
    sa.Column('url', sa.String(length=500), nullable=True),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('stage_at', sa.DateTime(), nullable=False),
    sa.Column('published_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_case_studies_account', 'case_studies', ['account_id'], unique=False)
    op.create_table('case_study_moves',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_study_id', sa.Integer(), nullable=False),
    sa.Column('from_stage', sa.String(length=50), nullable=True),
    sa.Column('to_stage', sa.String(length=50), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['case_study_id'], ['case_studies.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_case_study_moves_case_study_id'), 'case_study_moves', ['case_study_id'], unique=False)
    op.create_table('referrals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.String(length=100), nullable=False),
    sa.Column('contact_id', sa.String(length=100), nullable=True),
    sa.Column('company', sa.String(length=255), nullable=False),
    sa.Column('company_key', sa.String(length=255), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('referred_account_id', sa.String(length=100), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('account_id', 'company_key', name='uq_referrals_account_company')
    )
    op.create_index(op.f('ix_referrals_account_id'), 'referrals', ['account_id'], unique=False)
    op.create_table('advisory_members',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('board', sa.String(length=100), nullable=False),
    sa.Column('contact_id', sa.String(length=100), nullable=False),
    sa.Column('account_id', sa.String(length=100), nullable=False),
    sa.Column('term_start', sa.Date(), nullable=False),
    sa.Column('term_end', sa.Date(), nullable=True),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('board', 'contact_id', 'term_start', name='uq_advisory_members_term')
    )
    op.create_index(op.f('ix_advisory_members_account_id'), 'advisory_members', ['account_id'], unique=False)
    op.create_index(op.f('ix_advisory_members_contact_id'), 'advisory_members', ['contact_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_advisory_members_contact_id'), table_name='advisory_members')
    op.drop_index(op.f('ix_advisory_members_account_id'), table_name='advisory_members')
    op.drop_table('advisory_members')
    op.drop_index(op.f('ix_referrals_account_id'), table_name='referrals')
    op.drop_table('referrals')
    op.drop_index(op.f('ix_case_study_moves_case_study_id'), table_name='case_study_moves')
    op.drop_table('case_study_moves')
    op.drop_index('ix_case_studies_account', table_name='case_studies')
    op.drop_table('case_studies')
    op.drop_index('ix_reference_requests_account', table_name='reference_requests')
    op.drop_index('ix_reference_requests_contact_at', table_name='reference_requests')
    op.drop_table('reference_requests')
    op.drop_table('reference_ledger')

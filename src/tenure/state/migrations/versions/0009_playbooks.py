"""playbooks: versions, runs, enrolments, trigger occurrences, holdouts

Revision ID: 0009
Revises: 0008
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('playbook_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('spec', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name', 'version'),
    sa.UniqueConstraint('name', 'content_hash')
    )
    op.create_table('playbook_state',
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('status_changed_at', sa.DateTime(), nullable=False),
    sa.Column('last_run_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('playbook_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('trigger', sa.String(length=30), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('playbook_occurrences',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dedupe_key', sa.String(length=255), nullable=False),
    sa.Column('playbook', sa.String(length=100), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('trigger_id', sa.String(length=100), nullable=False),
    sa.Column('trigger_type', sa.String(length=50), nullable=False),
    sa.Column('account_id', sa.String(length=100), nullable=False),
    sa.Column('contact_id', sa.String(length=100), nullable=True),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('occurrence_key', sa.String(length=200), nullable=False),
    sa.Column('occurred_on', sa.Date(), nullable=True),
    sa.Column('value', sa.Float(), nullable=True),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.Column('clears', sa.Boolean(), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('cleared_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['run_id'], ['playbook_runs.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('dedupe_key')
    )
    op.create_index('ix_playbook_occurrences_open', 'playbook_occurrences', ['playbook', 'trigger_id', 'cleared_at'],
                    unique=False)
    op.create_index(op.f('ix_playbook_occurrences_account_id'), 'playbook_occurrences', ['account_id'], unique=False)
    op.create_table('playbook_enrolments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('playbook', sa.String(length=100), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.String(length=100), nullable=False),
    sa.Column('contact_id', sa.String(length=100), nullable=True),
    sa.Column('occurrence_id', sa.Integer(), nullable=True),
    sa.Column('arm', sa.String(length=20), nullable=False),
    sa.Column('started_by', sa.String(length=100), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('step', sa.String(length=100), nullable=True),
    sa.Column('wait_until', sa.DateTime(), nullable=True),
    sa.Column('wait_started_at', sa.DateTime(), nullable=True),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('started_on', sa.Date(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('exit_reason', sa.String(length=255), nullable=True),
    sa.ForeignKeyConstraint(['occurrence_id'], ['playbook_occurrences.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_playbook_enrolments_live', 'playbook_enrolments', ['playbook', 'status'], unique=False)
    op.create_index(op.f('ix_playbook_enrolments_account_id'), 'playbook_enrolments', ['account_id'], unique=False)
    op.create_table('playbook_step_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enrolment_id', sa.Integer(), nullable=False),
    sa.Column('step', sa.String(length=100), nullable=False),
    sa.Column('action', sa.String(length=50), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=True),
    sa.Column('due_at', sa.DateTime(), nullable=True),
    sa.Column('escalated_at', sa.DateTime(), nullable=True),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['enrolment_id'], ['playbook_enrolments.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('enrolment_id', 'step', 'level')
    )
    op.create_index(op.f('ix_playbook_step_runs_enrolment_id'), 'playbook_step_runs', ['enrolment_id'], unique=False)
    op.create_index(op.f('ix_playbook_step_runs_task_id'), 'playbook_step_runs', ['task_id'], unique=False)
    op.create_table('account_fields',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.String(length=100), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.Column('source', sa.String(length=150), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('account_id', 'name')
    )
    op.create_index(op.f('ix_account_fields_account_id'), 'account_fields', ['account_id'], unique=False)
    op.create_table('survey_enrolments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('program', sa.String(length=100), nullable=False),
    sa.Column('account_id', sa.String(length=100), nullable=False),
    sa.Column('contact_id', sa.String(length=100), nullable=True),
    sa.Column('playbook', sa.String(length=100), nullable=True),
    sa.Column('dedupe_key', sa.String(length=255), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('dedupe_key')
    )
    op.create_index(op.f('ix_survey_enrolments_account_id'), 'survey_enrolments', ['account_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_survey_enrolments_account_id'), table_name='survey_enrolments')
    op.drop_table('survey_enrolments')
    op.drop_index(op.f('ix_account_fields_account_id'), table_name='account_fields')
    op.drop_table('account_fields')
    op.drop_index(op.f('ix_playbook_step_runs_task_id'), table_name='playbook_step_runs')
    op.drop_index(op.f('ix_playbook_step_runs_enrolment_id'), table_name='playbook_step_runs')
    op.drop_table('playbook_step_runs')
    op.drop_index(op.f('ix_playbook_enrolments_account_id'), table_name='playbook_enrolments')
    op.drop_index('ix_playbook_enrolments_live', table_name='playbook_enrolments')
    op.drop_table('playbook_enrolments')
    op.drop_index(op.f('ix_playbook_occurrences_account_id'), table_name='playbook_occurrences')
    op.drop_index('ix_playbook_occurrences_open', table_name='playbook_occurrences')
    op.drop_table('playbook_occurrences')
    op.drop_table('playbook_runs')
    op.drop_table('playbook_state')
    op.drop_table('playbook_versions')

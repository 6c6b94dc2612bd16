"""success plans: plans on accounts beyond onboarding, their objectives, and their tasks with
dependencies (onboarding plans themselves are config, evaluated in the warehouse: no tables)

Revision ID: 0010
Revises: 0009
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('success_plans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.String(length=100), nullable=False),
    sa.Column('title', sa.String(length=255), nullable=False),
    sa.Column('template', sa.String(length=100), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('owner', sa.String(length=100), nullable=True),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_success_plans_account_status', 'success_plans', ['account_id', 'status'], unique=False)
    op.create_table('success_objectives',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=255), nullable=False),
    sa.Column('target_date', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('achieved_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['plan_id'], ['success_plans.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_success_objectives_plan_id'), 'success_objectives', ['plan_id'], unique=False)
    op.create_table('success_plan_tasks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('objective_id', sa.Integer(), nullable=True),
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('step_key', sa.String(length=100), nullable=True),
    sa.Column('depends_on', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['objective_id'], ['success_objectives.id'], ),
    sa.ForeignKeyConstraint(['plan_id'], ['success_plans.id'], ),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('task_id')
    )
    op.create_index(op.f('ix_success_plan_tasks_plan_id'), 'success_plan_tasks', ['plan_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_success_plan_tasks_plan_id'), table_name='success_plan_tasks')
    op.drop_table('success_plan_tasks')
    op.drop_index(op.f('ix_success_objectives_plan_id'), table_name='success_objectives')
    op.drop_table('success_objectives')
    op.drop_index('ix_success_plans_account_status', table_name='success_plans')
    op.drop_table('success_plans')

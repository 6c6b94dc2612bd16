"""audit log: indexes for the login throttle (recent failures per user name and per client address)

Revision ID: 0005
Revises: 0004
"""
from alembic import op


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_audit_log_action_entity_at', 'audit_log', ['action', 'entity_id', 'at'])
    op.create_index('ix_audit_log_action_ip_at', 'audit_log', ['action', 'ip', 'at'])


def downgrade() -> None:
    op.drop_index('ix_audit_log_action_ip_at', table_name='audit_log')
    op.drop_index('ix_audit_log_action_entity_at', table_name='audit_log')

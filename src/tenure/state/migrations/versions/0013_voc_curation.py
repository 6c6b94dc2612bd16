"""voice of the customer, curation: topics analysts define (keyword queries in a hierarchy), their
manual tags and untags on texts, and sentiment corrections (tenure.voc.topics, tenure.voc.corrections)

Revision ID: 0013
Revises: 0010
"""
from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('voc_topics',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('query', sa.Text(), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['parent_id'], ['voc_topics.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_index(op.f('ix_voc_topics_parent_id'), 'voc_topics', ['parent_id'], unique=False)
    op.create_table('voc_topic_tags',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('topic_id', sa.Integer(), nullable=False),
    sa.Column('text_id', sa.String(length=200), nullable=False),
    sa.Column('action', sa.String(length=10), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['topic_id'], ['voc_topics.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('topic_id', 'text_id', name='uq_voc_topic_tags_topic_text')
    )
    op.create_index(op.f('ix_voc_topic_tags_text_id'), 'voc_topic_tags', ['text_id'], unique=False)
    op.create_table('voc_sentiment_corrections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('text_id', sa.String(length=200), nullable=False),
    sa.Column('label', sa.String(length=10), nullable=False),
    sa.Column('score', sa.Float(), nullable=True),
    sa.Column('model_label', sa.String(length=10), nullable=True),
    sa.Column('model_score', sa.Float(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('text_id')
    )


def downgrade() -> None:
    op.drop_table('voc_sentiment_corrections')
    op.drop_index(op.f('ix_voc_topic_tags_text_id'), table_name='voc_topic_tags')
    op.drop_table('voc_topic_tags')
    op.drop_index(op.f('ix_voc_topics_parent_id'), table_name='voc_topics')
    op.drop_table('voc_topics')

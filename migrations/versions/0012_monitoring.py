"""monitoring: the good-practice library (事例集) and the budget calendar (予算編成スケジュール)

Revision ID: 0012_monitoring
Revises: 0011_teamwork
Create Date: 2026-12-02 02:00:00

Two new tables; nothing existing changes.
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0012_monitoring'
down_revision = '0011_teamwork'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'good_practices',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('ward_issue_id', sa.Integer(), sa.ForeignKey('ward_issues.id'), nullable=False, unique=True),
        sa.Column('summary', sa.Text(), nullable=False),
        sa.Column('marked_by_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index('ix_good_practices_created_at', 'good_practices', ['created_at'], unique=False)
    op.create_table(
        'budget_calendars',
        sa.Column('budget_year', sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column('send_by', sa.Date(), nullable=False),
        sa.Column('results_by', sa.Date(), nullable=False),
        sa.Column('decided_on', sa.Date(), nullable=False),
        sa.Column('updated_by_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    )


def downgrade():
    op.drop_table('budget_calendars')
    op.drop_index('ix_good_practices_created_at', table_name='good_practices')
    op.drop_table('good_practices')

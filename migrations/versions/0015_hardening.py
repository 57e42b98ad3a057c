"""hardening: second factors, recovery codes, the security log, login throttles, one-view
reveal grants, and the ward-approved public texts of issues

Revision ID: 0015_hardening
Revises: 0014_keyed_audit
Create Date: 2026-12-02 06:30:00

New tables only.
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0015_hardening'
down_revision = '0014_keyed_audit'
branch_labels = None
depends_on = None


def _timestamp(name, nullable=False):
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade():
    op.create_table(
        'user_mfa',
        sa.Column('user_id', sa.Integer(), sa.ForeignKey('users.id'), primary_key=True),
        sa.Column('secret', sa.String(64), nullable=False),
        _timestamp('confirmed_at', nullable=True),
        sa.Column('last_used_step', sa.BigInteger(), nullable=True),
    )
    op.create_table(
        'recovery_codes',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('user_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=False),
        sa.Column('code_hash', sa.String(256), nullable=False),
        _timestamp('used_at', nullable=True),
        _timestamp('created_at'),
    )
    op.create_index('ix_recovery_codes_user_id', 'recovery_codes', ['user_id'])
    op.create_table(
        'security_events',
        sa.Column('id', sa.Integer(), primary_key=True),
        _timestamp('created_at'),
        sa.Column('kind', sa.String(32), nullable=False),
        sa.Column('user_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=True),
        sa.Column('login', sa.String(64), nullable=False),
        sa.Column('ip', sa.String(45), nullable=False),
        sa.Column('path', sa.String(200), nullable=False),
        sa.Column('detail', sa.JSON(), nullable=False),
    )
    op.create_index('ix_security_events_created_at', 'security_events', ['created_at'])
    op.create_index('ix_security_events_kind_created', 'security_events', ['kind', 'created_at'])
    op.create_index('ix_security_events_user_created', 'security_events', ['user_id', 'created_at'])
    op.create_index('ix_security_events_ip_created', 'security_events', ['ip', 'created_at'])
    op.create_table(
        'login_throttles',
        sa.Column('key', sa.String(160), primary_key=True),
        sa.Column('failures', sa.Integer(), nullable=False),
        _timestamp('next_attempt_at', nullable=True),
        _timestamp('updated_at'),
    )
    op.create_index('ix_login_throttles_updated_at', 'login_throttles', ['updated_at'])
    op.create_table(
        'personal_data_grants',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('token_hash', sa.String(64), nullable=False, unique=True),
        sa.Column('user_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=False),
        sa.Column('request_id', sa.Integer(), sa.ForeignKey('requests.id'), nullable=False),
        _timestamp('created_at'),
        _timestamp('used_at', nullable=True),
    )
    op.create_index('ix_personal_data_grants_user_id', 'personal_data_grants', ['user_id'])
    op.create_index('ix_personal_data_grants_request_id', 'personal_data_grants', ['request_id'])
    op.create_table(
        'issue_publications',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('ward_issue_id', sa.Integer(), sa.ForeignKey('ward_issues.id'), nullable=False, unique=True),
        sa.Column('title', sa.String(200), nullable=False),
        sa.Column('summary', sa.Text(), nullable=False),
        sa.Column('decision_text', sa.Text(), nullable=False),
        sa.Column('budget_text', sa.Text(), nullable=False),
        sa.Column('outcome', sa.Text(), nullable=False),
        sa.Column('progress_text', sa.Text(), nullable=False),
        sa.Column('written_by_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=False),
        _timestamp('updated_at'),
        sa.Column('approved_by_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=True),
        _timestamp('approved_at', nullable=True),
    )
    op.create_index('ix_issue_publications_approved_at', 'issue_publications', ['approved_at'])


def downgrade():
    op.drop_table('issue_publications')
    op.drop_table('personal_data_grants')
    op.drop_table('login_throttles')
    op.drop_table('security_events')
    op.drop_table('recovery_codes')
    op.drop_table('user_mfa')

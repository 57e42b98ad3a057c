"""teamwork: corrections, hand-over, two pairs of eyes, persons in charge, 照会, 意見, comments, attachments

Revision ID: 0011_teamwork
Revises: 0010_list_indexes
Create Date: 2026-12-02 01:00:00

New columns are nullable or carry a server default, so existing rows need no backfill. On
SQLite, ``batch_alter_table`` rebuilds ``requests``; the search triggers of 0009 are dropped
and created again around it (a table rebuild drops them).
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0011_teamwork'
down_revision = '0010_list_indexes'
branch_labels = None
depends_on = None

def _subject():
    """The two ids of a row that belongs to a request or to a ward issue."""
    return [
        sa.Column('service_request_id', sa.Integer(), sa.ForeignKey('requests.id'), nullable=True),
        sa.Column('ward_issue_id', sa.Integer(), sa.ForeignKey('ward_issues.id'), nullable=True),
    ]


_ONE_SUBJECT = "(service_request_id IS NULL) <> (ward_issue_id IS NULL)"


def _timestamp(name, nullable=False):
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _sqlite_triggers(table):
    """The search triggers of 0009 for ``table`` (migrations import no app code, nor each other)."""
    fts = f"{table}_fts"
    return [
        f"DROP TRIGGER IF EXISTS {fts}_ai",
        f"DROP TRIGGER IF EXISTS {fts}_ad",
        f"DROP TRIGGER IF EXISTS {fts}_au",
        f"CREATE TRIGGER {fts}_ai AFTER INSERT ON {table} BEGIN "
        f"INSERT INTO {fts}(rowid, search_text) VALUES (new.id, new.search_text); END",
        f"CREATE TRIGGER {fts}_ad AFTER DELETE ON {table} BEGIN "
        f"INSERT INTO {fts}({fts}, rowid, search_text) VALUES ('delete', old.id, old.search_text); END",
        f"CREATE TRIGGER {fts}_au AFTER UPDATE OF search_text ON {table} BEGIN "
        f"INSERT INTO {fts}({fts}, rowid, search_text) VALUES ('delete', old.id, old.search_text); "
        f"INSERT INTO {fts}(rowid, search_text) VALUES (new.id, new.search_text); END",
    ]


def _restore_search_triggers():
    if op.get_bind().dialect.name == 'sqlite':
        for table in ('requests', 'ward_issues'):
            for statement in _sqlite_triggers(table):
                op.execute(statement)


def upgrade():
    with op.batch_alter_table('requests') as batch_op:
        batch_op.add_column(sa.Column('handover_ward_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_requests_handover_ward_id_wards', 'wards', ['handover_ward_id'], ['id'])
        batch_op.create_index('ix_requests_handover_ward_id', ['handover_ward_id'], unique=False)
    with op.batch_alter_table('ward_issues') as batch_op:
        batch_op.add_column(sa.Column('ward_owner_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('bureau_owner_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_ward_issues_ward_owner_id_users', 'users', ['ward_owner_id'], ['id'])
        batch_op.create_foreign_key('fk_ward_issues_bureau_owner_id_users', 'users', ['bureau_owner_id'], ['id'])
        batch_op.create_index('ix_ward_issues_ward_owner_id', ['ward_owner_id'], unique=False)
        batch_op.create_index('ix_ward_issues_bureau_owner_id', ['bureau_owner_id'], unique=False)
    _restore_search_triggers()
    with op.batch_alter_table('budget_lines') as batch_op:
        batch_op.add_column(_timestamp('cancelled_at', nullable=True))
        batch_op.add_column(sa.Column('cancelled_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('cancel_reason', sa.Text(), server_default='', nullable=False))
        batch_op.create_foreign_key('fk_budget_lines_cancelled_by_id_users', 'users', ['cancelled_by_id'], ['id'])
        batch_op.create_index('ix_budget_lines_cancelled_at', ['cancelled_at'], unique=False)

    op.create_table(
        'city_settings',
        sa.Column('key', sa.String(length=64), primary_key=True),
        sa.Column('value', sa.String(length=200), nullable=False),
        _timestamp('updated_at'),
    )
    op.create_table(
        'comments',
        sa.Column('id', sa.Integer(), primary_key=True),
        *_subject(),
        sa.Column('author_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        _timestamp('created_at'),
        sa.CheckConstraint(_ONE_SUBJECT, name='ck_comments_one_subject'),
    )
    op.create_table(
        'attachments',
        sa.Column('id', sa.Integer(), primary_key=True),
        *_subject(),
        sa.Column('stored_name', sa.String(length=80), nullable=False, unique=True),
        sa.Column('original_name', sa.String(length=200), nullable=False),
        sa.Column('content_type', sa.String(length=100), nullable=False),
        sa.Column('size_bytes', sa.Integer(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('uploaded_by_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=False),
        _timestamp('created_at'),
        sa.CheckConstraint(_ONE_SUBJECT, name='ck_attachments_one_subject'),
    )
    op.create_table(
        'issue_opinions',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('ward_issue_id', sa.Integer(), sa.ForeignKey('ward_issues.id'), nullable=False),
        sa.Column('bureau_id', sa.Integer(), sa.ForeignKey('bureaus.id'), nullable=False),
        sa.Column('author_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        _timestamp('created_at'),
    )
    op.create_table(
        'issue_inquiries',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('ward_issue_id', sa.Integer(), sa.ForeignKey('ward_issues.id'), nullable=False),
        sa.Column('asked_by_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=False),
        sa.Column('question', sa.Text(), nullable=False),
        _timestamp('asked_at'),
        sa.Column('answered_by_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=True),
        sa.Column('answer', sa.Text(), server_default='', nullable=False),
        _timestamp('answered_at', nullable=True),
    )
    for table, columns in INDEXES.items():
        for column in columns:
            op.create_index(f'ix_{table}_{column}', table, [column], unique=False)


INDEXES = {
    'comments': ['service_request_id', 'ward_issue_id', 'author_id'],
    'attachments': ['service_request_id', 'ward_issue_id'],
    'issue_opinions': ['ward_issue_id', 'bureau_id'],
    'issue_inquiries': ['ward_issue_id'],
}


def downgrade():
    for table in ('issue_inquiries', 'issue_opinions', 'attachments', 'comments', 'city_settings'):
        op.drop_table(table)
    with op.batch_alter_table('budget_lines') as batch_op:
        batch_op.drop_index('ix_budget_lines_cancelled_at')
        batch_op.drop_constraint('fk_budget_lines_cancelled_by_id_users', type_='foreignkey')
        for column in ('cancel_reason', 'cancelled_by_id', 'cancelled_at'):
            batch_op.drop_column(column)
    with op.batch_alter_table('ward_issues') as batch_op:
        batch_op.drop_index('ix_ward_issues_bureau_owner_id')
        batch_op.drop_index('ix_ward_issues_ward_owner_id')
        batch_op.drop_constraint('fk_ward_issues_bureau_owner_id_users', type_='foreignkey')
        batch_op.drop_constraint('fk_ward_issues_ward_owner_id_users', type_='foreignkey')
        batch_op.drop_column('bureau_owner_id')
        batch_op.drop_column('ward_owner_id')
    with op.batch_alter_table('requests') as batch_op:
        batch_op.drop_index('ix_requests_handover_ward_id')
        batch_op.drop_constraint('fk_requests_handover_ward_id_wards', type_='foreignkey')
        batch_op.drop_column('handover_ward_id')
    _restore_search_triggers()

"""field work and indicators: activities (活動記録), their kinds and organisations, indicators (指標)

Revision ID: 0013_field_work
Revises: 0012_monitoring
Create Date: 2026-12-02 05:00:00

New tables, and three nullable columns: the activity a request was heard in, and an activity
or indicator as the subject of a history event. On SQLite, ``batch_alter_table`` rebuilds
``requests``; the search triggers of 0009 are dropped and created again around it.
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0013_field_work'
down_revision = '0012_monitoring'
branch_labels = None
depends_on = None

_ORGANISATION_KIND = sa.Enum(
    'school_district_council', 'neighbourhood_association', 'other',
    name='organisationkind', native_enum=False, length=32,
)
_INDICATOR_KIND = sa.Enum('computed', 'entered', name='indicatorkind', native_enum=False, length=32)


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
        for statement in _sqlite_triggers('requests'):
            op.execute(statement)


def _create_activity_tables():
    op.create_table(
        'activity_kinds',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('name', sa.String(80), nullable=False, unique=True),
        sa.Column('group', sa.String(40), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('sort_order', sa.Integer(), nullable=False),
    )
    op.create_table(
        'community_organisations',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('center_id', sa.Integer(), sa.ForeignKey('centers.id'), nullable=False),
        sa.Column('name', sa.String(120), nullable=False),
        sa.Column('kind', _ORGANISATION_KIND, nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('sort_order', sa.Integer(), nullable=False),
        sa.UniqueConstraint('center_id', 'name'),
    )
    op.create_index('ix_community_organisations_center_id', 'community_organisations', ['center_id'])
    op.create_table(
        'activities',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('fiscal_year', sa.Integer(), nullable=False),
        sa.Column('held_on', sa.Date(), nullable=False),
        sa.Column('starts_at', sa.Time(), nullable=True),
        sa.Column('ends_at', sa.Time(), nullable=True),
        sa.Column('kind_id', sa.Integer(), sa.ForeignKey('activity_kinds.id'), nullable=False),
        sa.Column('organisation_id', sa.Integer(), sa.ForeignKey('community_organisations.id'), nullable=True),
        sa.Column('organisation_text', sa.String(200), nullable=False),
        sa.Column('place', sa.String(200), nullable=False),
        sa.Column('attendees', sa.Integer(), nullable=True),
        sa.Column('summary', sa.Text(), nullable=False),
        sa.Column('center_id', sa.Integer(), sa.ForeignKey('centers.id'), nullable=False),
        sa.Column('ward_id', sa.Integer(), sa.ForeignKey('wards.id'), nullable=False),
        sa.Column('logged_by_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=False),
        sa.Column('client_uuid', sa.String(36), nullable=True, unique=True),
        sa.Column('import_batch_id', sa.Integer(), sa.ForeignKey('import_batches.id'), nullable=True),
        _timestamp('created_at'),
        _timestamp('updated_at'),
        sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    )
    for name, columns in (
        ('ix_activities_center_held_id', ['center_id', 'held_on', 'id']),
        ('ix_activities_ward_held_id', ['ward_id', 'held_on', 'id']),
        ('ix_activities_held_id', ['held_on', 'id']),
        ('ix_activities_ward_updated_id', ['ward_id', 'updated_at', 'id']),
        ('ix_activities_updated_id', ['updated_at', 'id']),
        ('ix_activities_ward_fiscal_year', ['ward_id', 'fiscal_year']),
        ('ix_activities_center_fiscal_year', ['center_id', 'fiscal_year']),
        ('ix_activities_fiscal_year', ['fiscal_year']),
        ('ix_activities_kind_id', ['kind_id']),
        ('ix_activities_organisation_id', ['organisation_id']),
        ('ix_activities_center_id', ['center_id']),
        ('ix_activities_ward_id', ['ward_id']),
        ('ix_activities_logged_by_id', ['logged_by_id']),
        ('ix_activities_import_batch_id', ['import_batch_id']),
    ):
        op.create_index(name, 'activities', columns)
    op.create_table(
        'activity_liaisons',
        sa.Column('activity_id', sa.Integer(), sa.ForeignKey('activities.id'), primary_key=True),
        sa.Column('user_id', sa.Integer(), sa.ForeignKey('users.id'), primary_key=True),
    )
    op.create_index('ix_activity_liaisons_user_id', 'activity_liaisons', ['user_id'])


def _create_indicator_tables():
    op.create_table(
        'indicators',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('code', sa.String(40), nullable=False, unique=True),
        sa.Column('name', sa.String(120), nullable=False),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('kind', _INDICATOR_KIND, nullable=False),
        sa.Column('metric', sa.String(40), nullable=True),
        sa.Column('unit', sa.String(20), nullable=False),
        sa.Column('higher_is_better', sa.Boolean(), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('sort_order', sa.Integer(), nullable=False),
    )
    for table, extra in (
        ('indicator_targets', [
            sa.Column('target', sa.Numeric(14, 2), nullable=False),
            sa.Column('updated_by_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=True),
        ]),
        ('indicator_values', [
            sa.Column('value', sa.Numeric(14, 2), nullable=False),
            sa.Column('source', sa.String(200), nullable=False),
            sa.Column('measured_on', sa.Date(), nullable=False),
            sa.Column('entered_by_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=True),
        ]),
    ):
        op.create_table(
            table,
            sa.Column('id', sa.Integer(), primary_key=True),
            sa.Column('indicator_id', sa.Integer(), sa.ForeignKey('indicators.id'), nullable=False),
            sa.Column('ward_id', sa.Integer(), sa.ForeignKey('wards.id'), nullable=True),
            sa.Column('fiscal_year', sa.Integer(), nullable=False),
            *extra,
            _timestamp('updated_at'),
            sa.UniqueConstraint('indicator_id', 'ward_id', 'fiscal_year'),
        )
        for column in ('indicator_id', 'ward_id', 'fiscal_year'):
            op.create_index(f'ix_{table}_{column}', table, [column])


def upgrade():
    _create_activity_tables()
    _create_indicator_tables()
    with op.batch_alter_table('requests') as batch_op:
        batch_op.add_column(sa.Column('activity_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_requests_activity_id_activities', 'activities', ['activity_id'], ['id'])
        batch_op.create_index('ix_requests_activity_id', ['activity_id'], unique=False)
    _restore_search_triggers()
    with op.batch_alter_table('history_events') as batch_op:
        batch_op.add_column(sa.Column('activity_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('indicator_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_history_events_activity_id_activities', 'activities', ['activity_id'], ['id'])
        batch_op.create_foreign_key('fk_history_events_indicator_id_indicators', 'indicators', ['indicator_id'], ['id'])
        batch_op.create_index('ix_history_events_activity_id', ['activity_id'], unique=False)
        batch_op.create_index('ix_history_events_indicator_id', ['indicator_id'], unique=False)


def downgrade():
    with op.batch_alter_table('history_events') as batch_op:
        batch_op.drop_index('ix_history_events_indicator_id')
        batch_op.drop_index('ix_history_events_activity_id')
        batch_op.drop_constraint('fk_history_events_indicator_id_indicators', type_='foreignkey')
        batch_op.drop_constraint('fk_history_events_activity_id_activities', type_='foreignkey')
        batch_op.drop_column('indicator_id')
        batch_op.drop_column('activity_id')
    with op.batch_alter_table('requests') as batch_op:
        batch_op.drop_index('ix_requests_activity_id')
        batch_op.drop_constraint('fk_requests_activity_id_activities', type_='foreignkey')
        batch_op.drop_column('activity_id')
    _restore_search_triggers()
    for table in ('indicator_values', 'indicator_targets'):
        for column in ('fiscal_year', 'ward_id', 'indicator_id'):
            op.drop_index(f'ix_{table}_{column}', table_name=table)
        op.drop_table(table)
    op.drop_table('indicators')
    op.drop_index('ix_activity_liaisons_user_id', table_name='activity_liaisons')
    op.drop_table('activity_liaisons')
    op.drop_table('activities')
    op.drop_index('ix_community_organisations_center_id', table_name='community_organisations')
    op.drop_table('community_organisations')
    op.drop_table('activity_kinds')

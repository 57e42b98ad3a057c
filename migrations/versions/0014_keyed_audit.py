"""keyed audit chain: each history event names the HMAC key its hash was made with

Revision ID: 0014_keyed_audit
Revises: 0013_field_work
Create Date: 2026-12-02 06:00:00

One nullable column; events written before it stay unkeyed (NULL) and verify as before.
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0014_keyed_audit'
down_revision = '0013_field_work'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('history_events') as batch_op:
        batch_op.add_column(sa.Column('hash_key_id', sa.String(16), nullable=True))


def downgrade():
    with op.batch_alter_table('history_events') as batch_op:
        batch_op.drop_column('hash_key_id')

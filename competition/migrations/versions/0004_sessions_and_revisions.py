"""sessions by digest, login attempts, revisions: log-in sessions keyed by the digest of their cookie (the old
sessions end: everyone logs in again), log-in attempts counted in a table of their own, and the revisions
that tell cached rules when to be read again (event.revision, marking_scheme.rules_revision)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 19:25:30.317583
"""

from __future__ import annotations

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('login_attempt',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), sa.Identity(always=False, start=1, increment=1), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('window_ends', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_attempt')),
    sa.UniqueConstraint('key', name=op.f('uq_login_attempt_key'))
    )
    with op.batch_alter_table('login_attempt', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_attempt_window_ends'), ['window_ends'], unique=False)

    op.create_table('login_session',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), sa.Identity(always=False, start=1, increment=1), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('data', sa.Text(), nullable=False),
    sa.Column('expires_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_login_session_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_session')),
    sa.UniqueConstraint('digest', name=op.f('uq_login_session_digest'))
    )
    with op.batch_alter_table('login_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_session_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_login_session_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('browser_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_browser_session_expires_at'))
        batch_op.drop_index(batch_op.f('ix_browser_session_session_id_unique'))

    op.drop_table('browser_session')
    with op.batch_alter_table('key_value', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_key_value_expires_at'))
        batch_op.drop_index(batch_op.f('ix_key_value_key_namespace_unique'))

    op.drop_table('key_value')
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revision', sa.Integer(), server_default='0', nullable=False))

    with op.batch_alter_table('marking_scheme', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rules_revision', sa.Integer(), server_default='0', nullable=False))



def downgrade() -> None:
    with op.batch_alter_table('marking_scheme', schema=None) as batch_op:
        batch_op.drop_column('rules_revision')

    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.drop_column('revision')

    op.create_table('key_value',
    sa.Column('id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('namespace', sa.String(length=255), nullable=False),
    sa.Column('value', sa.LargeBinary(), nullable=False),
    sa.Column('expires_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('sa_orm_sentinel', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_key_value')),
    sa.UniqueConstraint('key', 'namespace', name=op.f('uq_key_value_key_namespace'))
    )
    with op.batch_alter_table('key_value', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_key_value_key_namespace_unique'), ['key', 'namespace'], unique=True)
        batch_op.create_index(batch_op.f('ix_key_value_expires_at'), ['expires_at'], unique=False)

    op.create_table('browser_session',
    sa.Column('id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('session_id', sa.String(length=255), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('expires_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('sa_orm_sentinel', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_browser_session')),
    sa.UniqueConstraint('session_id', name=op.f('uq_browser_session_session_id'))
    )
    with op.batch_alter_table('browser_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_browser_session_session_id_unique'), ['session_id'], unique=True)
        batch_op.create_index(batch_op.f('ix_browser_session_expires_at'), ['expires_at'], unique=False)

    with op.batch_alter_table('login_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_session_user_id'))
        batch_op.drop_index(batch_op.f('ix_login_session_expires_at'))

    op.drop_table('login_session')
    with op.batch_alter_table('login_attempt', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_attempt_window_ends'))

    op.drop_table('login_attempt')

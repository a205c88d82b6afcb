"""ceremony reveal: how far the medal ceremony has revealed each skill's final

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06 04:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'ceremony_reveal',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), sa.Identity(always=False, start=1, increment=1), nullable=False),
        sa.Column('event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('skill_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('stage_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('step', sa.Integer(), nullable=False),
        sa.Column('created_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column('updated_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['event_id'], ['event.id'], name=op.f('fk_ceremony_reveal_event_id_event'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['skill_id'], ['skill.id'], name=op.f('fk_ceremony_reveal_skill_id_skill'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['stage_id'], ['stage.id'], name=op.f('fk_ceremony_reveal_stage_id_stage'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_ceremony_reveal')),
        sa.UniqueConstraint('skill_id', 'stage_id', name=op.f('uq_ceremony_reveal_skill_id')),
    )
    with op.batch_alter_table('ceremony_reveal', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ceremony_reveal_event_id'), ['event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ceremony_reveal_skill_id'), ['skill_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ceremony_reveal_stage_id'), ['stage_id'], unique=False)


def downgrade() -> None:
    op.drop_table('ceremony_reveal')

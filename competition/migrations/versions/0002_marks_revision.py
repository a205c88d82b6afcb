"""marks revision: marking_scheme.revision counts the changes of a stage's marks and forms

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05 13:30:04.626248
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('marking_scheme', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revision', sa.Integer(), server_default='0', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('marking_scheme', schema=None) as batch_op:
        batch_op.drop_column('revision')

"""aspect marks: each aspect's mark for a competitor, kept while the aspect is marked (filled from the marks
recorded so far)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 20:00:38.085242
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('aspect_mark',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), sa.Identity(always=False, start=1, increment=1), nullable=False),
    sa.Column('scheme_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('aspect_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('competitor_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('mark', sa.Numeric(precision=8, scale=2), nullable=False),
    sa.ForeignKeyConstraint(['aspect_id'], ['aspect.id'], name=op.f('fk_aspect_mark_aspect_id_aspect'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['competitor_id'], ['competitor.id'], name=op.f('fk_aspect_mark_competitor_id_competitor'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['scheme_id'], ['marking_scheme.id'], name=op.f('fk_aspect_mark_scheme_id_marking_scheme'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_aspect_mark')),
    sa.UniqueConstraint('aspect_id', 'competitor_id', name=op.f('uq_aspect_mark_aspect_id'))
    )
    with op.batch_alter_table('aspect_mark', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_aspect_mark_competitor_id'), ['competitor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_aspect_mark_scheme_id'), ['scheme_id'], unique=False)
    _fill(op.get_bind())


def _fill(bind: sa.Connection) -> None:
    """The marks of every aspect marked so far, computed by the rule book's functions (`scoring.marks`)."""
    from scoring.marks import AspectRule, judged, measured
    from scoring.rules import Choice

    choices: dict[int, list[Choice]] = defaultdict(list)
    for aspect_id, label, percent in bind.execute(sa.text(
        "SELECT aspect_id, label, deduction_percent FROM choice_option ORDER BY aspect_id, position"
    )):
        choices[aspect_id].append(Choice(label, Decimal(str(percent))))
    schemes = bind.execute(sa.text(
        "SELECT s.id, s.judges, e.judgement_spread FROM marking_scheme s "
        "JOIN skill k ON k.id = s.skill_id JOIN event e ON e.id = k.event_id"
    )).all()
    for scheme_id, judges, spread in schemes:
        aspects = {
            aspect_id: AspectRule(aspect_id, code, "", "", None, kind, Decimal(str(max_mark or 0)),
                                  calculation if kind == "M" else None, possible, tuple(choices.get(aspect_id, ())))
            for aspect_id, code, kind, max_mark, calculation, possible in bind.execute(sa.text(
                "SELECT id, code, kind, max_mark, calculation, possible FROM aspect WHERE scheme_id = :scheme"
            ), {"scheme": scheme_id})
        }
        scores: dict[tuple[int, int], dict[int, int]] = defaultdict(dict)
        for aspect_id, competitor_id, expert_id, score in bind.execute(sa.text(
            "SELECT j.aspect_id, j.competitor_id, j.expert_id, j.score FROM judge_score j "
            "JOIN aspect a ON a.id = j.aspect_id WHERE a.scheme_id = :scheme"
        ), {"scheme": scheme_id}):
            scores[(aspect_id, competitor_id)][expert_id] = score
        rows = []
        for (aspect_id, competitor_id), by_judge in scores.items():
            state = judged(aspects[aspect_id], by_judge, judges, spread if spread is not None else 1)
            if state.mark is not None and state.status == "saved":
                rows.append({"scheme": scheme_id, "aspect": aspect_id, "competitor": competitor_id, "mark": state.mark})
        for aspect_id, competitor_id, value in bind.execute(sa.text(
            "SELECT m.aspect_id, m.competitor_id, m.value FROM measurement m "
            "JOIN aspect a ON a.id = m.aspect_id WHERE a.scheme_id = :scheme"
        ), {"scheme": scheme_id}):
            state = measured(aspects[aspect_id], Decimal(str(value)))
            rows.append({"scheme": scheme_id, "aspect": aspect_id, "competitor": competitor_id, "mark": state.mark})
        if rows:
            bind.execute(sa.text(
                "INSERT INTO aspect_mark (scheme_id, aspect_id, competitor_id, mark) "
                "VALUES (:scheme, :aspect, :competitor, :mark)"
            ), rows)


def downgrade() -> None:
    with op.batch_alter_table('aspect_mark', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_aspect_mark_scheme_id'))
        batch_op.drop_index(batch_op.f('ix_aspect_mark_competitor_id'))

    op.drop_table('aspect_mark')

"""The live board's own records: how far the medal ceremony has revealed each skill's final."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from competition.db import AuditedBase


class CeremonyReveal(AuditedBase):
    """One skill's final at the ceremony: 0 nothing shown, 1 bronze, 2 bronze and silver, 3 all medals."""

    __table_args__ = (UniqueConstraint("skill_id", "stage_id"),)

    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    skill_id: Mapped[int] = mapped_column(ForeignKey("skill.id", ondelete="CASCADE"), index=True)
    stage_id: Mapped[int] = mapped_column(ForeignKey("stage.id", ondelete="CASCADE"), index=True)
    step: Mapped[int] = mapped_column(Integer, default=0)

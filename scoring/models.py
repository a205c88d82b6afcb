"""Scoring's records: marking schemes (criteria, sub-criteria, aspects), marks, forms and publications."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import Boolean, ForeignKey, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from competition.db import AuditedBase, Base
from competition.models import Competitor, Expert, Skill, Stage, User
from scoring import scheme_data

MARK = Numeric(8, 2)
"""Every mark column: exact decimals with two places."""


class SchemeStatus(StrEnum):
    DRAFT = "draft"
    """Saved with warnings (e.g. does not total 100): readable and editable, not usable for marking."""
    READY = "ready"


class AspectKind(StrEnum):
    MEASUREMENT = "M"
    JUDGEMENT = "J"


class Calculation(StrEnum):
    PASS_FAIL = "pass_fail"  # noqa: S105 - a calculation type, not a password
    DEDUCTION = "deduction"
    NUMBER_COMPLETED = "number_completed"
    CHOICE = "choice"


class MarkingScheme(AuditedBase):
    """The marking scheme of one skill in one stage (100 marks in total)."""

    __table_args__ = (UniqueConstraint("skill_id", "stage_id"),)

    skill_id: Mapped[int] = mapped_column(ForeignKey("skill.id", ondelete="CASCADE"), index=True)
    stage_id: Mapped[int] = mapped_column(ForeignKey("stage.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(300), default="")
    status: Mapped[str] = mapped_column(String(16), default=SchemeStatus.DRAFT.value)
    judges: Mapped[int] = mapped_column(Integer, default=3)
    """How many judges score each judgement aspect (3-5)."""
    source_filename: Mapped[str] = mapped_column(String(300), default="")
    revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Counts the changes of the stage's marks and forms (`scoring.marks.bump_revision`): whatever was
    computed from them at an older revision is stale."""
    rules_revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Counts the changes of the scheme's aspects and marking teams (`scoring.marking.rules_changed`): the
    rules a save checks, kept between transactions, are read again."""

    skill: Mapped[Skill] = relationship()
    stage: Mapped[Stage] = relationship()
    sections: Mapped[list[StandardsSection]] = relationship(
        back_populates="scheme", order_by="StandardsSection.number", cascade="all, delete-orphan"
    )
    criteria: Mapped[list[Criterion]] = relationship(
        back_populates="scheme", order_by="Criterion.position", cascade="all, delete-orphan"
    )


class StandardsSection(Base):
    """A WorldSkills Occupational Standards section with its weighting in percent."""

    __table_args__ = (UniqueConstraint("scheme_id", "number"),)

    scheme_id: Mapped[int] = mapped_column(ForeignKey("marking_scheme.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(scheme_data.NAME_LENGTH))
    weighting: Mapped[Decimal] = mapped_column(MARK)

    scheme: Mapped[MarkingScheme] = relationship(back_populates="sections")


class Criterion(Base):
    """A criterion A, B, C … of a scheme; its mark is the sum of its sub-criteria."""

    __table_args__ = (UniqueConstraint("scheme_id", "code"),)

    scheme_id: Mapped[int] = mapped_column(ForeignKey("marking_scheme.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(scheme_data.CRITERION_CODE_LENGTH))
    name: Mapped[str] = mapped_column(String(scheme_data.NAME_LENGTH))
    mark: Mapped[Decimal] = mapped_column(MARK)
    """The mark the Criteria table gives it (the aspects should add up to this)."""
    position: Mapped[int] = mapped_column(Integer)

    scheme: Mapped[MarkingScheme] = relationship(back_populates="criteria")
    sub_criteria: Mapped[list[SubCriterion]] = relationship(
        back_populates="criterion", order_by="SubCriterion.position", cascade="all, delete-orphan"
    )


class SubCriterion(Base):
    """A sub-criterion A1, A2 …: one marking form per competitor, marked on a day by a team."""

    __table_args__ = (UniqueConstraint("scheme_id", "code"),)

    scheme_id: Mapped[int] = mapped_column(ForeignKey("marking_scheme.id", ondelete="CASCADE"), index=True)
    criterion_id: Mapped[int] = mapped_column(ForeignKey("criterion.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(scheme_data.SUB_CRITERION_CODE_LENGTH))
    name: Mapped[str] = mapped_column(String(scheme_data.SUB_CRITERION_NAME_LENGTH))
    day: Mapped[str | None] = mapped_column(String(scheme_data.DAY_LENGTH))
    position: Mapped[int] = mapped_column(Integer)

    criterion: Mapped[Criterion] = relationship(back_populates="sub_criteria")
    aspects: Mapped[list[Aspect]] = relationship(
        back_populates="sub_criterion", order_by="Aspect.position", cascade="all, delete-orphan"
    )
    team: Mapped[list[MarkingTeamMember]] = relationship(
        back_populates="sub_criterion", cascade="all, delete-orphan"
    )


class Aspect(Base):
    """One thing marked: a measurement (M) or a judgement (J), with its max mark."""

    __table_args__ = (UniqueConstraint("scheme_id", "code"),)

    scheme_id: Mapped[int] = mapped_column(ForeignKey("marking_scheme.id", ondelete="CASCADE"), index=True)
    sub_criterion_id: Mapped[int] = mapped_column(
        ForeignKey("sub_criterion.id", ondelete="CASCADE"), index=True
    )
    code: Mapped[str] = mapped_column(String(scheme_data.ASPECT_CODE_LENGTH))
    """The sub-criterion ID, a dot and the aspect's position in it: `A1.2`."""
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(1))
    description: Mapped[str] = mapped_column(Text, default="")
    extra_description: Mapped[str] = mapped_column(Text, default="")
    requirement: Mapped[str] = mapped_column(Text, default="")
    section: Mapped[int | None] = mapped_column(Integer)
    max_mark: Mapped[Decimal | None] = mapped_column(MARK)
    calculation: Mapped[str | None] = mapped_column(String(24))
    """For M aspects: pass_fail, deduction, number_completed or choice."""
    calculation_name: Mapped[str | None] = mapped_column(String(scheme_data.CALCULATION_NAME_LENGTH))
    """The calculation row's key in the CIS file, kept for export."""
    possible: Mapped[int | None] = mapped_column(Integer)
    """For number_completed: how many there are to complete."""

    sub_criterion: Mapped[SubCriterion] = relationship(back_populates="aspects")
    descriptors: Mapped[list[Descriptor]] = relationship(
        back_populates="aspect", order_by="Descriptor.score", cascade="all, delete-orphan"
    )
    choices: Mapped[list[ChoiceOption]] = relationship(
        back_populates="aspect", order_by="ChoiceOption.position", cascade="all, delete-orphan"
    )

    @property
    def is_judgement(self) -> bool:
        return self.kind == AspectKind.JUDGEMENT


class Descriptor(Base):
    """What a judgement score 0, 1, 2 or 3 means for one J aspect."""

    __table_args__ = (UniqueConstraint("aspect_id", "score"),)

    aspect_id: Mapped[int] = mapped_column(ForeignKey("aspect.id", ondelete="CASCADE"), index=True)
    score: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text, default="")

    aspect: Mapped[Aspect] = relationship(back_populates="descriptors")


class ChoiceOption(Base):
    """A labelled option of a `choice` measurement with its deduction in percent of the max mark."""

    __table_args__ = (UniqueConstraint("aspect_id", "position"),)

    aspect_id: Mapped[int] = mapped_column(ForeignKey("aspect.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    """1-based option number, as the marks workbook and the API use it."""
    label: Mapped[str] = mapped_column(String(scheme_data.CHOICE_LABEL_LENGTH))
    deduction_percent: Mapped[Decimal] = mapped_column(MARK)

    aspect: Mapped[Aspect] = relationship(back_populates="choices")


class MarkingTeamMember(Base):
    """An expert assigned to mark a sub-criterion (no assignment: every expert of the skill)."""

    __table_args__ = (UniqueConstraint("sub_criterion_id", "expert_id"),)

    sub_criterion_id: Mapped[int] = mapped_column(
        ForeignKey("sub_criterion.id", ondelete="CASCADE"), index=True
    )
    expert_id: Mapped[int] = mapped_column(ForeignKey("expert.id", ondelete="CASCADE"), index=True)

    sub_criterion: Mapped[SubCriterion] = relationship(back_populates="team")
    expert: Mapped[Expert] = relationship()


class JudgeScore(AuditedBase):
    """One judge's score 0-3 for one judgement aspect and one competitor."""

    __table_args__ = (UniqueConstraint("aspect_id", "competitor_id", "expert_id"),)

    aspect_id: Mapped[int] = mapped_column(ForeignKey("aspect.id", ondelete="CASCADE"), index=True)
    competitor_id: Mapped[int] = mapped_column(ForeignKey("competitor.id", ondelete="CASCADE"), index=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("expert.id", ondelete="CASCADE"), index=True)
    score: Mapped[int] = mapped_column(Integer)


class Measurement(AuditedBase):
    """The recorded value of one measurement aspect for one competitor (a later record replaces it)."""

    __table_args__ = (UniqueConstraint("aspect_id", "competitor_id"),)

    aspect_id: Mapped[int] = mapped_column(ForeignKey("aspect.id", ondelete="CASCADE"), index=True)
    competitor_id: Mapped[int] = mapped_column(ForeignKey("competitor.id", ondelete="CASCADE"), index=True)
    expert_id: Mapped[int | None] = mapped_column(ForeignKey("expert.id", ondelete="SET NULL"))
    value: Mapped[Decimal] = mapped_column(MARK)
    """pass_fail 1 or 0; deduction: total deducted; number_completed: count; choice: option number."""
    reason: Mapped[str] = mapped_column(Text, default="")


class AspectMark(Base):
    """An aspect's mark for a competitor, kept while the aspect is marked (a measurement recorded, or every judge
    scored within the judgement rule) by the change that marked it: progress and totals are counted from these."""

    __table_args__ = (UniqueConstraint("aspect_id", "competitor_id"),)

    scheme_id: Mapped[int] = mapped_column(ForeignKey("marking_scheme.id", ondelete="CASCADE"), index=True)
    aspect_id: Mapped[int] = mapped_column(ForeignKey("aspect.id", ondelete="CASCADE"))
    """Indexed by the unique constraint, which begins with it."""
    competitor_id: Mapped[int] = mapped_column(ForeignKey("competitor.id", ondelete="CASCADE"), index=True)
    mark: Mapped[Decimal] = mapped_column(MARK)


class Form(AuditedBase):
    """A marking form (one sub-criterion for one competitor) once signed off and locked."""

    __table_args__ = (UniqueConstraint("sub_criterion_id", "competitor_id"),)

    sub_criterion_id: Mapped[int] = mapped_column(
        ForeignKey("sub_criterion.id", ondelete="CASCADE"), index=True
    )
    competitor_id: Mapped[int] = mapped_column(ForeignKey("competitor.id", ondelete="CASCADE"), index=True)
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    signed_off_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    signed_off_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True))

    sub_criterion: Mapped[SubCriterion] = relationship()
    competitor: Mapped[Competitor] = relationship()
    signed_off_by: Mapped[User | None] = relationship()


class ResultsPublication(AuditedBase):
    """Results of one skill in one stage released to the public (the row exists while published)."""

    __table_args__ = (UniqueConstraint("skill_id", "stage_id"),)

    skill_id: Mapped[int] = mapped_column(ForeignKey("skill.id", ondelete="CASCADE"), index=True)
    stage_id: Mapped[int] = mapped_column(ForeignKey("stage.id", ondelete="CASCADE"), index=True)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    note: Mapped[str] = mapped_column(Text, default="")

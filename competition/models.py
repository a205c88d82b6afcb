"""The competition's records: events, stages, sectors, skills, institutions, competitors, experts, users."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from competition.db import AuditedBase, Base


class StageKind(StrEnum):
    SEMI_FINAL = "semi_final"
    FINAL = "final"


class InstitutionKind(StrEnum):
    SCHOOL = "school"
    COMPANY = "company"


class Role(StrEnum):
    """A user's role; organisers run events, chief experts lead a skill, experts mark."""

    ORGANISER = "organiser"
    CHIEF_EXPERT = "chief_expert"
    EXPERT = "expert"


class ExpertRole(StrEnum):
    CHIEF_EXPERT = "chief_expert"
    EXPERT = "expert"


class Visibility(StrEnum):
    """What the live board may show for an event (WORLDSKILLS.md, 'Who may see what')."""

    PROGRESS = "progress"
    LIVE = "live"
    FINAL = "final"
    CEREMONY = "ceremony"


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Event(AuditedBase):
    """A competition as a whole, e.g. SkillsLatvia 2023, with its results settings."""

    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    starts: Mapped[dt.date | None] = mapped_column(Date)
    ends: Mapped[dt.date | None] = mapped_column(Date)
    venue: Mapped[str] = mapped_column(String(300), default="")
    visibility: Mapped[str] = mapped_column(String(16), default=Visibility.PROGRESS.value)
    judgement_spread: Mapped[int] = mapped_column(Integer, default=1)
    scale_centre: Mapped[Decimal] = mapped_column(Numeric(8, 2), default=Decimal(700))
    scale_points: Mapped[Decimal] = mapped_column(Numeric(8, 2), default=Decimal(30))
    scale_method: Mapped[str] = mapped_column(String(16), default="robust")
    medal_margin: Mapped[Decimal] = mapped_column(Numeric(8, 2), default=Decimal(2))
    excellence_threshold: Mapped[Decimal] = mapped_column(Numeric(8, 2), default=Decimal(700))
    revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Counts the changes of the event's registration and settings (`registration.services.registration_changed`):
    what was read of them at an older revision (e.g. who may mark whom) is read again."""

    stages: Mapped[list[Stage]] = relationship(
        back_populates="event", order_by="Stage.starts, Stage.code", cascade="all, delete-orphan"
    )
    skills: Mapped[list[Skill]] = relationship(
        back_populates="event", order_by="Skill.code", cascade="all, delete-orphan"
    )
    sectors: Mapped[list[Sector]] = relationship(
        back_populates="event", order_by="Sector.name", cascade="all, delete-orphan"
    )


class Stage(AuditedBase):
    """A semi-final or the final of an event, with its dates and venue."""

    __table_args__ = (UniqueConstraint("event_id", "code"),)

    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16), default=StageKind.FINAL.value)
    starts: Mapped[dt.date | None] = mapped_column(Date)
    ends: Mapped[dt.date | None] = mapped_column(Date)
    venue: Mapped[str] = mapped_column(String(300), default="")

    event: Mapped[Event] = relationship(back_populates="stages")

    @property
    def is_final(self) -> bool:
        return self.kind == StageKind.FINAL


class Sector(AuditedBase):
    """A group of related skills within an event, e.g. 'Construction and building technology'."""

    __table_args__ = (UniqueConstraint("event_id", "name"),)

    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))

    event: Mapped[Event] = relationship(back_populates="sectors")
    skills: Mapped[list[Skill]] = relationship(back_populates="sector", order_by="Skill.code")


class Skill(AuditedBase):
    """One skill competition inside an event, e.g. Mobile Robotics (code 23)."""

    __table_args__ = (UniqueConstraint("event_id", "code"),)

    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    sector_id: Mapped[int | None] = mapped_column(ForeignKey("sector.id", ondelete="SET NULL"), index=True)
    team_size: Mapped[int] = mapped_column(Integer, default=1)
    advance: Mapped[int] = mapped_column(Integer, default=0)
    advance_minimum: Mapped[Decimal | None] = mapped_column(Numeric(8, 2))

    event: Mapped[Event] = relationship(back_populates="skills")
    sector: Mapped[Sector | None] = relationship(back_populates="skills")


class Institution(AuditedBase):
    """A school or company; the conflict-of-interest unit for marking."""

    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(16), default=InstitutionKind.SCHOOL.value)


class Competitor(AuditedBase):
    """A competitor (or one member of a team) in one skill of an event."""

    __table_args__ = (UniqueConstraint("event_id", "code"),)

    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    birth_date: Mapped[dt.date | None] = mapped_column(Date)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id", ondelete="RESTRICT"), index=True)
    skill_id: Mapped[int] = mapped_column(ForeignKey("skill.id", ondelete="CASCADE"), index=True)
    stage_id: Mapped[int] = mapped_column(ForeignKey("stage.id", ondelete="RESTRICT"), index=True)
    """The stage the competitor was registered in (where they enter the competition)."""

    institution: Mapped[Institution] = relationship(lazy="joined")
    skill: Mapped[Skill] = relationship()
    stage: Mapped[Stage] = relationship()
    entries: Mapped[list[StageEntry]] = relationship(
        back_populates="competitor", cascade="all, delete-orphan"
    )

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"


class StageEntry(AuditedBase):
    """A competitor taking part in a stage: their registration stage, or a final they advanced to."""

    __table_args__ = (UniqueConstraint("competitor_id", "stage_id"),)

    competitor_id: Mapped[int] = mapped_column(ForeignKey("competitor.id", ondelete="CASCADE"), index=True)
    stage_id: Mapped[int] = mapped_column(ForeignKey("stage.id", ondelete="CASCADE"), index=True)
    advanced_from_id: Mapped[int | None] = mapped_column(ForeignKey("stage.id", ondelete="SET NULL"))

    competitor: Mapped[Competitor] = relationship(back_populates="entries")
    stage: Mapped[Stage] = relationship(foreign_keys=[stage_id])


class User(AuditedBase):
    """Someone who logs in: an organiser, a chief expert or an expert (identified by email)."""

    NAME_LENGTH = 200

    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH), default="")
    role: Mapped[str] = mapped_column(String(16), default=Role.EXPERT.value)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    language: Mapped[str | None] = mapped_column(String(8))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    @validates("name")
    def _fit_name(self, _key: str, name: str) -> str:
        """The display name, shortened to fit: an expert's full name (two names of up to 100) may be longer."""
        return name[: self.NAME_LENGTH]

    @property
    def is_organiser(self) -> bool:
        return self.role == Role.ORGANISER


class Expert(AuditedBase):
    """An expert of one skill in an event: the Chief Expert or a marking expert."""

    __table_args__ = (UniqueConstraint("event_id", "code"),)

    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(254))
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id", ondelete="RESTRICT"), index=True)
    skill_id: Mapped[int] = mapped_column(ForeignKey("skill.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16), default=ExpertRole.EXPERT.value)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)

    institution: Mapped[Institution] = relationship(lazy="joined")
    skill: Mapped[Skill] = relationship()
    user: Mapped[User | None] = relationship()

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def is_chief(self) -> bool:
        return self.role == ExpertRole.CHIEF_EXPERT


class ApiToken(Base):
    """An API token for `Authorization: Bearer`; only its SHA-256 digest is stored."""

    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True), default=_utcnow)

    user: Mapped[User] = relationship(lazy="joined")


class LoginSession(Base):
    """A browser's log-in, kept in the database so that every worker shares it. Only the SHA-256 digest of the
    session's cookie value is stored: a copy of the table logs nobody in."""

    digest: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    data: Mapped[str] = mapped_column(Text, default="{}")
    """The session's values as JSON (the user's id, and whatever pages keep there)."""
    expires_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True), index=True)


class AuditRecord(Base):
    """One entry of the append-only audit trail: who changed what, when, from which value to which, and why."""

    at: Mapped[dt.datetime] = mapped_column(
        DateTimeUTC(timezone=True), default=_utcnow, server_default=func.now(), index=True
    )
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(String(254), default="")
    """Who acted, as shown (the user's email, or 'command line')."""
    event_id: Mapped[int | None] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    skill_id: Mapped[int | None] = mapped_column(ForeignKey("skill.id", ondelete="CASCADE"), index=True)
    stage_id: Mapped[int | None] = mapped_column(ForeignKey("stage.id", ondelete="CASCADE"))
    competitor_id: Mapped[int | None] = mapped_column(ForeignKey("competitor.id", ondelete="CASCADE"))
    subject: Mapped[str] = mapped_column(String(64), default="")
    """What was changed, e.g. an aspect `A1.2`, a form `A1`, or a record code."""
    action: Mapped[str] = mapped_column(String(32))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)


class LoginAttempt(Base):
    """Log-in attempts counted per key (an address, an email) in a window, shared by every worker."""

    key: Mapped[str] = mapped_column(String(64), unique=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    window_ends: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True), index=True)

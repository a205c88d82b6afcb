"""Marking schemes in the database: save a checked `SchemeData` for a skill and stage, load it back.

`save_scheme` is the one state change here: it replaces the skill's scheme for the stage (refused
once marks exist), stores it as `ready` or `draft` from the checks in `scheme_data`, and writes
its audit record. `scheme_data_of` turns the stored scheme back into plain data (for export and
for the pure rules).
"""

from __future__ import annotations

from collections import OrderedDict
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, exists, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload
from sqlalchemy.sql.base import ExecutableOption

from competition import audit
from competition.errors import Conflict, Invalid, NotFound
from competition.i18n import gettext as _
from competition.models import Event, Skill, Stage, User
from competition.notify import Change, on_commit
from scoring import scheme_data
from scoring.models import (
    Aspect,
    ChoiceOption,
    Criterion,
    Descriptor,
    JudgeScore,
    MarkingScheme,
    Measurement,
    SchemeStatus,
    StandardsSection,
    SubCriterion,
)
from scoring.scheme_data import SchemeData


def full_scheme_query() -> tuple[ExecutableOption, ...]:
    """Load options that bring a scheme with its sections, criteria, sub-criteria and aspects."""
    return (
        selectinload(MarkingScheme.sections),
        selectinload(MarkingScheme.criteria)
        .selectinload(Criterion.sub_criteria)
        .selectinload(SubCriterion.aspects)
        .options(selectinload(Aspect.descriptors), selectinload(Aspect.choices)),
    )


_SCHEME_NOW = select(
    MarkingScheme.id,
    MarkingScheme.rules_revision,
    MarkingScheme.created_at,
    MarkingScheme.status,
    MarkingScheme.judges,
).where(MarkingScheme.skill_id == bindparam("skill"), MarkingScheme.stage_id == bindparam("stage"))
CACHED_SCHEMES = 128
_schemes: OrderedDict[tuple[int, int], tuple[tuple[Any, ...], MarkingScheme]] = OrderedDict()
"""(skill, stage) → the scheme as last read, with everything in it, while its rules revision is the same."""


def forget_cached_schemes() -> None:
    _schemes.clear()


async def find_scheme(session: AsyncSession, skill: Skill, stage: Stage) -> MarkingScheme | None:
    """The skill's scheme for the stage, with everything in it, or None.

    Pages of marking read it on every view (hundreds of aspects with their descriptors): it is read once per
    revision of its rules (`MarkingScheme.rules_revision`, bumped by every change of its aspects, teams and
    judging team) and kept, detached from any session, for reading only."""
    now = (await session.execute(_SCHEME_NOW, {"skill": skill.id, "stage": stage.id})).one_or_none()
    if now is None:
        return None
    key = (skill.id, stage.id)
    cached = _schemes.get(key)
    if cached is not None and cached[0] == tuple(now):
        _schemes.move_to_end(key)
        return cached[1]
    scheme = await _full_scheme(session, now.id)
    session.expunge(scheme)  # with its parts (cascade): no other request's session ever expires it
    _schemes[key] = (tuple(now), scheme)
    while len(_schemes) > CACHED_SCHEMES:
        _schemes.popitem(last=False)
    return scheme


async def _full_scheme(session: AsyncSession, scheme_id: int) -> MarkingScheme:
    """The scheme with everything in it, read now (also over what the session holds of it)."""
    query = select(MarkingScheme).where(MarkingScheme.id == scheme_id).options(*full_scheme_query())
    return (await session.scalars(query.execution_options(populate_existing=True))).one()


async def get_scheme(session: AsyncSession, skill: Skill, stage: Stage) -> MarkingScheme:
    scheme = await find_scheme(session, skill, stage)
    if scheme is None:
        raise NotFound(
            _("Skill {skill} has no marking scheme for stage {stage}.").format(skill=skill.code, stage=stage.code)
        )
    return scheme


async def has_marks(session: AsyncSession, scheme_id: int) -> bool:
    """Whether any judge score or measurement was recorded against the scheme's aspects."""
    aspect_ids = select(Aspect.id).where(Aspect.scheme_id == scheme_id)
    scored = await session.scalar(select(exists().where(JudgeScore.aspect_id.in_(aspect_ids))))
    measured = await session.scalar(select(exists().where(Measurement.aspect_id.in_(aspect_ids))))
    return bool(scored or measured)


async def save_scheme(
    session: AsyncSession,
    actor: User | None,
    skill: Skill,
    stage: Stage,
    data: SchemeData,
    *,
    source_filename: str = "",
) -> MarkingScheme:
    """Store `data` as the skill's scheme for the stage, replacing an unmarked earlier one.

    Errors from the checks refuse the scheme (Invalid, listing each problem with its row);
    warnings store it as a draft, which cannot be marked. Once marks exist the scheme is kept.
    """
    problems = scheme_data.validate(data)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        listed = [scheme_data.at_row(p.row) + p.message for p in errors]
        raise Invalid(
            _("The marking scheme cannot be used: {problems}").format(problems=" ".join(listed)), problems=listed
        )
    old_id = await session.scalar(  # locked first (PostgreSQL): no mark may arrive between the check and the delete
        select(MarkingScheme.id)
        .where(MarkingScheme.skill_id == skill.id, MarkingScheme.stage_id == stage.id)
        .with_for_update()
    )
    old = await _full_scheme(session, old_id) if old_id is not None else None
    if old is not None:
        if await has_marks(session, old.id):
            raise Conflict(
                _(
                    "Skill {skill} already has marks for stage {stage}; its marking scheme can no longer be replaced."
                ).format(skill=skill.code, stage=stage.code)
            )
        await session.delete(old)
        await session.flush()
    status = SchemeStatus.READY if scheme_data.usable_for_marking(data) else SchemeStatus.DRAFT
    scheme = MarkingScheme(
        skill_id=skill.id,
        stage_id=stage.id,
        title=data.title[:300],
        status=status.value,
        source_filename=source_filename[:300],
    )
    session.add(scheme)
    await session.flush()
    await _add_parts(session, scheme, data)
    await audit.record(
        session,
        actor,
        "scheme_replaced" if old is not None else "scheme_imported",
        f"scheme {skill.code}",
        event_id=stage.event_id,
        skill_id=skill.id,
        stage_id=stage.id,
        new={
            "title": data.title,
            "status": status.value,
            "source": source_filename,
            "aspects": len(data.aspects),
            "summary": str(data.summary()),
        },
    )
    await session.flush()
    event_code = await session.scalar(select(Event.code).where(Event.id == stage.event_id))
    on_commit(session, Change(event=event_code or "", what="scheme", skill=skill.code, stage=stage.code))
    return scheme


async def _add_parts(session: AsyncSession, scheme: MarkingScheme, data: SchemeData) -> None:
    """Add the scheme's sections, criteria, sub-criteria and aspects as rows (flushed)."""
    for section in data.sections:
        session.add(
            StandardsSection(scheme_id=scheme.id, number=section.number, name=section.name, weighting=section.weighting)
        )
    criteria: dict[str, Criterion] = {}
    for position, criterion_data in enumerate(data.criteria, start=1):
        criterion = Criterion(
            scheme=scheme, code=criterion_data.code, name=criterion_data.name, mark=criterion_data.mark,
            position=position,
        )
        criteria[criterion_data.code] = criterion
        session.add(criterion)
    subs: dict[str, SubCriterion] = {}
    for position, sub_data in enumerate(data.sub_criteria, start=1):
        sub = SubCriterion(
            scheme_id=scheme.id,
            criterion=criteria[sub_data.criterion],
            code=sub_data.code,
            name=sub_data.name,
            day=sub_data.day,
            position=position,
        )
        subs[sub_data.code] = sub
        session.add(sub)
    positions: dict[str, int] = {}
    added: list[tuple[Aspect, scheme_data.AspectData]] = []
    for item in data.aspects:
        positions[item.sub_criterion] = positions.get(item.sub_criterion, 0) + 1
        calculation = item.calculation if item.kind == "M" else None
        aspect = Aspect(
            scheme_id=scheme.id,
            sub_criterion=subs[item.sub_criterion],
            code=item.code,
            position=positions[item.sub_criterion],
            kind=item.kind,
            description=item.description,
            extra_description=item.extra_description,
            requirement=item.requirement,
            section=item.section,
            max_mark=item.max_mark,
            calculation=calculation.kind if calculation else None,
            calculation_name=calculation.name if calculation else None,
            possible=calculation.possible if calculation else None,
        )
        session.add(aspect)
        added.append((aspect, item))
    await session.flush()
    # Descriptors and options in one statement each (a CIS scheme has hundreds): nothing reads them back here.
    descriptors = [
        {"aspect_id": aspect.id, "score": descriptor.score, "text": descriptor.text}
        for aspect, item in added
        for descriptor in item.descriptors
    ]
    choices = [
        {"aspect_id": aspect.id, "position": number, "label": choice.label,
         "deduction_percent": choice.deduction_percent}
        for aspect, item in added
        if item.kind == "M" and item.calculation is not None
        for number, choice in enumerate(item.calculation.choices, start=1)
    ]
    if descriptors:
        await session.execute(insert(Descriptor), descriptors)
    if choices:
        await session.execute(insert(ChoiceOption), choices)


def scheme_data_of(scheme: MarkingScheme) -> SchemeData:
    """The stored scheme (loaded with `full_scheme_query`) as plain data, in its order."""
    sub_criteria = [sub for criterion in scheme.criteria for sub in criterion.sub_criteria]
    return SchemeData(
        title=scheme.title,
        sections=tuple(
            scheme_data.Section(number=s.number, name=s.name, weighting=Decimal(s.weighting)) for s in scheme.sections
        ),
        criteria=tuple(
            scheme_data.CriterionData(code=c.code, name=c.name, mark=Decimal(c.mark)) for c in scheme.criteria
        ),
        sub_criteria=tuple(
            scheme_data.SubCriterionData(code=s.code, criterion=c.code, name=s.name, day=s.day)
            for c in scheme.criteria
            for s in c.sub_criteria
        ),
        aspects=tuple(
            scheme_data.AspectData(
                code=a.code,
                sub_criterion=s.code,
                kind=a.kind,  # type: ignore[arg-type]
                description=a.description,
                extra_description=a.extra_description,
                requirement=a.requirement,
                section=a.section,
                max_mark=Decimal(a.max_mark) if a.max_mark is not None else None,
                calculation=_calculation_of(a),
                descriptors=tuple(scheme_data.DescriptorData(score=d.score, text=d.text) for d in a.descriptors),
            )
            for s in sub_criteria
            for a in s.aspects
        ),
    )


def _calculation_of(aspect: Aspect) -> scheme_data.Calculation | None:
    if aspect.kind != "M" or aspect.calculation is None:
        return None
    return scheme_data.Calculation(
        kind=aspect.calculation,  # type: ignore[arg-type]
        name=aspect.calculation_name,
        possible=aspect.possible,
        choices=tuple(
            scheme_data.Choice(label=c.label, deduction_percent=Decimal(c.deduction_percent)) for c in aspect.choices
        ),
    )

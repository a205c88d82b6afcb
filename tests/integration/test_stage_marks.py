"""A stage's marks read back from the database: statuses, marks, forms, locks and progress."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from competition.writer import write
from scoring import rules
from scoring.marks import bump_revision, load_stage_marks
from scoring.models import Aspect, Form, JudgeScore, MarkingScheme, Measurement, SubCriterion
from tests.helpers import add_scheme, build_world


async def _aspect(session: AsyncSession, scheme: MarkingScheme, code: str) -> Aspect:
    return (await session.scalars(select(Aspect).where(Aspect.scheme_id == scheme.id, Aspect.code == code))).one()


async def test_stage_marks_follow_the_rule_book(session: AsyncSession) -> None:
    world = await build_world(session)
    scheme = await add_scheme(session, world.skill, world.semi_final)
    anna, janis = world.competitors[0], world.competitors[1]
    judges = world.experts[:3]
    a11 = await _aspect(session, scheme, "A1.1")  # M pass_fail, max 0.5
    a13 = await _aspect(session, scheme, "A1.3")  # M number_completed of 5, max 1.25
    a15 = await _aspect(session, scheme, "A1.5")  # J, max 1
    a16 = await _aspect(session, scheme, "A1.6")  # J, max 1.5
    session.add_all(
        [
            Measurement(aspect_id=a11.id, competitor_id=anna.id, expert_id=judges[0].id, value=Decimal(1)),
            Measurement(aspect_id=a13.id, competitor_id=anna.id, expert_id=judges[0].id, value=Decimal(3)),
            *[
                JudgeScore(aspect_id=a15.id, competitor_id=anna.id, expert_id=j.id, score=s)
                for j, s in zip(judges, (2, 2, 3), strict=True)
            ],
            *[
                JudgeScore(aspect_id=a16.id, competitor_id=anna.id, expert_id=j.id, score=s)
                for j, s in zip(judges, (0, 2, 1), strict=True)
            ],
            JudgeScore(aspect_id=a15.id, competitor_id=janis.id, expert_id=judges[0].id, score=1),
        ]
    )
    await session.commit()

    marks = await load_stage_marks(session, world.skill, world.semi_final.id)
    assert marks is not None and marks.ready and marks.judges == 3 and marks.max_spread == 1
    assert [c.code for c in marks.competitors] == ["C001", "C002", "C003", "C004"]
    assert marks.state("C001", "A1.1").mark == Decimal("0.50")
    assert marks.state("C001", "A1.3").mark == Decimal("0.75")  # 1.25 × 3 / 5
    assert marks.state("C001", "A1.5").mark == Decimal("0.78")  # 1 × 7/9, half up
    assert marks.state("C001", "A1.6").status == rules.DISAGREEMENT and marks.state("C001", "A1.6").mark is None
    assert marks.state("C002", "A1.5").status == rules.WAITING
    assert marks.state("C002", "A1.1").status == rules.MISSING

    form = marks.form("C001", "A1")
    assert not form.complete and form.missing == ["A1.2", "A1.4", "A1.6"]
    assert form.count(rules.DISAGREEMENT) == 1 and not form.locked
    assert rules.totals(marks.aspect_marks("C001")).raw == Decimal("2.03")
    assert marks.progress().marks_entered == 3 and marks.progress().marks_total == 4 * 87
    assert not marks.all_locked("C001")


async def test_locked_forms_and_the_revision_are_read(session: AsyncSession) -> None:
    world = await build_world(session)
    scheme = await add_scheme(session, world.skill, world.semi_final)
    subs = list(await session.scalars(select(SubCriterion).where(SubCriterion.scheme_id == scheme.id)))
    anna = world.competitors[0]
    session.add_all([Form(sub_criterion_id=sub.id, competitor_id=anna.id, locked=True) for sub in subs])
    await bump_revision(session, scheme.id)
    await session.commit()

    marks = await load_stage_marks(session, world.skill, world.semi_final.id)
    assert marks is not None
    assert marks.revision == 1
    assert marks.all_locked("C001") and not marks.all_locked("C002")
    assert marks.progress(["C001"]).forms_share == 1
    only_anna = await load_stage_marks(session, world.skill, world.semi_final.id, competitor_ids=[anna.id])
    assert only_anna is not None and [c.code for c in only_anna.competitors] == ["C001"]


async def test_a_stage_without_a_scheme_has_no_marks(session: AsyncSession) -> None:
    world = await build_world(session)
    assert await load_stage_marks(session, world.skill, world.final.id) is None


async def test_progress_counted_by_the_database_is_the_progress_of_the_marks(session: AsyncSession) -> None:
    """`stage_progress` (SQL, for the live board) and `load_stage_marks().progress()` (the rule book in
    Python) agree on saved, waiting, disagreeing, measured and locked marks."""
    from sqlalchemy import select

    from scoring.marking import Marker, find_place, record_mark
    from scoring.marks import load_stage_marks, stage_progress
    from scoring.models import Aspect
    from tests.helpers import add_scheme, build_world, mark_all

    world = await build_world(session)
    scheme = await add_scheme(session, world.skill, world.semi_final)
    await mark_all(session, scheme, world.competitors[0], world.experts[1:4], score=2)
    judged = list(await session.scalars(select(Aspect.code).where(Aspect.kind == "J").order_by(Aspect.id).limit(3)))
    measured = await session.scalar(select(Aspect.code).where(Aspect.calculation == "pass_fail").limit(1))
    place = await find_place(session, "SL2023", "23", "SF1")
    andris, dace, peteris = world.experts[2], world.experts[3], world.experts[0]
    for expert, score in [(andris, 2), (dace, 2), (peteris, 3)]:  # C002: within the rule
        await write(session, record_mark, place, Marker(None, expert), "C002", judged[0], {"score": score})
    for expert, score in [(andris, 0), (dace, 2), (peteris, 3)]:  # C002: a disagreement
        await write(session, record_mark, place, Marker(None, expert), "C002", judged[1], {"score": score})
    await write(session, record_mark, place, Marker(None, andris), "C002", judged[2], {"score": 1})  # waiting
    await write(session, record_mark, place, Marker(None, andris), "C002", measured or "", {"value": "yes"})
    marks = await load_stage_marks(session, world.skill, world.semi_final.id)
    assert marks is not None
    counted = await stage_progress(session, world.skill, world.semi_final.id)
    assert counted == marks.progress()
    assert counted is not None and counted.marks_entered == len(marks.aspects) + 2

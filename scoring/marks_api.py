"""The marking API (`/api/v1`, CONTRACT.md): record a mark, read a competitor's marks, lock and unlock forms.

Bearer token or browser session with its CSRF header. 401 no or bad credentials, 403 not on the
team or the competitor's own institution, 404 unknown codes, 409 a locked form, 422 an invalid value;
a refused request changes nothing (the service raises before anything is written or it rolls back).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypedDict

from litestar import Request, get, post, put
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from competition.auth import current_user
from competition.i18n import gettext as _
from competition.models import User
from competition.web import error_response as _error
from competition.writer import write
from scoring import marking

PREFIX = "/api/v1/events/{event:str}/skills/{skill:str}/stages/{stage:str}"
ERRORS = {
    400: _error("A malformed request: the body is not JSON"),
    401: _error("No or bad credentials"),
    403: _error("Not on this skill's marking team, or the competitor is from the caller's own institution"),
    404: _error("Unknown event, skill, stage, competitor, aspect or sub-criterion"),
    409: _error("The form is locked (or, for a lock, not complete: the message names what is missing)"),
    422: _error("An invalid value: the message says which and why"),
}


@dataclass
class MarkInput:
    """A judgement aspect: `score` 0-3 (this judge's). A measurement: `value` as in the marks workbook
    (pass_fail 1/0 or yes/no, deduction the total deducted, number_completed the count, choice the
    option's number or label) and `reason` (required for a deduction above 0)."""

    score: int | None = None
    value: str | int | float | None = None
    reason: str = ""


class MarkDocument(TypedDict):
    competitor: str
    aspect: str
    status: str
    mark: str | None


class CompetitorMark(TypedDict, total=False):
    aspect: str
    status: str
    mark: str | None
    value: str | None
    score: int | None
    reason: str
    scores: dict[str, int]


class CompetitorMarksDocument(TypedDict):
    competitor: str
    marks: list[CompetitorMark]
    locked: list[str]


@dataclass
class UnlockInput:
    reason: str = ""


class FormDocument(TypedDict):
    competitor: str
    sub_criterion: str
    locked: bool


def _caller(request: Request[Any, Any, Any]) -> User:
    user = current_user(request)
    if user is None or request.scope.get("auth") == "bad_token":
        raise NotAuthorizedException(_("Missing or invalid credentials."))
    return user


@put(
    f"{PREFIX}/marks/{{competitor:str}}/{{aspect:str}}",
    name="api_record_mark",
    tags=["marking"],
    summary="Record the caller's mark for one aspect of one competitor",
    responses=ERRORS,
    status_code=HTTP_200_OK,
)
async def api_record_mark(
    request: Request[Any, Any, Any],
    database: NamedDependency[AsyncEngine],
    event: FromPath[str],
    skill: FromPath[str],
    stage: FromPath[str],
    competitor: FromPath[str],
    aspect: FromPath[str],
    data: JSONBody[MarkInput],
) -> MarkDocument:
    """Idempotent: the same request twice records once. `status` is `saved`, `waiting` (other judges
    have not scored yet; `mark` null) or `disagreement` (the judges' scores break the judgement rule)."""
    user = _caller(request)
    body = {"score": data.score, "value": data.value, "reason": data.reason}
    place = marking.StageCodes(event, skill, stage)  # looked up inside the save's transaction
    outcome = await write(database, marking.record_mark, place, user, competitor, aspect, body)
    document = outcome.document()
    return MarkDocument(
        competitor=document["competitor"], aspect=document["aspect"], status=document["status"], mark=document["mark"]
    )


@get(
    f"{PREFIX}/marks/{{competitor:str}}",
    name="api_competitor_marks",
    tags=["marking"],
    summary="What the caller may see of a competitor's marks (a tablet resyncs with it)",
    responses=ERRORS,
)
async def api_competitor_marks(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    event: FromPath[str],
    skill: FromPath[str],
    stage: FromPath[str],
    competitor: FromPath[str],
) -> CompetitorMarksDocument:
    """A judge sees their own `score`; the Chief Expert and organisers see the form's marks (and `scores`)."""
    user = _caller(request)
    place = await marking.find_place(db_session, event, skill, stage)
    document = await marking.competitor_marks(db_session, place, user, competitor)
    return CompetitorMarksDocument(**document)  # type: ignore[typeddict-item]


@post(
    f"{PREFIX}/forms/{{competitor:str}}/{{subcriterion:str}}/lock",
    name="api_lock_form",
    tags=["marking"],
    summary="Sign off and lock a complete form",
    responses=ERRORS,
    status_code=HTTP_200_OK,
)
async def api_lock_form(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    event: FromPath[str],
    skill: FromPath[str],
    stage: FromPath[str],
    competitor: FromPath[str],
    subcriterion: FromPath[str],
) -> FormDocument:
    user = _caller(request)
    place = await marking.find_place(db_session, event, skill, stage)
    code, sub = await write(db_session, marking.lock_form, place, user, competitor, subcriterion)
    return FormDocument(competitor=code, sub_criterion=sub, locked=True)


@post(
    f"{PREFIX}/forms/{{competitor:str}}/{{subcriterion:str}}/unlock",
    name="api_unlock_form",
    tags=["marking"],
    summary="Unlock a form with a reason (Chief Expert or organiser)",
    responses=ERRORS,
    status_code=HTTP_200_OK,
)
async def api_unlock_form(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    event: FromPath[str],
    skill: FromPath[str],
    stage: FromPath[str],
    competitor: FromPath[str],
    subcriterion: FromPath[str],
    data: JSONBody[UnlockInput],
) -> FormDocument:
    user = _caller(request)
    place = await marking.find_place(db_session, event, skill, stage)
    code, sub = await write(db_session, marking.unlock_form, place, user, competitor, subcriterion, data.reason)
    return FormDocument(competitor=code, sub_criterion=sub, locked=False)


route_handlers: list[Any] = [api_record_mark, api_competitor_marks, api_lock_form, api_unlock_form]

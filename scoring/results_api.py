"""The results API: `GET /api/v1/events/{event}/skills/{skill}/stages/{stage}/results` (CONTRACT.md).

Anyone may read published results, with or without credentials; before publication only the skill's
Chief Expert and organisers, everyone else gets 403. Bad credentials are 401, unknown codes 404.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException
from litestar.params import FromPath
from sqlalchemy.ext.asyncio import AsyncSession

from competition.auth import current_user
from competition.errors import Forbidden, NotFound
from competition.i18n import gettext as _
from competition.registration.services import get_event, get_skill, get_stage
from competition.web import error_response as _error
from scoring.results import ResultsDocument, is_published, may_see_results, stage_results


@get(
    "/api/v1/events/{event:str}/skills/{skill:str}/stages/{stage:str}/results",
    name="api_stage_results",
    tags=["results"],
    summary="Results of a skill in a stage",
    responses={
        400: _error("A malformed request"),
        401: _error("Bad credentials"),
        403: _error("Not published yet, and the caller is neither the skill's Chief Expert nor an organiser"),
        404: _error("Unknown event, skill or stage, or no marking scheme"),
    },
)
async def api_stage_results(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    event: FromPath[str],
    skill: FromPath[str],
    stage: FromPath[str],
) -> ResultsDocument:
    """The results document: ranks, raw and scale scores, medals, criterion marks, advancement."""
    if request.scope.get("auth") == "bad_token":
        raise NotAuthorizedException(_("Missing or invalid credentials."))
    found_event = await get_event(db_session, event)
    found_skill = await get_skill(db_session, found_event, skill)
    found_stage = await get_stage(db_session, found_event, stage)
    if not await may_see_results(db_session, current_user(request), found_skill, found_stage):
        raise Forbidden(
            _(
                "The results of skill %(skill)s in stage %(stage)s are not published yet.",
                skill=found_skill.code,
                stage=found_stage.code,
            )
        )
    results = await stage_results(db_session, found_event, found_skill, found_stage)
    if results is None:
        raise NotFound(
            _(
                "Skill %(skill)s has no marking scheme for stage %(stage)s.",
                skill=found_skill.code,
                stage=found_stage.code,
            )
        )
    return results.document(await is_published(db_session, found_skill, found_stage))


route_handlers: list[Any] = [api_stage_results]

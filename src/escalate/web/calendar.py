"""`GET /calendar/{token}.ics`: the on-call iCalendar feeds. Calendar apps cannot log in,
so the secret token in the URL is the credential (see oncall.calendar); an unknown or
revoked one answers 401, like an unknown integration key."""

from __future__ import annotations

from fastapi import APIRouter, Response

from escalate.oncall import calendar as calendar_service
from escalate.web.deps import ContainerDep, SessionDep

router = APIRouter(tags=["schedules"])

CALENDAR_TYPE = "text/calendar; charset=utf-8"
MAX_TOKEN_LENGTH = 200


@router.get("/calendar/{token}.ics", response_class=Response)
def calendar_feed(token: str, session: SessionDep, container: ContainerDep) -> Response:
    """The shifts of one schedule, or of one person, from a week ago to two months ahead."""
    body = calendar_service.render_feed(session, container.clock, token=token[:MAX_TOKEN_LENGTH])
    # Private by nature: a shared cache must not keep a copy under the secret URL.
    return Response(
        body, media_type=CALENDAR_TYPE, headers={"Cache-Control": "private, max-age=300"}
    )

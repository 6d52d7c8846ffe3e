"""An incident's SLA clocks, per affected account (the contract point of issue 5)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from escalate.ids import MAX_ID
from escalate.sla import reads as sla_reads
from escalate.sla.schemas import SlaClockPage, SlaClockRead
from escalate.web.deps import ActorDep, ContainerDep, PageDep, SessionDep

router = APIRouter(tags=["sla"])


@router.get("/incidents/{incident_id}/sla", response_model=SlaClockPage)
def incident_sla_clocks(
    incident_id: int,
    session: SessionDep,
    actor: ActorDep,
    container: ContainerDep,
    page: PageDep,
    account_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> SlaClockPage:
    """Each affected account's clocks (acknowledgement, updates, resolution), by account;
    an open clock's lateness is as of now."""
    result = sla_reads.list_for_incident(
        session,
        container.clock,
        actor=actor,
        incident_id=incident_id,
        page=page,
        account_id=account_id,
    )
    return SlaClockPage(
        items=[SlaClockRead.model_validate(v) for v in result.items], total=result.total
    )

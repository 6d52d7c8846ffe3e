"""An incident's SLA clocks, per affected account (the contract point of issue 5)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from escalate.ids import MAX_ID
from escalate.sla import reads as sla_reads
from escalate.sla.calculator import ClockStatus
from escalate.sla.models import ClockKind
from escalate.web.deps import ActorDep, ContainerDep, PageDep, SessionDep

router = APIRouter(tags=["sla"])


class SlaClockRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    account_id: int
    account_name: str
    kind: ClockKind
    sequence: int = Field(description="Update clocks: 0 the first update, then each interval.")
    label: str
    target_minutes: int
    started_at: datetime
    due_at: datetime
    met_at: datetime | None
    breached: bool
    late_minutes: int | None = Field(
        description="Whole minutes late (rounded up); for an open clock, as of now."
    )
    status: ClockStatus
    minutes_left: int | None = Field(description="Open and not yet due: whole minutes left.")


class SlaClockPage(BaseModel):
    items: list[SlaClockRead]
    total: int


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

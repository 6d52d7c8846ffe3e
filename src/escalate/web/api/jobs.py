"""The job queue, for the people who operate Escalate (admins)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from escalate.auth.permissions import Permission, authorize
from escalate.jobs import service as job_service
from escalate.jobs.models import JobStatus
from escalate.web.deps import ActorDep, ContainerDep, PageDep, SessionDep

router = APIRouter(prefix="/jobs", tags=["operations"])


class JobRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    status: JobStatus
    payload: dict[str, Any]
    run_at: datetime
    attempts: int
    max_attempts: int
    locked_by: str | None
    lease_expires_at: datetime | None
    last_error: str | None
    created_at: datetime
    finished_at: datetime | None


class JobPage(BaseModel):
    items: list[JobRead]
    total: int


# The job queue belongs to no domain, so its permission is checked here, at its only door.
@router.get("", response_model=JobPage)
def list_jobs(
    session: SessionDep,
    actor: ActorDep,
    page: PageDep,
    status: JobStatus | None = None,
    kind: str | None = None,
) -> JobPage:
    """Jobs by run time, newest first; filter by status and kind."""
    authorize(actor, Permission.OPERATE)
    result = job_service.list_jobs(session, status=status, kind=kind, page=page)
    return JobPage(items=[JobRead.model_validate(j) for j in result.items], total=result.total)


@router.post("/{job_id}/retry", response_model=JobRead)
def retry_job(
    job_id: int, session: SessionDep, actor: ActorDep, container: ContainerDep
) -> JobRead:
    """Run a failed job again now, with one more attempt."""
    authorize(actor, Permission.OPERATE)
    job = job_service.retry_failed(session, container.clock, job_id=job_id)
    return JobRead.model_validate(job)

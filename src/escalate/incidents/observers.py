"""Who hears that an incident changed in a way that matters to customers (status, affected
accounts or their impact, a customer-facing update posted, resolution).

The incidents domain cannot import the SLA domain (SLA depends on incidents), so the
composition root registers the SLA clocks here (bootstrap.build); the services call
`incident_changed` inside their transaction, after their own writes, and every observer
runs in that same transaction."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from escalate.clock import Clock

IncidentObserver = Callable[[Session, Clock, int], None]

_observers: list[IncidentObserver] = []


def register(observer: IncidentObserver) -> None:
    """Add an observer once (the composition root may be built several times)."""
    if observer not in _observers:
        _observers.append(observer)


def unregister(observer: IncidentObserver) -> None:
    if observer in _observers:
        _observers.remove(observer)


def incident_changed(session: Session, clock: Clock, incident_id: int) -> None:
    for observer in list(_observers):
        observer(session, clock, incident_id)

"""Job kinds and their handlers. Each domain registers its kinds in the composition root."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from escalate.clock import Clock


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff: base * factor^(attempt-1), capped; a pure function of the attempt."""

    max_attempts: int = 5
    base: timedelta = timedelta(seconds=10)
    factor: float = 2.0
    cap: timedelta = timedelta(hours=1)

    def delay_after(self, attempt: int) -> timedelta:
        cap = self.cap.total_seconds()
        try:
            seconds = self.base.total_seconds() * self.factor ** max(attempt - 1, 0)
        except OverflowError:  # float power overflows for large attempt numbers
            seconds = cap
        # Cap before building the timedelta: a late attempt's raw delay would overflow it.
        return timedelta(seconds=min(seconds, cap))


@dataclass(frozen=True)
class JobContext:
    """What a handler gets: the session of the job's transaction, the clock and the payload.
    The handler's writes commit together with the job's completion, or not at all."""

    session: Session
    clock: Clock
    payload: dict[str, Any]
    job_id: int
    attempt: int


JobHandler = Callable[[JobContext], None]
# Makes sure a recurring job's next run is queued; idempotent, called when workers start.
RecurringSeed = Callable[[Session, Clock], None]


@dataclass(frozen=True)
class JobKind:
    name: str
    handler: JobHandler
    retry: RetryPolicy


@dataclass
class JobRegistry:
    kinds: dict[str, JobKind] = field(default_factory=dict)
    recurring: list[RecurringSeed] = field(default_factory=list)

    def register(self, name: str, handler: JobHandler, *, retry: RetryPolicy | None = None) -> None:
        if name in self.kinds:
            raise ValueError(f"job kind {name!r} registered twice")
        self.kinds[name] = JobKind(name=name, handler=handler, retry=retry or RetryPolicy())

    def register_recurring(self, name: str, handler: JobHandler, seed: RecurringSeed) -> None:
        """A job that queues its own next run; `seed` queues the first one."""
        self.register(name, handler)
        self.recurring.append(seed)

    def get(self, name: str) -> JobKind | None:
        return self.kinds.get(name)

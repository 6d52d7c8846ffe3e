"""Two overlapping overrides added at the same moment on PostgreSQL: exactly one wins.
(SQLite begins every write transaction with a lock, so there the two cannot interleave.)"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from schedule_support import MakeSchedule, RowCounts, weekly_layer

from escalate.auth.models import User
from escalate.auth.permissions import SYSTEM
from escalate.bootstrap import Container
from escalate.db import transaction
from escalate.errors import ValidationFailed
from escalate.oncall import schedules as schedule_service
from escalate.oncall.schemas import OverrideIn


# PostgreSQL only: SQLite begins every write transaction with its lock, so there the two
# cannot interleave and the race does not exist.
@pytest.mark.parametrize(
    "db_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
def test_only_one_of_two_racing_overlapping_overrides_is_kept(
    db_url: str,
    container: Container,
    people: list[User],
    make_schedule: MakeSchedule,
    row_counts: RowCounts,
) -> None:
    schedule_id = make_schedule([weekly_layer(people)])["id"]
    both_read = threading.Barrier(2, timeout=10)
    outcomes: list[str] = []

    def add(user: User, start_hour: int) -> None:
        data = OverrideIn(
            user=user.id,
            start_at=datetime(2025, 10, 23, start_hour, tzinfo=UTC),
            end_at=datetime(2025, 10, 23, start_hour + 4, tzinfo=UTC),
        )
        try:
            with transaction(container.session_factory, clock=container.clock) as session:
                schedule = schedule_service.get(session, actor=SYSTEM, schedule_id=schedule_id)
                assert schedule.overrides == []
                both_read.wait()  # both have seen a schedule without overrides
                schedule_service.add_override(
                    session, container.clock, actor=SYSTEM, schedule=schedule, data=data
                )
            outcomes.append("added")
        except ValidationFailed as exc:
            outcomes.append(f"refused {exc.field}")

    threads = [
        threading.Thread(target=add, args=(people[1], 8)),
        threading.Thread(target=add, args=(people[2], 10)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["added", "refused start_at"]
    assert row_counts()["schedule_overrides"] == 1

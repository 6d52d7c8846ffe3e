"""Shapes and builders the schedule tests share (fixtures are in conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from escalate.auth.models import User

MakeSchedule = Callable[..., dict[str, Any]]
RowCounts = Callable[[], dict[str, int]]
TokenFor = Callable[[User], dict[str, str]]


def weekly_layer(users: list[User], **changes: Any) -> dict[str, Any]:
    """A weekly rotation handing off Mondays 09:00 Berlin time (07:00Z in October)."""
    layer: dict[str, Any] = {
        "name": "Primary",
        "rotation": "weekly",
        "start_at": "2025-10-20T09:00:00+02:00",
        "participants": [user.email for user in users],
    }
    layer.update(changes)
    return layer

"""Builders for alert tests: integrations with their keys, and the shared fixture payloads."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest

from escalate.alerts import service as alert_service
from escalate.alerts.models import IntegrationKind
from escalate.alerts.schemas import IntegrationCreate
from escalate.auth.permissions import SYSTEM
from escalate.bootstrap import Container
from escalate.db import transaction

_counter = itertools.count()

MakeIntegration = Callable[..., tuple[int, str]]


@pytest.fixture
def make_integration(container: Container) -> MakeIntegration:
    """Builder: a committed integration; returns (id, key)."""

    def build(
        kind: IntegrationKind = IntegrationKind.ALERTMANAGER,
        *,
        name: str | None = None,
        service_id: int | None = None,
    ) -> tuple[int, str]:
        data = IntegrationCreate(
            name=name or f"Integration {next(_counter)}", kind=kind, default_service_id=service_id
        )
        with transaction(container.session_factory, clock=container.clock, actor=SYSTEM) as s:
            integration, key = alert_service.create_integration(
                s, container.clock, actor=SYSTEM, data=data
            )
            return integration.id, key

    return build

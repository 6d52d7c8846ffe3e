"""The routing snapshot: what the ingest path reads is kept between transactions while the
routing revision stands still, and read again after any change to routing."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from escalate.alerts.models import Integration, RoutingRule, Silence, SilenceKind
from escalate.alerts.snapshot import RoutingSnapshot
from escalate.auth.permissions import SYSTEM
from escalate.bootstrap import Container
from escalate.clock import FrozenClock
from escalate.db import transaction


def _read(container: Container, snapshot: RoutingSnapshot, integration_id: int):
    with container.session_factory() as session:
        session.info["clock"] = container.clock
        integration = snapshot.integration(session, integration_id)
        rules = snapshot.rules(session, integration_id)
        silences = snapshot.silences(session, container.clock.now())
        session.commit()
    return integration, rules, silences


def test_kept_between_transactions_while_routing_does_not_change(
    container: Container, make_integration
) -> None:
    integration_id, _key = make_integration()
    snapshot = RoutingSnapshot()
    first = _read(container, snapshot, integration_id)
    second = _read(container, snapshot, integration_id)
    assert second[0] is first[0] and second[1] is first[1]
    # Detached and fully loaded: readable after the commit that would have expired them.
    assert second[0].name.startswith("Integration") and second[1][-1].is_catch_all


def test_an_orm_change_to_a_rule_is_read_by_the_next_transaction(
    container: Container, make_integration
) -> None:
    integration_id, _key = make_integration()
    snapshot = RoutingSnapshot()
    _integration, rules, _silences = _read(container, snapshot, integration_id)
    with transaction(container.session_factory, clock=container.clock, actor=SYSTEM) as s:
        catch_all = s.get(RoutingRule, rules[-1].id)
        catch_all.escalation_policy = "database-oncall"
    _integration, rules, _silences = _read(container, snapshot, integration_id)
    assert rules[-1].escalation_policy == "database-oncall"


def test_a_bulk_update_of_an_integration_is_read_by_the_next_transaction(
    container: Container, make_integration
) -> None:
    integration_id, _key = make_integration()
    snapshot = RoutingSnapshot()
    assert _read(container, snapshot, integration_id)[0].is_active
    with transaction(container.session_factory, clock=container.clock, actor=SYSTEM) as s:
        s.execute(
            update(Integration).where(Integration.id == integration_id).values(is_active=False)
        )
    assert not _read(container, snapshot, integration_id)[0].is_active


def test_a_new_silence_and_the_end_of_one_are_seen(
    container: Container, make_integration, clock: FrozenClock
) -> None:
    integration_id, _key = make_integration()
    snapshot = RoutingSnapshot()
    assert _read(container, snapshot, integration_id)[2] == []
    now = clock.now()
    with transaction(container.session_factory, clock=clock, actor=SYSTEM) as s:
        s.add(
            Silence(
                kind=SilenceKind.MAINTENANCE,
                matchers=[],
                comment="database failover",
                starts_at=now,
                ends_at=now + timedelta(hours=1),
                created_at=now,
            )
        )
    assert len(_read(container, snapshot, integration_id)[2]) == 1
    clock.advance(timedelta(hours=1))
    assert _read(container, snapshot, integration_id)[2] == []  # ended, nothing changed

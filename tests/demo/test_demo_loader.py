"""The demo loader writes exactly the story of DEMO-STORY.md, once, on both engines."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from escalate import models
from escalate.accounts import service as account_service
from escalate.accounts.models import Account, HealthChange
from escalate.accounts.schemas import AccountCreate
from escalate.auth import audit
from escalate.auth import service as auth_service
from escalate.auth.models import AuditEntry, User
from escalate.auth.permissions import CLI_OPERATOR, SYSTEM
from escalate.bootstrap import Container
from escalate.clock import FrozenClock
from escalate.db import transaction
from escalate.demo import data
from escalate.demo.loader import DemoSummary, load, shift_to_yesterday
from escalate.errors import Conflict, ValidationFailed
from escalate.incidents.models import IncidentEvent
from escalate.sla import service as sla_service


def _load(container: Container, shift: timedelta | None = None) -> DemoSummary:
    with transaction(
        container.session_factory, clock=container.clock, actor=CLI_OPERATOR
    ) as session:
        return load(session, container.clock, shift=shift)


def _row_counts(container: Container) -> dict[str, int]:
    with container.session_factory() as session:
        return {
            table.name: session.scalar(select(func.count()).select_from(table)) or 0
            for table in models.Base.metadata.sorted_tables
        }


def _techcorp(session: Session) -> Account:
    account = account_service.get_by_name(session, name="TechCorp Solutions")
    assert account is not None
    return account


def _history(session: Session, account: Account) -> list[HealthChange]:
    stmt = (
        select(HealthChange)
        .where(HealthChange.account_id == account.id)
        .order_by(HealthChange.changed_at)
    )
    return list(session.scalars(stmt))


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


# --- the story, exactly ----------------------------------------------------------------


def test_staff_users(container: Container) -> None:
    _load(container)
    with container.session_factory() as session:
        users = {u.email: u for u in session.scalars(select(User))}
        assert {e: (u.name, u.role, u.title) for e, u in users.items()} == {
            "admin@escalate.example": ("Escalate Admin", "admin", None),
            "alex.johnson@escalate.example": ("Alex Johnson", "manager", data.ALEX.title),
            "maria.sanchez@escalate.example": ("Maria Sanchez", "manager", "Account Executive"),
            "james.wilson@escalate.example": ("James Wilson", "responder", data.JAMES.title),
            "rachel.green@escalate.example": ("Rachel Green", "viewer", "Product Manager"),
            **{
                member.email: (member.name, "responder", "Support Engineer")
                for member in (*data.SUPPORT_APAC, *data.SUPPORT_EMEA, *data.SUPPORT_AMERICAS)
            },
        }
        assert data.ALEX.title == "Customer Success Manager"
        assert data.JAMES.title == "Technical Support Lead"
        for email in users:
            user = auth_service.authenticate_password(
                session, email=email, password="escalate-demo"
            )
            assert user.created_at == utc(2025, 1, 1, 14, 0)


def test_sla_policy_and_service(container: Container) -> None:
    _load(container)
    with container.session_factory() as session:
        policy = sla_service.get_by_name(session, name="Enterprise")
        assert policy is not None
        targets = {
            t.severity: (
                t.acknowledgement_minutes,
                t.first_update_minutes,
                t.update_interval_minutes,
                t.resolution_minutes,
            )
            for t in policy.targets
        }
        assert targets == {
            "SEV1": (15, 30, 30, 240),
            "SEV2": (30, 60, 60, 480),
            "SEV3": (120, 240, 240, 4320),
            "SEV4": (480, 1440, 1440, 10080),
        }
        assert policy.uptime_target_percent == Decimal("99.9")
        assert policy.credit_cap_percent == Decimal("100")
        assert [(c.below_uptime_percent, c.credit_percent) for c in policy.credit_tiers] == [
            (Decimal("99.9"), Decimal("10")),
            (Decimal("99.0"), Decimal("25")),
            (Decimal("95.0"), Decimal("100")),
        ]
        assert account_service.get_service_by_name(session, name="Production API") is not None


def test_account_contacts_services_and_contract(container: Container) -> None:
    summary = _load(container)
    with container.session_factory() as session:
        account = _techcorp(session)
        assert summary.account_id == account.id
        assert (account.tier, account.timezone, account.health) == (
            "enterprise",
            "America/New_York",
            "neutral",
        )
        assert account.csm is not None and account.csm.name == "Alex Johnson"
        assert account.created_at == utc(2025, 1, 1, 14, 0)

        contacts = {c.name: c for c in account.contacts}
        assert set(contacts) == {"Sarah Mitchell", "Customer's Representative"}
        sarah = contacts["Sarah Mitchell"]
        assert sarah.email == "sarah.mitchell@techcorp.example"
        assert sarah.role == "Customer lead"
        assert sarah.receives_incident_notifications is True
        advocate = contacts["Customer's Representative"]
        assert (advocate.role, advocate.email, advocate.receives_incident_notifications) == (
            "Customer Advocate",
            None,
            False,
        )

        assert [(u.service.name, u.environment) for u in account.service_usages] == [
            ("Production API", "production")
        ]

        [contract] = account.contracts
        assert contract.sla_policy.name == "Enterprise"
        assert (contract.term_start, contract.term_end, contract.renewal_date) == (
            date(2025, 1, 1),
            date(2025, 12, 31),
            date(2026, 1, 1),
        )
        assert contract.monthly_fee == Decimal("5000.00")
        assert contract.currency == "USD"


def test_health_history(container: Container) -> None:
    _load(container)
    with container.session_factory() as session:
        account = _techcorp(session)
        history = _history(session, account)
        assert [(h.from_health, h.to_health, h.changed_at) for h in history] == [
            (None, "healthy", utc(2025, 1, 1, 14, 0)),
            ("healthy", "critical", utc(2025, 10, 23, 13, 0)),
            # 15:30 in New York on 2025-10-25 (EDT, UTC-4): the end of the review meeting
            ("critical", "neutral", utc(2025, 10, 25, 19, 30)),
        ]
        alex = auth_service.get_by_email(session, email="alex.johnson@escalate.example")
        assert alex is not None
        assert {h.changed_by_user_id for h in history} == {alex.id}
        assert "45-minute delay" in history[1].reason
        assert "critical to neutral" in history[2].reason
        assert account.updated_at == utc(2025, 10, 25, 19, 30)


def test_audit_records_the_real_load_by_its_operator(container: Container) -> None:
    _load(container)
    with container.session_factory() as session:
        entries = list(session.scalars(select(AuditEntry)))
    assert entries
    assert {e.actor_label for e in entries} == {"cli"}
    assert {e.at for e in entries} == {container.clock.now()}
    # A set password shows as changed, never with its hash.
    hashes = {(e.after or {}).get("password_hash") for e in entries if e.entity_type == "users"}
    assert hashes == {audit.SECRET}


# --- idempotence -------------------------------------------------------------------------


def test_loading_twice_changes_nothing(container: Container, clock: FrozenClock) -> None:
    first = _load(container)
    assert first.changed
    assert first.created["users"] == len(data.STAFF) == 11
    assert first.created["schedules"] == 1
    assert first.created["health_changes"] == 3
    counts = _row_counts(container)
    assert counts["audit_log"] > 0

    clock.advance(hours=1)
    second = _load(container)
    assert not second.changed
    assert sum(second.existing.values()) == sum(first.created.values())
    assert _row_counts(container) == counts


def test_loading_twice_with_the_same_shift_changes_nothing(container: Container) -> None:
    _load(container, timedelta(days=30))
    counts = _row_counts(container)
    assert not _load(container, timedelta(days=30)).changed
    assert _row_counts(container) == counts


def test_loading_with_another_shift_is_refused(container: Container) -> None:
    _load(container)
    counts = _row_counts(container)
    with pytest.raises(Conflict) as caught:
        _load(container, timedelta(days=7))
    assert caught.value.field == "shift"
    assert _row_counts(container) == counts


def test_an_account_made_by_hand_is_not_taken_over(container: Container) -> None:
    with transaction(container.session_factory, clock=container.clock, actor=SYSTEM) as session:
        account_service.create(
            session,
            container.clock,
            actor=SYSTEM,
            data=AccountCreate(name="TechCorp Solutions", tier="standard"),
        )
    with pytest.raises(Conflict, match="already exists"):
        _load(container)


# --- moving the story --------------------------------------------------------------------


def test_shift_moves_every_date_and_keeps_every_interval(container: Container) -> None:
    shift = timedelta(days=400)
    _load(container, shift)
    with container.session_factory() as session:
        account = _techcorp(session)
        assert account.created_at == utc(2025, 1, 1, 14, 0) + shift
        [contract] = account.contracts
        assert contract.term_start == date(2025, 1, 1) + shift
        assert contract.term_end == date(2025, 12, 31) + shift
        assert contract.renewal_date == date(2026, 1, 1) + shift
        times = [h.changed_at for h in _history(session, account)]
        assert times == [t + shift for t in (data.SETUP_AT, *(s.at for s in data.HEALTH_STEPS))]
        user = auth_service.get_by_email(session, email=data.ALEX.email)
        assert user is not None and user.created_at == data.SETUP_AT + shift


def test_shift_must_be_whole_days(container: Container) -> None:
    with pytest.raises(ValidationFailed) as caught:
        _load(container, timedelta(hours=5))
    assert caught.value.field == "shift"
    assert _row_counts(container)["users"] == 0


def test_shift_to_yesterday_examples() -> None:
    # 2026-03-10 03:00 UTC is still 2026-03-09 in New York: yesterday there is 03-08.
    shift = shift_to_yesterday(utc(2026, 3, 10, 3, 0))
    assert date(2025, 10, 25) + shift == date(2026, 3, 8)
    assert shift_to_yesterday(utc(2025, 10, 26, 12, 0)) == timedelta(0)


@given(st.datetimes(min_value=datetime(2025, 11, 1), max_value=datetime(2035, 12, 31)))
def test_shift_to_yesterday_puts_the_meeting_on_yesterday(now_naive: datetime) -> None:
    now = now_naive.replace(tzinfo=UTC)
    shift = shift_to_yesterday(now)
    assert shift % timedelta(days=1) == timedelta(0)
    yesterday = now.astimezone(data.NEW_YORK).date() - timedelta(days=1)
    for moment in (data.REVIEW_MEETING_START, data.REVIEW_MEETING_END):
        assert (moment + shift).astimezone(data.NEW_YORK).date() == yesterday


def test_the_demo_monitoring_misroutes_the_database_alert_and_raises_the_alarm(
    container: Container,
) -> None:
    from escalate.alerts import rules as rule_service
    from escalate.alerts.models import Alert
    from escalate.alerts.schemas import RouteTest, SampleAlert
    from escalate.incidents.models import Incident

    _load(container)
    with container.session_factory() as session:
        alerts = {a.labels["alertname"]: a for a in session.scalars(select(Alert))}
        failover = alerts["PrimaryDatabaseFailoverFailed"]
        assert failover.first_seen_at == datetime(2025, 10, 22, 13, 1, tzinfo=UTC)
        assert (failover.status, failover.routed) == ("resolved", False)
        assert "catch-all" in (failover.unrouted_reason or "")
        incident = session.get(Incident, failover.incident_id)
        assert incident is not None
        assert (incident.number, incident.severity, incident.status) == (1, "SEV1", "resolved")
        assert incident.resolved_at == datetime(2025, 10, 22, 19, 0, tzinfo=UTC)
        # The misroute is still there: today's database alert is open and unrouted.
        live = alerts["DatabaseReplicationLagHigh"]
        assert (live.status, live.routed, live.suppressed) == ("triggered", False, False)
        assert live.first_seen_at == container.clock.now()
        # With the label the retired team used, the same alert would have been routed.
        fixed = rule_service.test_route(
            session,
            container.clock,
            actor=SYSTEM,
            data=RouteTest(
                integration=data.MONITORING_INTEGRATION,
                alert=SampleAlert(labels={**failover.labels, "team": "dba"}),
            ),
        )
        assert fixed.routed and fixed.rule.name == data.MISROUTED_RULE.name


def test_the_support_rotation_covers_every_hour_from_the_day_after_the_outage(
    container: Container,
) -> None:
    from escalate.oncall import schedules as schedule_service

    _load(container)
    with container.session_factory() as session:
        schedule = schedule_service.get_by_name(session, name="Support follow-the-sun")
        assert schedule is not None
        assert [layer.name for layer in schedule.layers] == ["APAC", "EMEA", "Americas"]
        # Four weeks from the rotation's start: no gap at all, eight hours per region a day.
        start, end = utc(2025, 10, 23, 0, 0), utc(2025, 11, 20, 0, 0)
        assert (
            schedule_service.gaps(session, actor=SYSTEM, schedule=schedule, start=start, end=end)
            == []
        )
        on_call = {
            hour: schedule_service.on_call(
                session, actor=SYSTEM, schedule=schedule, at=utc(2025, 10, 24, hour, 30)
            )
            for hour in (3, 12, 20)
        }
        names = {
            hour: view.shift.user.name if view.shift else None for hour, view in on_call.items()
        }
        assert names == {3: "Wei Chen", 12: "Liam O'Brien", 20: "Daniel Kim"}
        # The outage day is before the rotation: the gap the story's outage fell into.
        outage = schedule_service.gaps(
            session, actor=SYSTEM, schedule=schedule, start=utc(2025, 10, 22), end=utc(2025, 10, 23)
        )
        assert len(outage) == 1


def test_the_support_policy_pages_the_rotation_then_james_and_the_route_tester_says_who(
    container: Container,
) -> None:
    from escalate.alerts import rules as rule_service
    from escalate.alerts.schemas import RouteTest, SampleAlert
    from escalate.clock import FrozenClock
    from escalate.oncall import escalation
    from escalate.oncall import policies as policy_service

    _load(container)
    with container.session_factory() as session:
        policy = policy_service.get_by_name(session, name="Support 24/7")
        assert policy is not None and policy.repeat_count == 1
        first, second = policy.steps
        assert [t.schedule.name for t in first.targets if t.schedule] == ["Support follow-the-sun"]
        assert [t.user.name for t in second.targets if t.user] == ["James Wilson"]
        assert (first.delay_minutes, second.delay_minutes) == (15, 15)

        # 20:30 UTC on a rotation day: the Americas layer, Daniel Kim the first week.
        at = FrozenClock(utc(2025, 10, 24, 20, 30))

        def route(team: str) -> tuple[bool, list[str] | None]:
            result = rule_service.test_route(
                session,
                at,
                actor=SYSTEM,
                data=RouteTest(
                    integration=data.MONITORING_INTEGRATION,
                    alert=SampleAlert(labels={"team": team, "alertname": "X"}),
                ),
            )
            answered = escalation.with_people(session, at, result)
            return answered.routed, answered.people

        # The working route reaches the person on call now; the story's misroute nobody.
        routed, people = route("platform")
        assert routed and people is not None and len(people) == 1
        assert people[0].startswith("Daniel Kim")
        assert route("database") == (False, None)


def test_the_demo_outage_is_the_incident_with_the_storys_breaches_and_misses(
    container: Container,
) -> None:
    from escalate.incidents import checklists
    from escalate.incidents.models import Incident
    from escalate.pagination import PageParams
    from escalate.sla import reads as sla_reads

    _load(container)
    with container.session_factory() as session:
        incident = session.scalars(select(Incident).where(Incident.number == 1)).one()
        assert (incident.severity, incident.status) == ("SEV1", "resolved")
        assert incident.started_at == utc(2025, 10, 22, 13, 0)
        assert incident.acknowledged_at == utc(2025, 10, 22, 13, 42)
        assert incident.first_customer_update_at == utc(2025, 10, 22, 13, 45)
        assert incident.resolved_at == utc(2025, 10, 22, 19, 0)
        clocks = sla_reads.list_for_incident(
            session,
            container.clock,
            actor=SYSTEM,
            incident_id=incident.id,
            page=PageParams(limit=50, offset=0),
        ).items
        assert {c.account_name for c in clocks} == {"TechCorp Solutions"}
        seen = {
            (c.kind.value, c.sequence): (c.target_minutes, c.breached, c.late_minutes)
            for c in clocks
        }
        assert seen == {
            ("acknowledgement", 0): (15, True, 30),
            ("update", 0): (30, True, 100),
            ("update", 1): (30, True, 110),
            ("update", 2): (30, True, 60),
            ("resolution", 0): (240, True, 120),
        }
        outcomes = {c.title: c.outcome for c in checklists.compliance(session, incident.id)}
        assert outcomes["Affected customers acknowledged"] == "late"
        assert outcomes["Incident commander assigned"] == "late"
        assert outcomes["Executive sponsor informed"] == "missed"
        # Judged from the update clocks at resolution: three late updates.
        assert outcomes["Customer updates at least every 30 minutes"] == "missed"
        cadence = [
            e.summary
            for e in session.scalars(
                select(IncidentEvent).where(
                    IncidentEvent.incident_id == incident.id, IncidentEvent.kind == "checklist"
                )
            )
            if "cadence" in e.summary
        ]
        assert cadence == [
            "Checklist: update cadence not kept: 3 customer update(s) late for 1 account(s), "
            "the worst by 110 min"
        ]

"""Load the demo story into a database through the domain services, idempotently.

The caller owns the transaction (and the session's audit clock and actor); the loader only
flushes. Each row gets the story's time by handing the service a clock frozen at that
moment, so every rule stays in the services."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from escalate.accounts import service as account_service
from escalate.accounts.models import Account, Service
from escalate.accounts.schemas import (
    AccountCreate,
    ContactCreate,
    ContractCreate,
    HealthChangeIn,
    ServiceUsageIn,
)
from escalate.alerts import rules as rule_service
from escalate.alerts import service as alert_service
from escalate.alerts.models import Alert, Integration, IntegrationKind
from escalate.alerts.schemas import AlertmanagerWebhook, IntegrationCreate
from escalate.auth import service as auth_service
from escalate.auth.models import User
from escalate.auth.permissions import SYSTEM
from escalate.auth.schemas import UserCreate
from escalate.clock import Clock, FrozenClock
from escalate.demo import data
from escalate.errors import Conflict, ValidationFailed
from escalate.incidents import checklists, lifecycle, opening, roles
from escalate.incidents.models import (
    AffectedAccount,
    Audience,
    Incident,
    IncidentStatus,
    StatusUpdate,
    UpdateKind,
)
from escalate.oncall import policies as policy_service
from escalate.oncall import schedules as schedule_service
from escalate.oncall.models import EscalationPolicy, Schedule
from escalate.sla import clocks as sla_clocks
from escalate.sla import service as sla_service
from escalate.sla.models import SlaPolicy

ONE_DAY = timedelta(days=1)


@dataclass
class DemoSummary:
    """What a load did: rows created and rows found already there, by kind."""

    account_id: int
    shift: timedelta
    loaded_at: datetime
    created: Counter[str] = field(default_factory=Counter)
    existing: Counter[str] = field(default_factory=Counter)

    @property
    def changed(self) -> bool:
        return sum(self.created.values()) > 0

    @property
    def kinds(self) -> list[str]:
        """Every kind of row the load looked at, in the order it looked."""
        return list(dict.fromkeys([*self.created, *self.existing]))


def shift_to_yesterday(now: datetime) -> timedelta:
    """The whole-day offset that puts the review meeting's date on yesterday (New York)."""
    yesterday = now.astimezone(data.NEW_YORK).date() - ONE_DAY
    return timedelta(days=(yesterday - data.REVIEW_MEETING_DATE).days)


def load(session: Session, clock: Clock, *, shift: timedelta | None = None) -> DemoSummary:
    """Create whatever of the demo story is missing; return what was created and found.

    `clock` is the real clock (the moment of loading); the story's rows get the story's
    times, moved by `shift` (a whole number of days)."""
    shift = shift or timedelta(0)
    if shift % ONE_DAY:
        raise ValidationFailed("the demo story moves by whole days only", field="shift")
    run = _Load(session, shift)
    users = {member.email: run.user(member) for member in data.STAFF}
    policy = run.policy()
    service = run.service()
    account = run.account(csm=users[data.TECHCORP.csm_email])
    for contact in data.CONTACTS:
        run.contact(account, contact)
    run.usage(account, service)
    run.contract(account, policy)
    for step in data.HEALTH_STEPS:
        run.health(account, step, recorded_by=users[step.recorded_by])
    run.support_rotation()
    run.support_policy()
    integration = run.monitoring(service)
    run.outage(integration, staff=users, now=clock.now())
    for alert in data.DEMO_ALERTS:
        if alert is not data.FAILOVER_ALERT:  # the outage's, loaded with its incident above
            run.alert(integration, alert, now=clock.now())
    return DemoSummary(
        account_id=account.id,
        shift=shift,
        loaded_at=clock.now(),
        created=run.created,
        existing=run.existing,
    )


class _Load:
    """One load: the session, the story's offset and the tally of what was done."""

    def __init__(self, session: Session, shift: timedelta) -> None:
        self.session = session
        self.shift = shift
        self.created: Counter[str] = Counter()
        self.existing: Counter[str] = Counter()

    # -- the story's time ----------------------------------------------------------------

    def at(self, moment: datetime) -> datetime:
        return moment + self.shift

    def on(self, day: date) -> date:
        return day + timedelta(days=self.shift.days)

    def clock_at(self, moment: datetime) -> FrozenClock:
        return FrozenClock(self.at(moment))

    def _tally(self, kind: str, *, created: bool) -> None:
        (self.created if created else self.existing)[kind] += 1

    # -- one step per kind of row --------------------------------------------------------

    def user(self, member: data.StaffMember) -> User:
        user = auth_service.get_by_email(self.session, email=member.email)
        self._tally("users", created=user is None)
        if user is not None:
            return user
        return auth_service.create(
            self.session,
            self.clock_at(data.SETUP_AT),
            actor=SYSTEM,
            data=UserCreate(
                email=member.email,
                name=member.name,
                role=member.role,
                title=member.title,
                password=data.DEMO_PASSWORD,
            ),
        )

    def policy(self) -> SlaPolicy:
        policy = sla_service.get_by_name(self.session, name=data.ENTERPRISE_POLICY.name)
        self._tally("sla_policies", created=policy is None)
        if policy is not None:
            return policy
        return sla_service.create(self.session, actor=SYSTEM, data=data.ENTERPRISE_POLICY)

    def service(self) -> Service:
        service = account_service.get_service_by_name(self.session, name=data.PRODUCTION_API.name)
        self._tally("services", created=service is None)
        if service is not None:
            return service
        return account_service.create_service(self.session, actor=SYSTEM, data=data.PRODUCTION_API)

    def account(self, *, csm: User) -> Account:
        spec = data.TECHCORP
        created_at = self.at(data.SETUP_AT)
        account = account_service.get_by_name(self.session, name=spec.name)
        self._tally("accounts", created=account is None)
        if account is not None:
            if account.created_at != created_at:
                raise Conflict(
                    f"an account named {spec.name!r} already exists, created at "
                    f"{account.created_at.isoformat()} and not at the story's "
                    f"{created_at.isoformat()}: it was made by hand or by a demo load with "
                    "another shift; load the demo into a fresh database",
                    field="shift",
                )
            self._tally("health_changes", created=False)  # the starting health
            return account
        account = account_service.create(
            self.session,
            self.clock_at(data.SETUP_AT),
            actor=auth_service.actor_for(csm),
            data=AccountCreate(
                name=spec.name,
                tier=spec.tier,
                timezone=spec.timezone,
                health=spec.starting_health,
                csm_user_id=csm.id,
            ),
        )
        self._tally("health_changes", created=True)  # the starting health opens the history
        return account

    def contact(self, account: Account, contact: ContactCreate) -> None:
        def same(existing_email: str | None, existing_name: str) -> bool:
            if contact.email:
                return (existing_email or "").lower() == contact.email.lower()
            return existing_name.lower() == contact.name.lower()

        found = any(same(c.email, c.name) for c in account.contacts)
        self._tally("contacts", created=not found)
        if not found:
            account_service.add_contact(self.session, actor=SYSTEM, account=account, data=contact)

    def usage(self, account: Account, service: Service) -> None:
        environment = data.TECHCORP.environment
        found = any(
            u.service_id == service.id and u.environment == environment
            for u in account.service_usages
        )
        self._tally("service_usages", created=not found)
        if not found:
            account_service.add_service_usage(
                self.session,
                actor=SYSTEM,
                account=account,
                data=ServiceUsageIn(service_id=service.id, environment=environment),
            )

    def contract(self, account: Account, policy: SlaPolicy) -> None:
        spec = data.CONTRACT
        term_start = self.on(spec.term_start)
        found = any(
            c.sla_policy_id == policy.id and c.term_start == term_start for c in account.contracts
        )
        self._tally("contracts", created=not found)
        if not found:
            account_service.add_contract(
                self.session,
                actor=SYSTEM,
                account=account,
                data=ContractCreate(
                    sla_policy_id=policy.id,
                    term_start=term_start,
                    term_end=self.on(spec.term_end),
                    renewal_date=self.on(spec.renewal_date),
                    monthly_fee=spec.monthly_fee,
                    currency=spec.currency,
                ),
            )

    def health(self, account: Account, step: data.HealthStep, *, recorded_by: User) -> None:
        changed_at = self.at(step.at)
        found = any(
            h.changed_at == changed_at and h.to_health == step.health
            for h in account.health_changes
        )
        self._tally("health_changes", created=not found)
        if not found:
            account_service.change_health(
                self.session,
                self.clock_at(step.at),
                actor=auth_service.actor_for(recorded_by),
                account=account,
                data=HealthChangeIn(health=step.health, reason=step.reason),
            )

    def support_rotation(self) -> Schedule:
        """The support team's 24/7 follow-the-sun schedule, moved with the story."""
        schedule = schedule_service.get_by_name(self.session, name=data.SUPPORT_ROTATION.name)
        self._tally("schedules", created=schedule is None)
        if schedule is not None:
            return schedule
        layers = [
            layer.model_copy(update={"start_at": self.at(layer.start_at)})
            for layer in data.SUPPORT_ROTATION.layers
        ]
        return schedule_service.create(
            self.session,
            self.clock_at(data.ROTATION_START),
            actor=SYSTEM,
            data=data.SUPPORT_ROTATION.model_copy(update={"layers": layers}),
        )

    def support_policy(self) -> EscalationPolicy:
        """ "Support 24/7": the rotation, then James Wilson (issue 4's demo)."""
        policy = policy_service.get_by_name(self.session, name=data.SUPPORT_POLICY.name)
        self._tally("escalation_policies", created=policy is None)
        if policy is not None:
            return policy
        return policy_service.create(
            self.session, self.clock_at(data.ROTATION_START), actor=SYSTEM, data=data.SUPPORT_POLICY
        )

    def monitoring(self, service: Service) -> Integration:
        """The Prometheus integration with the story's misrouted database rule. Its key is
        not kept: rotate it on the integration's page to send alerts to it."""
        integration = alert_service.get_integration_by_name(
            self.session, name=data.MONITORING_INTEGRATION
        )
        self._tally("integrations", created=integration is None)
        if integration is None:
            integration, _key = alert_service.create_integration(
                self.session,
                self.clock_at(data.SETUP_AT),
                actor=SYSTEM,
                data=IntegrationCreate(
                    name=data.MONITORING_INTEGRATION,
                    kind=IntegrationKind.ALERTMANAGER,
                    default_service_id=service.id,
                ),
            )
        names = {rule.name for rule in alert_service.rules_of(self.session, integration.id)}
        for rule in (data.MISROUTED_RULE, data.API_RULE):
            self._tally("routing_rules", created=rule.name not in names)
            if rule.name not in names:
                rule_service.create_rule(
                    self.session,
                    actor=SYSTEM,
                    integration_id=integration.id,
                    data=rule.model_copy(update={"service_id": service.id}),
                )
        return integration

    def outage(self, integration: Integration, *, staff: dict[str, User], now: datetime) -> None:
        """The story's outage as it went: the misrouted alert opens incident #1 at 13:01,
        nobody is paged until James Wilson acknowledges by hand at 13:42, and TechCorp hears
        at 13:45, 15:10, 17:30 and 19:20 (after the 19:00 restoration). The updates are the
        record of what was sent then: stored, never mailed again. The SLA clocks and the
        checklist then show what the contract and the protocol say of it."""
        failover = data.FAILOVER_ALERT
        seen = self._seen(integration, failover)
        self._tally("alerts", created=not seen)
        if seen:
            return
        assert failover.fired_at is not None and failover.resolved_at is not None
        self._send(integration, failover, "firing", self.at(failover.fired_at))
        incident = self._incident_of(integration, failover)
        james, alex = staff[data.JAMES.email], staff[data.ALEX.email]
        incident.started_at = self.at(data.OUTAGE_START)
        incident.detected_at = self.at(data.OUTAGE_DETECTED_AT)
        opening.on_opened(self.session, self.clock_at(data.OUTAGE_DETECTED_AT), incident.id)
        self._record_techcorp_impact(incident)
        lifecycle.acknowledge(
            self.session,
            self.clock_at(data.JAMES_ACKNOWLEDGED_AT),
            actor=auth_service.actor_for(james),
            incident_id=incident.id,
            via="a page sent by hand",
        )
        for role, holder, at in (
            ("commander", james, data.JAMES_ACKNOWLEDGED_AT),
            ("communications_lead", alex, data.OUTAGE_UPDATES[0].at),
        ):
            roles.assign(
                self.session,
                self.clock_at(at),
                actor=auth_service.actor_for(holder),
                incident_id=incident.id,
                role=role,
                user_id=holder.id,
            )
        restored = False
        for update in data.OUTAGE_UPDATES:
            if update.at > failover.resolved_at and not restored:
                self._send(integration, failover, "resolved", self.at(failover.resolved_at))
                restored = True
            self._recorded_update(incident, update, by=alex)
        sla_clocks.sync(self.session, FrozenClock(now), incident.id)

    def _record_techcorp_impact(self, incident: Incident) -> None:
        """The derived account carries what the outage cost TechCorp; its window ends with
        the restoration (when the monitoring tool resolves the alert)."""
        impact = self.session.scalar(
            select(AffectedAccount)
            .join(Account, Account.id == AffectedAccount.account_id)
            .where(AffectedAccount.incident_id == incident.id, Account.name == data.TECHCORP.name)
        )
        assert impact is not None, "TechCorp uses the Production API: it is derived as affected"
        impact.affected_users = data.TECHCORP_AFFECTED_USERS
        impact.business_impact = data.TECHCORP_BUSINESS_IMPACT

    def _seen(self, integration: Integration, alert: data.DemoAlert) -> bool:
        return (
            self.session.scalar(
                select(Alert.id).where(
                    Alert.integration_id == integration.id, Alert.dedup_key == alert.fingerprint
                )
            )
            is not None
        )

    def _incident_of(self, integration: Integration, alert: data.DemoAlert) -> Incident:
        incident = self.session.scalar(
            select(Incident)
            .join(Alert, Alert.incident_id == Incident.id)
            .where(Alert.integration_id == integration.id, Alert.dedup_key == alert.fingerprint)
        )
        assert incident is not None
        return incident

    def _recorded_update(self, incident: Incident, update: data.DemoUpdate, *, by: User) -> None:
        """A customer update as it was sent: on the timeline and the clocks, not mailed."""
        self.session.refresh(incident)  # the ingest path changes it with plain SQL
        at = self.at(update.at)
        clock = self.clock_at(update.at)
        row = StatusUpdate(
            incident_id=incident.id,
            kind=UpdateKind(update.kind),
            status=IncidentStatus(update.status),
            audience=Audience.CUSTOMERS,
            message=update.message,
            author_user_id=by.id,
            posted_at=at,
        )
        self.session.add(row)
        self.session.flush()
        lifecycle.record_event(
            self.session,
            incident_id=incident.id,
            at=at,
            kind="update",
            summary=f"Update to customers ({update.kind}): {update.message}",
            actor_user_id=by.id,
            actor_label=by.name,
            data={"status_update_id": row.id, "audience": "customers", "kind": update.kind},
        )
        if incident.first_customer_update_at is None:
            incident.first_customer_update_at = at
        checklists.record(self.session, clock, incident.id, "customers_acknowledged", at, by.id)
        if update.kind != UpdateKind.ACKNOWLEDGEMENT:
            checklists.record(self.session, clock, incident.id, "first_update", at, by.id)
        if incident.status != IncidentStatus.RESOLVED and update.status != incident.status:
            lifecycle.transition(
                self.session,
                clock,
                auth_service.actor_for(by),
                incident.id,
                IncidentStatus(update.status),
                via="update",
            )

    def alert(self, integration: Integration, alert: data.DemoAlert, *, now: datetime) -> None:
        """Send the alert through the real ingest path, as Alertmanager would have."""
        seen = self.session.scalar(
            select(Alert.id).where(
                Alert.integration_id == integration.id, Alert.dedup_key == alert.fingerprint
            )
        )
        self._tally("alerts", created=seen is None)
        if seen is not None:
            return
        fired_at = self.at(alert.fired_at) if alert.fired_at else now
        self._send(integration, alert, "firing", fired_at)
        if alert.resolved_at is not None:
            self._send(integration, alert, "resolved", self.at(alert.resolved_at))

    def _send(
        self, integration: Integration, alert: data.DemoAlert, status: str, at: datetime
    ) -> None:
        body = {
            "version": "4",
            "status": status,
            "receiver": "escalate",
            "alerts": [
                {
                    "status": status,
                    "labels": alert.labels,
                    "annotations": {"summary": alert.summary},
                    "startsAt": self.at(alert.fired_at or at).isoformat(),
                    "endsAt": at.isoformat() if status == "resolved" else None,
                    "fingerprint": alert.fingerprint,
                }
            ],
        }
        alert_service.ingest_alertmanager(
            self.session,
            FrozenClock(at),
            integration=integration,
            payload=AlertmanagerWebhook.model_validate(body),
        )

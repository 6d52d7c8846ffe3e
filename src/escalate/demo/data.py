"""The facts of the demo story as constants: TechCorp Solutions, its people, its contract,
its SLA policy and its health through the October 2025 escalation.

Source: docs/DEMO-STORY.md (which makes the meeting notes in
seed/escalation-review-2025-10-25.md exact). Choices made here, where the story is open:

- Staff users. Alex Johnson (manager, "Customer Success Manager"), Maria Sanchez (manager,
  "Account Executive"), James Wilson (responder, "Technical Support Lead"), Rachel Green
  (viewer, "Product Manager"), e-mails first.last@escalate.example, plus an administrator,
  admin@escalate.example ("Escalate Admin"; not admin@escalate.local, which the e-mail
  validator of UserCreate refuses: ".local" is a special-use domain, RFC 6762). Every
  demo user has the password
  "escalate-demo": this is a local demo, and `escalate serve --demo-hint` prints it.
- Setup moment. The staff users and the account are created at 2025-01-01 09:00 New York
  (14:00 UTC), the first day of the contract; the account starts "healthy".
- Contacts. Sarah Mitchell, role "Customer lead", sarah.mitchell@techcorp.example, receives
  incident notifications. The customer advocate is stored as the notes give them: name
  "Customer's Representative", role "Customer Advocate", no e-mail, so no notifications
  (a notified contact needs an e-mail).
- Service "Production API", used by TechCorp in its production environment.
- Contract 2025-01-01 to 2025-12-31, renewal 2026-01-01, 5,000.00 USD a month, SLA policy
  "Enterprise" (targets and credit tiers exactly as in DEMO-STORY.md).
- Health history, all recorded by Alex Johnson as the account's customer success manager:
  healthy at 2025-01-01 09:00 New York (account created); critical at 2025-10-23 09:00
  New York (13:00 UTC), when the escalation case is opened after the outage; neutral at
  2025-10-25 15:30 New York (19:30 UTC), at the end of the review meeting.
- Audit trail. The rows carry the story's times (created_at, changed_at); the audit log
  records the real moment of loading and whoever ran the loader (e.g. "cli"), because that
  is what happened to this database.
- Idempotence. Everything is found by its natural key (user e-mail, policy, service and
  account name, contact e-mail or name, usage by service and environment, contract by
  policy and start date, health change by time and value) before anything is created, so
  a second load writes no row and no audit entry. An account "TechCorp Solutions" that the
  loader did not create with the same dates (made by hand, or loaded with another shift)
  is refused, naming `shift`: load the demo into a fresh database instead.
- Moving the story. `shift` moves every instant and date of the story by one whole number
  of days. `escalate demo load --shift-to-yesterday` picks the offset that makes the review
  meeting's day (2025-10-25) yesterday in New York. Instants move by whole 24-hour days, so
  every interval of the story stays exact; across a daylight-saving change, New York
  wall-clock times then differ by an hour from the literal story.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

from escalate.accounts.models import Environment, Health, Tier
from escalate.accounts.schemas import ContactCreate, ServiceCreate
from escalate.alerts.models import MatchOp
from escalate.alerts.schemas import MatcherIn, RoutingRuleCreate
from escalate.auth.models import Role
from escalate.incidents.models import IncidentSeverity
from escalate.oncall.calculator import Rotation
from escalate.oncall.policy_schemas import PolicyCreate, StepIn
from escalate.oncall.schemas import LayerIn, RestrictionIn, ScheduleIn
from escalate.sla.models import Severity
from escalate.sla.schemas import CreditTierIn, SlaPolicyCreate, SlaTargetIn

NEW_YORK = ZoneInfo("America/New_York")


def new_york(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A New York wall-clock time as an aware UTC datetime."""
    return datetime(year, month, day, hour, minute, tzinfo=NEW_YORK).astimezone(UTC)


DEMO_PASSWORD = "escalate-demo"


@dataclass(frozen=True)
class StaffMember:
    email: str
    name: str
    role: Role
    title: str | None


ADMIN = StaffMember("admin@escalate.example", "Escalate Admin", Role.ADMIN, None)
ALEX = StaffMember(
    "alex.johnson@escalate.example", "Alex Johnson", Role.MANAGER, "Customer Success Manager"
)
MARIA = StaffMember(
    "maria.sanchez@escalate.example", "Maria Sanchez", Role.MANAGER, "Account Executive"
)
JAMES = StaffMember(
    "james.wilson@escalate.example", "James Wilson", Role.RESPONDER, "Technical Support Lead"
)
RACHEL = StaffMember(
    "rachel.green@escalate.example", "Rachel Green", Role.VIEWER, "Product Manager"
)
# The support team's follow-the-sun rotation (chosen; the notes only say the 24/7 on-call
# rotation was "optimized" after the outage): two engineers per region, each region on
# call for eight hours of every day in its daytime.
SUPPORT_APAC = (
    StaffMember("wei.chen@escalate.example", "Wei Chen", Role.RESPONDER, "Support Engineer"),
    StaffMember(
        "aisha.rahman@escalate.example", "Aisha Rahman", Role.RESPONDER, "Support Engineer"
    ),
)
SUPPORT_EMEA = (
    StaffMember("liam.obrien@escalate.example", "Liam O'Brien", Role.RESPONDER, "Support Engineer"),
    StaffMember("sofia.rossi@escalate.example", "Sofia Rossi", Role.RESPONDER, "Support Engineer"),
)
SUPPORT_AMERICAS = (
    StaffMember("daniel.kim@escalate.example", "Daniel Kim", Role.RESPONDER, "Support Engineer"),
    StaffMember("emma.davis@escalate.example", "Emma Davis", Role.RESPONDER, "Support Engineer"),
)
STAFF: tuple[StaffMember, ...] = (
    ADMIN,
    ALEX,
    MARIA,
    JAMES,
    RACHEL,
    *SUPPORT_APAC,
    *SUPPORT_EMEA,
    *SUPPORT_AMERICAS,
)

# --- the story's moments (UTC) ---------------------------------------------------------

SETUP_AT = new_york(2025, 1, 1, 9, 0)  # 14:00 UTC: contract start, account created
OUTAGE_START = datetime(2025, 10, 22, 13, 0, tzinfo=UTC)
CASE_OPENED_AT = new_york(2025, 10, 23, 9, 0)  # 13:00 UTC
REVIEW_MEETING_DATE = date(2025, 10, 25)
REVIEW_MEETING_START = new_york(2025, 10, 25, 14, 0)  # 18:00 UTC
REVIEW_MEETING_END = new_york(2025, 10, 25, 15, 30)  # 19:30 UTC

# --- SLA policy and service ------------------------------------------------------------

ENTERPRISE_POLICY = SlaPolicyCreate(
    name="Enterprise",
    description=(
        "Enterprise support: customer acknowledgement, first update, update interval and "
        "resolution targets per severity, from the incident's start; 99.9% monthly uptime."
    ),
    uptime_target_percent=Decimal("99.9"),
    credit_cap_percent=Decimal("100"),
    targets=[
        SlaTargetIn(
            severity=severity,
            acknowledgement_minutes=ack,
            first_update_minutes=first,
            update_interval_minutes=interval,
            resolution_minutes=resolution,
        )
        for severity, ack, first, interval, resolution in (
            (Severity.SEV1, 15, 30, 30, 240),
            (Severity.SEV2, 30, 60, 60, 480),
            (Severity.SEV3, 120, 240, 240, 4320),
            (Severity.SEV4, 480, 1440, 1440, 10080),
        )
    ],
    credit_tiers=[
        CreditTierIn(below_uptime_percent=Decimal(below), credit_percent=Decimal(credit))
        for below, credit in (("99.9", "10"), ("99.0", "25"), ("95.0", "100"))
    ],
)

PRODUCTION_API = ServiceCreate(
    name="Production API",
    description="The public API customers run their production workloads on.",
)

# --- the account -----------------------------------------------------------------------


@dataclass(frozen=True)
class DemoAccount:
    name: str
    tier: Tier
    timezone: str
    csm_email: str
    starting_health: Health
    service_name: str
    environment: Environment


TECHCORP = DemoAccount(
    name="TechCorp Solutions",
    tier=Tier.ENTERPRISE,
    timezone="America/New_York",
    csm_email=ALEX.email,
    starting_health=Health.HEALTHY,
    service_name=PRODUCTION_API.name,
    environment=Environment.PRODUCTION,
)

SARAH_MITCHELL = ContactCreate(
    name="Sarah Mitchell",
    email="sarah.mitchell@techcorp.example",
    role="Customer lead",
    receives_incident_notifications=True,
)
CUSTOMER_ADVOCATE = ContactCreate(
    name="Customer's Representative",
    role="Customer Advocate",
    receives_incident_notifications=False,
)
CONTACTS: tuple[ContactCreate, ...] = (SARAH_MITCHELL, CUSTOMER_ADVOCATE)


@dataclass(frozen=True)
class DemoContract:
    sla_policy_name: str
    term_start: date
    term_end: date
    renewal_date: date
    monthly_fee: Decimal
    currency: str


CONTRACT = DemoContract(
    sla_policy_name=ENTERPRISE_POLICY.name,
    term_start=date(2025, 1, 1),
    term_end=date(2025, 12, 31),
    renewal_date=date(2026, 1, 1),
    monthly_fee=Decimal("5000.00"),
    currency="USD",
)


@dataclass(frozen=True)
class HealthStep:
    at: datetime
    health: Health
    reason: str
    recorded_by: str  # staff e-mail


HEALTH_STEPS: tuple[HealthStep, ...] = (
    HealthStep(
        at=CASE_OPENED_AT,
        health=Health.CRITICAL,
        reason=(
            "Escalation opened after the 6-hour Production API outage of 2025-10-22 during "
            "peak hours: no timely updates, a 45-minute delay in the initial "
            "acknowledgement, about $150K in lost productivity; the customer is considering "
            "a contract review and a vendor evaluation."
        ),
        recorded_by=ALEX.email,
    ),
    HealthStep(
        at=REVIEW_MEETING_END,
        health=Health.NEUTRAL,
        reason=(
            "Escalation review meeting: customer satisfaction improved from critical to "
            "neutral; a clear resolution plan with measurable deliverables was agreed."
        ),
        recorded_by=ALEX.email,
    ),
)


# --- monitoring (the misroute behind "alerts were not routed to on-call team") ----------

MONITORING_INTEGRATION = "Prometheus (production)"
# When the database team was reorganised its alerts got the label team="database"; the
# routing rule still matches the retired team's label, so database alerts fall through to
# the catch-all and page nobody.
MISROUTED_RULE = RoutingRuleCreate(
    name="Database alerts to the DBA team",
    matchers=[MatcherIn(name="team", op=MatchOp.EQUAL, value="dba")],
    escalation_policy="DBA on-call (retired team)",
    severity_override=IncidentSeverity.SEV1,
)
API_RULE = RoutingRuleCreate(
    name="API alerts to support on-call",
    matchers=[MatcherIn(name="team", op=MatchOp.EQUAL, value="platform")],
    escalation_policy="Support 24/7",
)


@dataclass(frozen=True)
class DemoAlert:
    fingerprint: str
    labels: dict[str, str]
    summary: str
    fired_at: datetime | None  # None: at the moment the demo is loaded
    resolved_at: datetime | None


FAILOVER_ALERT = DemoAlert(
    fingerprint="9f1c2e7a4b5d6c01",
    labels={
        "alertname": "PrimaryDatabaseFailoverFailed",
        "team": "database",
        "severity": "critical",
        "service": "production-api",
        "instance": "db-primary-1",
    },
    summary="Primary database failover failed on db-primary-1",
    fired_at=datetime(2025, 10, 22, 13, 1, tzinfo=UTC),
    resolved_at=datetime(2025, 10, 22, 19, 0, tzinfo=UTC),
)
# The misroute is still in place when the demo opens: today's database alert lands on the
# catch-all too, so the dashboard shows the unrouted alarm until someone fixes the rule.
REPLICATION_ALERT = DemoAlert(
    fingerprint="9f1c2e7a4b5d6c02",
    labels={
        "alertname": "DatabaseReplicationLagHigh",
        "team": "database",
        "severity": "warning",
        "service": "production-api",
        "instance": "db-replica-2",
    },
    summary="Replication lag above 30 s on db-replica-2",
    fired_at=None,
    resolved_at=None,
)
DEMO_ALERTS = (FAILOVER_ALERT, REPLICATION_ALERT)


# --- on call (the "24/7 on-call rotation" fixed after the outage) ----------------------

EVERY_DAY = list(range(7))
# The rotation starts the day the escalation case is opened, when the team set it up; the
# outage itself (2025-10-22) falls before it, in the gap the old rotation left.
ROTATION_START = datetime(2025, 10, 23, 0, 0, tzinfo=UTC)


def _region(name: str, members: tuple[StaffMember, ...], start: str, end: str) -> LayerIn:
    """A region's layer: its engineers take weeks in turn, on call from start to end UTC
    every day."""
    return LayerIn(
        name=name,
        rotation=Rotation.WEEKLY,
        start_at=ROTATION_START,
        participants=[member.email for member in members],
        restrictions=[
            RestrictionIn(
                weekdays=EVERY_DAY, start=time.fromisoformat(start), end=time.fromisoformat(end)
            )
        ],
    )


SUPPORT_ROTATION = ScheduleIn(
    name="Support follow-the-sun",
    description=(
        "24/7 support on call, follow the sun: APAC 00:00-08:00, EMEA 08:00-16:00, "
        "Americas 16:00-24:00 UTC; each region hands over weekly at 00:00 UTC."
    ),
    time_zone="UTC",
    layers=[
        _region("APAC", SUPPORT_APAC, "00:00", "08:00"),
        _region("EMEA", SUPPORT_EMEA, "08:00", "16:00"),
        _region("Americas", SUPPORT_AMERICAS, "16:00", "00:00"),
    ],
)

# Whoever is on call in the rotation first; James Wilson, the support lead, if nobody has
# acknowledged within 15 minutes; the whole policy once more if still nobody has.
SUPPORT_POLICY = PolicyCreate(
    name="Support 24/7",
    description="Support on-call first, then the technical support lead.",
    repeat_count=1,
    steps=[
        StepIn(delay_minutes=15, schedules=[SUPPORT_ROTATION.name]),
        StepIn(delay_minutes=15, users=[JAMES.email]),
    ],
)


# --- the outage as an incident (issue 5: lifecycle, customer updates, SLA clocks) -------
# Times from DEMO-STORY.md; the wording of the updates is chosen (the notes give only their
# times), as is who held which role: James Wilson commanded from his acknowledgement,
# Alex Johnson, the account's CSM, led communications from the first customer message.

OUTAGE_DETECTED_AT = datetime(2025, 10, 22, 13, 1, tzinfo=UTC)  # the monitoring alert
PAGED_BY_HAND_AT = datetime(2025, 10, 22, 13, 40, tzinfo=UTC)
JAMES_ACKNOWLEDGED_AT = datetime(2025, 10, 22, 13, 42, tzinfo=UTC)
# What the outage cost TechCorp, as the escalation records it (DEMO-STORY, "The escalation").
TECHCORP_AFFECTED_USERS = 200
TECHCORP_BUSINESS_IMPACT = (
    "150,000 USD lost productivity; missed client deliverables; damaged stakeholder confidence"
)
SERVICE_RESTORED_AT = datetime(2025, 10, 22, 19, 0, tzinfo=UTC)


@dataclass(frozen=True)
class DemoUpdate:
    at: datetime
    kind: str  # incidents.models.UpdateKind
    status: str  # incidents.models.IncidentStatus
    message: str


OUTAGE_UPDATES = (
    DemoUpdate(
        datetime(2025, 10, 22, 13, 45, tzinfo=UTC),
        "acknowledgement",
        "investigating",
        "We are aware that the Production API is unavailable and are investigating.",
    ),
    DemoUpdate(
        datetime(2025, 10, 22, 15, 10, tzinfo=UTC),
        "identified",
        "identified",
        "The outage is caused by a failed failover of our primary database. Engineers are "
        "restoring the database cluster; API requests fail until it is back.",
    ),
    DemoUpdate(
        datetime(2025, 10, 22, 17, 30, tzinfo=UTC),
        "identified",
        "identified",
        "The database restore is progressing; we expect the Production API back within two hours.",
    ),
    DemoUpdate(
        datetime(2025, 10, 22, 19, 20, tzinfo=UTC),
        "resolved",
        "resolved",
        "The Production API has been available again since 19:00 UTC (15:00 in New York). "
        "The cause was a configuration error in the database failover; a root cause analysis "
        "follows.",
    ),
)

"""Inbound formats (Alertmanager webhook v4, PagerDuty Events API v2), validated once with
Pydantic, the mappings of generic JSON and e-mail integrations, and the read shapes of
integrations, alerts and inbound errors."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from escalate.alerts.models import (
    EVENT_FIELDS,
    AlertAction,
    AlertStatus,
    IntegrationKind,
    MatchOp,
    Severity,
    SilenceKind,
)
from escalate.alerts.paths import PathSyntaxError, compile_path
from escalate.errors import ValidationFailed
from escalate.ids import Id
from escalate.incidents.models import IncidentSeverity

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
DedupKey = Annotated[str, StringConstraints(min_length=1, max_length=255)]
Short = Annotated[str, StringConstraints(max_length=1024)]

# Alertmanager sends this for "no end time" (Go's zero time).
ZERO_TIME = datetime(1, 1, 1, tzinfo=UTC)


# --- Prometheus Alertmanager webhook, version 4 -----------------------------------------


class AlertmanagerAlert(BaseModel):
    model_config = ConfigDict(extra="ignore")

    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: datetime  # Alertmanager spells its fields in camelCase
    endsAt: datetime | None = None
    generatorURL: str = ""
    fingerprint: DedupKey


class AlertmanagerWebhook(BaseModel):
    model_config = ConfigDict(extra="ignore")

    version: Literal["4"]
    status: Literal["firing", "resolved"]
    receiver: str = ""
    groupKey: str = ""
    alerts: list[AlertmanagerAlert] = Field(min_length=1, max_length=10_000)
    groupLabels: dict[str, str] = Field(default_factory=dict)
    commonLabels: dict[str, str] = Field(default_factory=dict)
    commonAnnotations: dict[str, str] = Field(default_factory=dict)
    externalURL: str = ""
    truncatedAlerts: int = 0


# --- PagerDuty Events API v2 ------------------------------------------------------------


class EventPayload(BaseModel):
    model_config = ConfigDict(extra="ignore")

    summary: Annotated[str, StringConstraints(min_length=1, max_length=1024)]
    source: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    severity: Severity
    timestamp: datetime | None = None
    component: Short | None = None
    group: Short | None = None
    class_: Short | None = Field(default=None, alias="class")
    custom_details: Any = None


class EventLink(BaseModel):
    href: Short
    text: Short | None = None


class EventImage(BaseModel):
    src: Short
    href: Short | None = None
    alt: Short | None = None


class EventV2(BaseModel):
    """An Events API v2 alert event. The payload is required on trigger only."""

    model_config = ConfigDict(extra="ignore")

    routing_key: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    event_action: Literal["trigger", "acknowledge", "resolve"]
    dedup_key: DedupKey | None = None
    payload: EventPayload | None = None
    links: list[EventLink] = Field(default_factory=list, max_length=100)
    images: list[EventImage] = Field(default_factory=list, max_length=100)
    client: Short | None = None
    client_url: Short | None = None

    @model_validator(mode="after")
    def _what_each_action_needs(self) -> EventV2:
        if self.event_action == "trigger" and self.payload is None:
            raise ValueError("payload: required when event_action is trigger")
        if self.event_action != "trigger" and self.dedup_key is None:
            raise ValueError(f"dedup_key: required when event_action is {self.event_action}")
        return self


# --- the mapping of a generic JSON integration ------------------------------------------

# An event's fields and where the default mapping looks for them, in order.
DEFAULT_PATHS: dict[str, list[str]] = {
    "title": ["title", "summary", "message"],
    "severity": ["severity"],
    "dedup_key": ["dedup_key"],
    "status": ["status"],
    "labels": ["labels"],
    "source": ["source"],
    "details": ["details"],
}
MAX_PATHS = 10
MAX_MAP_ENTRIES = 200
InboundAction = Literal["trigger", "acknowledge", "resolve"]
Word = Annotated[str, StringConstraints(min_length=1, max_length=100)]


def _paths(field: str) -> Any:
    return Field(
        default_factory=lambda: list(DEFAULT_PATHS[field]),
        description=f"Where the event's {field} is: a dotted path (`alert.name`, `tags.0`) or "
        "a JSONPath (`$.alerts[0].labels`), or a list of them tried in order.",
    )


class GenericMapping(BaseModel):
    """Where a generic JSON event keeps each of an alert's fields, and what its words mean.
    The default reads {"title", "severity", "status", "dedup_key", "labels", "source",
    "details"} at the top of each event."""

    model_config = ConfigDict(extra="forbid")

    title: list[str] = _paths("title")
    severity: list[str] = _paths("severity")
    dedup_key: list[str] = _paths("dedup_key")
    status: list[str] = _paths("status")
    labels: list[str] = _paths("labels")
    source: list[str] = _paths("source")
    details: list[str] = _paths("details")
    severity_map: dict[str, Severity] = Field(
        default_factory=dict,
        description="The source's severity words onto Escalate's; other words are read as "
        "common severity words (crit, warn, p1, ...), else `error`.",
    )
    status_map: dict[str, InboundAction] = Field(
        default_factory=dict,
        description="The source's status words onto actions, on top of the usual ones "
        "(ok, resolved, closed -> resolve; ack -> acknowledge); any other word triggers.",
    )

    @field_validator(*DEFAULT_PATHS, mode="before")
    @classmethod
    def _readable_paths(cls, value: Any, info: ValidationInfo) -> list[str]:
        if value is None:
            value = []
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
            raise ValueError("expected a path or a list of paths")
        if info.field_name == "title" and not value:
            raise ValueError("at least one path is needed: every alert has a title")
        if len(value) > MAX_PATHS:
            raise ValueError(f"at most {MAX_PATHS} paths")
        for index, path in enumerate(value):
            try:
                compile_path(path)
            except PathSyntaxError as exc:
                where = f"path {index + 1}: " if len(value) > 1 else ""
                raise ValueError(f"{where}{exc}") from None
        return value

    @field_validator("severity_map", "status_map", mode="after")
    @classmethod
    def _words_any_case(cls, value: dict[str, Any]) -> dict[str, Any]:
        if len(value) > MAX_MAP_ENTRIES:
            raise ValueError(f"at most {MAX_MAP_ENTRIES} words")
        words = {word.strip().lower(): meaning for word, meaning in value.items()}
        if "" in words:
            raise ValueError("a word cannot be empty")
        if any(len(word) > 100 for word in words):
            raise ValueError("a word is at most 100 characters")
        return words


# --- the rules of an e-mail integration ------------------------------------------------

MAX_REGEX_LENGTH = 500


class EmailRules(BaseModel):
    """How a mail becomes an alert: which mails are the same alert, and which resolve it."""

    model_config = ConfigDict(extra="forbid")

    dedup: Literal["subject", "message-id", "regex"] = Field(
        default="subject",
        description="subject: the subject without Re:/Fwd:, severity tags and resolve words; "
        "message-id: the thread's first Message-ID (a reply is the same alert); regex: the "
        "first group of `dedup_regex` on the subject (the subject rule when it does not match).",
    )
    dedup_regex: Annotated[str, StringConstraints(max_length=MAX_REGEX_LENGTH)] | None = None
    resolve_words: list[Word] = Field(
        default_factory=lambda: ["RESOLVED", "[OK]", "RECOVERY"],
        max_length=50,
        description="A subject holding one of these (any case, as a whole word) resolves.",
    )
    resolve_in_body: bool = Field(
        default=False, description="Also look for the resolve words in the text body."
    )
    default_severity: Severity = Field(
        default=Severity.ERROR,
        description="When neither a [critical]-style subject tag nor X-Priority says.",
    )

    @model_validator(mode="after")
    def _regex_with_a_group(self) -> EmailRules:
        if self.dedup == "regex" and not self.dedup_regex:
            raise ValueError("dedup_regex: required when dedup is regex")
        if self.dedup_regex is not None:
            try:
                groups = re.compile(self.dedup_regex).groups
            except re.error as exc:
                raise ValueError(f"dedup_regex: not a valid regular expression ({exc})") from None
            if groups < 1:
                raise ValueError("dedup_regex: needs a group, whose match is the dedup key")
        return self


IntegrationMapping = GenericMapping | EmailRules
MAPPING_MODELS: dict[IntegrationKind, type[GenericMapping] | type[EmailRules]] = {
    IntegrationKind.GENERIC: GenericMapping,
    IntegrationKind.EMAIL: EmailRules,
}


def validate_mapping(kind: IntegrationKind, data: Any) -> IntegrationMapping:
    """The mapping of an integration of this kind, or ValidationFailed naming the field."""
    model = MAPPING_MODELS.get(kind)
    if model is None:
        raise ValidationFailed(
            f"{kind} integrations read a fixed format and have no mapping", field="kind"
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = [_problem(dict(error)) for error in exc.errors()]
        detail = (
            problems[0][1]
            if len(problems) == 1
            else "; ".join(f"{field}: {message}" for field, message in problems)
        )
        raise ValidationFailed(detail, field=problems[0][0]) from None


def _problem(error: dict[str, Any]) -> tuple[str, str]:
    field = ".".join(str(part) for part in error.get("loc", ()))
    message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
    if not field and ": " in message:
        field, _, message = message.partition(": ")
    return field or "mapping", message


class MappingPreviewRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sample: JsonValue = Field(description="A body as the source sends it: an object or a list.")
    mapping: GenericMapping | None = Field(
        default=None, description="A mapping to try instead of the integration's own."
    )


class PreviewProblem(BaseModel):
    field: str
    message: str


class PreviewEvent(BaseModel):
    """What one event of the sample becomes, or why it cannot."""

    index: int
    title: str | None = None
    severity: Severity | None = None
    dedup_key: str | None = None
    action: InboundAction | None = None
    source: str | None = None
    labels: dict[str, Any] | None = None
    details: dict[str, Any] | None = None
    errors: list[PreviewProblem] = Field(default_factory=list)


class MappingPreview(BaseModel):
    mapping: GenericMapping
    events: list[PreviewEvent]
    errors: list[PreviewProblem] = Field(
        description="Every problem; the body would be refused with 422 unless this is empty."
    )


class IntegrationMappingRead(BaseModel):
    integration_id: int
    kind: IntegrationKind
    customized: bool = Field(description="False while the integration uses the default.")
    mapping: GenericMapping | EmailRules


# --- reads and writes -------------------------------------------------------------------


class IntegrationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    kind: IntegrationKind
    default_service_id: Id | None = None


class IntegrationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    kind: IntegrationKind
    key_prefix: str
    default_service_id: int | None
    created_at: datetime
    key_rotated_at: datetime | None
    is_active: bool


class IntegrationCreated(IntegrationRead):
    key: str = Field(description="The integration key; shown this once, stored hashed.")


class AlertEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    action: AlertAction
    source: IntegrationKind
    applied: bool


class AlertRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    integration_id: int
    dedup_key: str
    status: AlertStatus
    severity: Severity
    summary: str
    source: str | None
    service_id: int | None
    incident_id: int | None
    routed: bool
    unrouted_reason: str | None
    routing_rule_id: int | None
    escalation_policy: str | None
    suppressed: bool
    silence_id: int | None
    reopen_count: int
    count: int
    labels: dict[str, Any]
    details: dict[str, Any]
    links: list[Any]
    first_seen_at: datetime
    last_seen_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None


class AlertDetail(AlertRead):
    payload: dict[str, Any] = Field(description="The last inbound payload, as received.")
    events: list[AlertEventRead]


class InboundErrorRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    integration_id: int | None
    endpoint: str
    status_code: int
    reason: str
    body_excerpt: str | None
    remote_addr: str | None


# --- routing rules, silences, the route tester --------------------------------------------

LABEL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
PolicyName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class MatcherIn(BaseModel):
    """One condition, as in Alertmanager: `name` is a label, or event.summary,
    event.source, event.severity or event.dedup_key; regexes match the whole value."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    op: MatchOp
    value: Annotated[str, StringConstraints(max_length=1024)]

    @field_validator("name")
    @classmethod
    def _a_label_or_an_event_field(cls, name: str) -> str:
        if name in EVENT_FIELDS or LABEL_NAME.fullmatch(name):
            return name
        fields = ", ".join(EVENT_FIELDS)
        raise ValueError(f"{name!r} is neither a label name ([A-Za-z_][A-Za-z0-9_]*) nor {fields}")

    @model_validator(mode="after")
    def _regex_compiles(self) -> MatcherIn:
        if self.op in (MatchOp.REGEX, MatchOp.NOT_REGEX):
            try:
                re.compile(self.value)
            except re.error as exc:
                raise ValueError(f"value: not a valid regular expression: {exc}") from None
        return self


Matchers = Annotated[list[MatcherIn], Field(max_length=50)]


class RoutingRuleCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    matchers: Matchers = Field(min_length=1)
    service_id: Id | None = None
    escalation_policy: PolicyName | None = None
    severity_override: IncidentSeverity | None = None
    continue_matching: bool = False
    position: Annotated[int, Field(ge=0, le=10_000)] | None = Field(
        default=None, description="Where to insert it (0 is first); last before the catch-all."
    )


class RoutingRuleUpdate(BaseModel):
    """Fields to change. The catch-all takes only service, policy and severity."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    matchers: Matchers | None = Field(default=None, min_length=1)
    service_id: Id | None = None
    escalation_policy: PolicyName | None = None
    severity_override: IncidentSeverity | None = None
    continue_matching: bool | None = None


class RoutingOrder(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rule_ids: Annotated[list[Id], Field(min_length=1, max_length=1000)] = Field(
        description="Every rule of the integration but the catch-all, in the new order."
    )


class RoutingRuleRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    integration_id: int
    position: int
    name: str
    matchers: list[dict[str, str]]
    service_id: int | None
    escalation_policy: str | None
    severity_override: IncidentSeverity | None
    continue_matching: bool
    is_catch_all: bool


class IntegrationUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    default_service_id: Id | None = None
    is_active: bool | None = None
    grouping_labels: Annotated[list[str], Field(max_length=20)] | None = None
    grouping_window_minutes: Annotated[int, Field(ge=1, le=10_080)] | None = None
    flap_window_minutes: Annotated[int, Field(ge=0, le=1_440)] | None = None
    auto_resolve_incidents: bool | None = None
    severity_map: dict[Severity, IncidentSeverity] | None = None

    @field_validator("grouping_labels")
    @classmethod
    def _label_names(cls, names: list[str] | None) -> list[str] | None:
        for name in names or []:
            if not (name in EVENT_FIELDS or LABEL_NAME.fullmatch(name)):
                raise ValueError(f"{name!r} is not a label name")
        return names


class IntegrationDetail(IntegrationRead):
    grouping_labels: list[str]
    grouping_window_minutes: int
    flap_window_minutes: int
    auto_resolve_incidents: bool
    severity_map: dict[str, str]


class SilenceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: SilenceKind = SilenceKind.SILENCE
    comment: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
    matchers: Matchers = Field(default_factory=list)
    service_id: Id | None = None
    starts_at: AwareDatetime | None = Field(default=None, description="Default: now.")
    ends_at: AwareDatetime

    @model_validator(mode="after")
    def _covers_something_for_a_while(self) -> SilenceCreate:
        if not self.matchers and self.service_id is None:
            raise ValueError("matchers: give at least one matcher or a service_id")
        if self.starts_at is not None and self.ends_at <= self.starts_at:
            raise ValueError("ends_at: must be after starts_at")
        return self


class SilenceRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: SilenceKind
    comment: str
    matchers: list[dict[str, str]]
    service_id: int | None
    starts_at: datetime
    ends_at: datetime
    created_by_id: int | None
    created_at: datetime


class SampleAlert(BaseModel):
    """An alert as the route tester sees it, in Escalate's own terms."""

    model_config = ConfigDict(extra="forbid")

    summary: Short = "Test alert"
    severity: Severity = Severity.ERROR
    source: Short | None = None
    dedup_key: DedupKey = "route-test"
    labels: dict[Annotated[str, StringConstraints(max_length=200)], Short] = Field(
        default_factory=dict, max_length=100
    )


class RouteTest(BaseModel):
    """Which route would this alert take? Give `alert`, or `payload`: a body exactly as
    the integration's tool would send it (its first alert is tested)."""

    model_config = ConfigDict(extra="forbid")

    integration: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)] = Field(
        description="The integration's name or id."
    )
    alert: SampleAlert | None = None
    payload: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _one_sample(self) -> RouteTest:
        if (self.alert is None) == (self.payload is None):
            raise ValueError("alert: give either alert or payload")
        return self


class NamedRef(BaseModel):
    id: int
    name: str


class RouteTestResult(BaseModel):
    integration: NamedRef
    rule: NamedRef = Field(description="The first rule that matched (the catch-all if none).")
    matched_rules: list[NamedRef]
    catch_all: bool
    service: NamedRef | None
    escalation_policy: str | None
    incident_severity: IncidentSeverity
    routed: bool
    unrouted_reason: str | None
    suppressed_by: int | None = Field(description="The silence that would suppress it, if any.")
    grouping_key: str
    would_join_incident: int | None = Field(
        description="The number of the open incident it would join, if any."
    )
    people: list[str] | None = Field(
        description="Who step 1 of the route's escalation policy would page right now, as "
        "'Name (why)'; null when the route names no policy, empty when it reaches nobody."
    )

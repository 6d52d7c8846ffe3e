"""Inbound formats (Alertmanager webhook v4, PagerDuty Events API v2), validated once with
Pydantic, and the read shapes of integrations, alerts and inbound errors."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from escalate.alerts.models import AlertAction, AlertStatus, IntegrationKind, Severity
from escalate.ids import Id

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
    suppressed: bool
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

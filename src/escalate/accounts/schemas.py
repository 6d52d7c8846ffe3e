from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    model_validator,
)

from escalate.accounts.models import Environment, Health, Tier
from escalate.ids import Id

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]


def _known_timezone(value: str) -> str:
    if value not in available_timezones():
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA time zone {value!r}") from None
    return value


TimeZoneName = Annotated[str, AfterValidator(_known_timezone)]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
Fee = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2)]


class AccountCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    tier: Tier
    timezone: TimeZoneName = "UTC"
    health: Health = Health.NEUTRAL
    csm_user_id: Id | None = None


class PatchModel(BaseModel):
    """A partial update: a field left out is unchanged; `null` clears a field only where
    the field may be empty (NOT_NULL lists those that may not)."""

    model_config = ConfigDict(extra="forbid")
    NOT_NULL: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="after")
    def _no_null_for_required(self) -> PatchModel:
        for name in self.NOT_NULL:
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name}: may not be null; leave it out to keep it")
        return self


class AccountUpdate(PatchModel):
    NOT_NULL = ("name", "tier", "timezone")

    name: Name | None = None
    tier: Tier | None = None
    timezone: TimeZoneName | None = None
    csm_user_id: Id | None = None


class HealthChangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    health: Health
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class ContactCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    email: EmailStr | None = None
    phone: Annotated[str, StringConstraints(strip_whitespace=True, max_length=40)] | None = None
    role: Text | None = None
    receives_incident_notifications: bool = False

    @model_validator(mode="after")
    def _notified_contacts_need_email(self) -> ContactCreate:
        if self.receives_incident_notifications and not self.email:
            raise ValueError("email: a contact who receives incident notifications needs one")
        return self


class ContactUpdate(PatchModel):
    NOT_NULL = ("name", "receives_incident_notifications")

    name: Name | None = None
    email: EmailStr | None = None
    phone: Annotated[str, StringConstraints(strip_whitespace=True, max_length=40)] | None = None
    role: Text | None = None
    receives_incident_notifications: bool | None = None


class ServiceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    description: str | None = Field(default=None, max_length=5000)


class ServiceUsageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    service_id: Id
    environment: Environment = Environment.PRODUCTION


class ContractCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sla_policy_id: Id
    term_start: date
    term_end: date
    renewal_date: date | None = None
    monthly_fee: Fee
    currency: Currency = "USD"

    @model_validator(mode="after")
    def _term_in_order(self) -> ContractCreate:
        if self.term_end < self.term_start:
            raise ValueError("term_end: the term ends before it starts")
        return self


class ContactRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    account_id: int
    name: str
    email: str | None
    phone: str | None
    role: str | None
    receives_incident_notifications: bool


class ServiceRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    description: str | None


class ServiceUsageRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    service: ServiceRead
    environment: Environment


class ContractRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    account_id: int
    sla_policy_id: int
    sla_policy_name: str
    term_start: date
    term_end: date
    renewal_date: date | None
    monthly_fee: Decimal
    currency: str


class HealthChangeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    changed_at: datetime
    from_health: Health | None
    to_health: Health
    reason: str
    changed_by_user_id: int | None


class StaffRef(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    email: str


class AccountBase(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    tier: Tier
    health: Health
    timezone: str
    csm: StaffRef | None


class AccountSummary(AccountBase):
    current_contract: ContractRead | None = Field(
        default=None, description="The contract in force today in the account's time zone."
    )


class AccountRead(AccountBase):
    created_at: datetime
    updated_at: datetime
    contacts: list[ContactRead]
    services: list[ServiceUsageRead]
    contracts: list[ContractRead]
    health_history: list[HealthChangeRead]

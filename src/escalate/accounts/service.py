"""Accounts, contacts, services used, contracts and health. Functions flush, never commit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from escalate.accounts.models import (
    Account,
    Contact,
    Contract,
    Health,
    HealthChange,
    Service,
    ServiceUsage,
    Tier,
)
from escalate.accounts.schemas import (
    AccountCreate,
    AccountRead,
    AccountSummary,
    AccountUpdate,
    ContactCreate,
    ContactUpdate,
    ContractCreate,
    ContractRead,
    HealthChangeIn,
    ServiceCreate,
    ServiceUsageIn,
)
from escalate.auth import service as auth_service
from escalate.auth.permissions import Actor, Permission, authorize
from escalate.clock import Clock
from escalate.db import find
from escalate.errors import Conflict, NotFound, ValidationFailed
from escalate.pagination import Page, PageParams, paginate
from escalate.sla import service as sla_service

CENT = Decimal("0.01")

# --- accounts -------------------------------------------------------------------------


def get(session: Session, *, actor: Actor, account_id: int) -> Account:
    """Return the account with this id."""
    authorize(actor, Permission.READ)
    account = find(session, Account, account_id)
    if account is None:
        raise NotFound(f"account {account_id} not found", field="account_id")
    return account


def get_by_name(session: Session, *, name: str) -> Account | None:
    """Return the account with this name (case-insensitive), if any."""
    return session.scalar(select(Account).where(func.lower(Account.name) == name.lower()))


def require_by_name(session: Session, *, actor: Actor, name: str) -> Account:
    """Return the account with this name or raise NotFound."""
    authorize(actor, Permission.READ)
    account = get_by_name(session, name=name)
    if account is None:
        raise NotFound(f"no account named {name!r}", field="account")
    return account


def find_by_name_or_id(session: Session, *, actor: Actor, key: str) -> Account:
    """An account by name, or by id when no account has that name and the key is a number
    (so an account may be named "2024" and still be found by its name)."""
    authorize(actor, Permission.READ)
    account = get_by_name(session, name=key)
    if account is not None:
        return account
    if key.isdigit():
        return get(session, actor=actor, account_id=int(key))
    raise NotFound(f"no account named {key!r}", field="account")


def list_accounts(
    session: Session,
    *,
    actor: Actor,
    page: PageParams,
    tier: Tier | None = None,
    health: Health | None = None,
    search: str | None = None,
) -> Page[Account]:
    """Accounts by name, filtered by tier, health and a name search."""
    authorize(actor, Permission.READ)
    stmt = select(Account).options(selectinload(Account.csm)).order_by(Account.name)
    if tier:
        stmt = stmt.where(Account.tier == tier)
    if health:
        stmt = stmt.where(Account.health == health)
    if search:
        stmt = stmt.where(func.lower(Account.name).contains(search.lower(), autoescape=True))
    return paginate(session, stmt, page)


def create(session: Session, clock: Clock, *, actor: Actor, data: AccountCreate) -> Account:
    """Create an account; its starting health opens the health history."""
    authorize(actor, Permission.ACCOUNTS_WRITE)
    _require_unique_name(session, data.name)
    if data.csm_user_id is not None:
        auth_service.get(session, user_id=data.csm_user_id)
    now = clock.now()
    account = Account(
        name=data.name,
        tier=data.tier,
        timezone=data.timezone,
        health=data.health,
        csm_user_id=data.csm_user_id,
        created_at=now,
        updated_at=now,
    )
    account.health_changes.append(
        HealthChange(
            changed_at=now,
            from_health=None,
            to_health=data.health,
            reason="account created",
            changed_by_user_id=actor.user_id,
        )
    )
    session.add(account)
    session.flush()
    return account


def update(
    session: Session, clock: Clock, *, actor: Actor, account: Account, data: AccountUpdate
) -> Account:
    """Change an account's name, tier, time zone or customer success manager."""
    authorize(actor, Permission.ACCOUNTS_WRITE)
    changes = data.model_dump(exclude_unset=True)
    if "name" in changes and changes["name"].lower() != account.name.lower():
        _require_unique_name(session, changes["name"])
    if changes.get("csm_user_id") is not None:
        auth_service.get(session, user_id=changes["csm_user_id"])
    for key, value in changes.items():
        setattr(account, key, value)
    account.updated_at = clock.now()
    session.flush()
    return account


def change_health(
    session: Session, clock: Clock, *, actor: Actor, account: Account, data: HealthChangeIn
) -> HealthChange:
    """Record a new health with its reason; the history keeps every change."""
    authorize(actor, Permission.ACCOUNTS_WRITE)
    now = clock.now()
    change = HealthChange(
        changed_at=now,
        from_health=account.health,
        to_health=data.health,
        reason=data.reason,
        changed_by_user_id=actor.user_id,
    )
    account.health_changes.append(change)
    account.health = data.health
    account.updated_at = now
    session.flush()
    return change


def delete(session: Session, *, actor: Actor, account: Account) -> None:
    """Delete an account with its contacts, contracts and history."""
    authorize(actor, Permission.ACCOUNTS_WRITE)
    session.delete(account)
    session.flush()


def _require_unique_name(session: Session, name: str) -> None:
    if get_by_name(session, name=name) is not None:
        raise Conflict(f"an account named {name!r} already exists", field="name")


def to_read(account: Account) -> AccountRead:
    """The full account view: contacts, services, contracts and health history."""
    return AccountRead.model_validate(
        {
            "id": account.id,
            "name": account.name,
            "tier": account.tier,
            "health": account.health,
            "timezone": account.timezone,
            "csm": account.csm,
            "created_at": account.created_at,
            "updated_at": account.updated_at,
            "contacts": account.contacts,
            "services": account.service_usages,
            "contracts": [contract_to_read(c) for c in account.contracts],
            "health_history": account.health_changes,
        }
    )


# --- contacts -------------------------------------------------------------------------


def add_contact(
    session: Session, *, actor: Actor, account: Account, data: ContactCreate
) -> Contact:
    """Add a contact to an account."""
    authorize(actor, Permission.ACCOUNTS_WRITE)
    if data.email:
        _require_unique_contact_email(session, account.id, data.email)
    contact = Contact(account_id=account.id, **data.model_dump())
    session.add(contact)
    session.flush()
    session.refresh(account, ["contacts"])
    return contact


def list_contacts(
    session: Session, *, actor: Actor, account: Account, page: PageParams
) -> Page[Contact]:
    """An account's contacts by name."""
    authorize(actor, Permission.READ)
    stmt = (
        select(Contact).where(Contact.account_id == account.id).order_by(Contact.name, Contact.id)
    )
    return paginate(session, stmt, page)


def get_contact(session: Session, *, actor: Actor, account: Account, contact_id: int) -> Contact:
    """Return a contact of this account (a contact of another account is not found)."""
    authorize(actor, Permission.READ)
    contact = find(session, Contact, contact_id)
    if contact is None or contact.account_id != account.id:
        raise NotFound(f"contact {contact_id} not found in this account", field="contact_id")
    return contact


def find_contact(session: Session, *, actor: Actor, account: Account, key: str) -> Contact:
    """A contact of this account named by id or by e-mail address (as people type them)."""
    if key.isdigit():
        return get_contact(session, actor=actor, account=account, contact_id=int(key))
    authorize(actor, Permission.READ)
    contact = session.scalar(
        select(Contact).where(
            Contact.account_id == account.id, func.lower(Contact.email) == key.strip().lower()
        )
    )
    if contact is None:
        raise NotFound(f"no contact of {account.name} has the e-mail {key}", field="contact_id")
    return contact


def update_contact(
    session: Session, *, actor: Actor, contact: Contact, data: ContactUpdate
) -> Contact:
    """Change a contact's details."""
    authorize(actor, Permission.ACCOUNTS_WRITE)
    changes = data.model_dump(exclude_unset=True)
    new_email = changes.get("email")
    if new_email and new_email.lower() != (contact.email or "").lower():
        _require_unique_contact_email(session, contact.account_id, new_email)
    for key, value in changes.items():
        setattr(contact, key, value)
    if contact.receives_incident_notifications and not contact.email:
        raise ValidationFailed(
            "a contact who receives incident notifications needs an email", field="email"
        )
    session.flush()
    return contact


def remove_contact(session: Session, *, actor: Actor, contact: Contact) -> None:
    """Remove a contact from its account."""
    authorize(actor, Permission.ACCOUNTS_WRITE)
    session.delete(contact)
    session.flush()


def _require_unique_contact_email(session: Session, account_id: int, email: str) -> None:
    clash = session.scalar(
        select(Contact.id).where(
            Contact.account_id == account_id, func.lower(Contact.email) == email.lower()
        )
    )
    if clash is not None:
        raise Conflict(f"this account already has a contact with email {email}", field="email")


# --- services -------------------------------------------------------------------------


def list_services(session: Session, *, actor: Actor, page: PageParams) -> Page[Service]:
    """The vendor's services by name."""
    authorize(actor, Permission.READ)
    return paginate(session, select(Service).order_by(Service.name), page)


def get_service(session: Session, *, service_id: int) -> Service:
    """Return the service with this id."""
    service = find(session, Service, service_id)
    if service is None:
        raise NotFound(f"service {service_id} not found", field="service_id")
    return service


def get_service_by_name(session: Session, *, name: str) -> Service | None:
    """Return the service with this name (case-insensitive), if any."""
    return session.scalar(select(Service).where(func.lower(Service.name) == name.lower()))


def service_id_for(session: Session, key: str) -> int:
    """The id of the service named `key`, or with id `key` when none has that name."""
    found = get_service_by_name(session, name=key)
    if found is None and key.strip().isdigit():
        found = get_service(session, service_id=int(key))
    if found is None:
        raise NotFound(f"no service named {key!r}", field="service")
    return found.id


def create_service(session: Session, *, actor: Actor, data: ServiceCreate) -> Service:
    """Create a service the vendor runs."""
    authorize(actor, Permission.SERVICES_WRITE)
    if get_service_by_name(session, name=data.name) is not None:
        raise Conflict(f"a service named {data.name!r} already exists", field="name")
    service = Service(name=data.name, description=data.description)
    session.add(service)
    session.flush()
    return service


def add_service_usage(
    session: Session, *, actor: Actor, account: Account, data: ServiceUsageIn
) -> ServiceUsage:
    """Record that an account uses a service in an environment."""
    authorize(actor, Permission.ACCOUNTS_WRITE)
    service = get_service(session, service_id=data.service_id)
    clash = session.scalar(
        select(ServiceUsage.id).where(
            ServiceUsage.account_id == account.id,
            ServiceUsage.service_id == service.id,
            ServiceUsage.environment == data.environment,
        )
    )
    if clash is not None:
        raise Conflict(
            f"{account.name} already uses {service.name} in {data.environment}",
            field="service_id",
        )
    usage = ServiceUsage(account_id=account.id, service_id=service.id, environment=data.environment)
    session.add(usage)
    session.flush()
    session.refresh(account, ["service_usages"])
    return usage


def remove_service_usage(
    session: Session, *, actor: Actor, account: Account, usage_id: int
) -> None:
    """Stop recording that an account uses a service."""
    authorize(actor, Permission.ACCOUNTS_WRITE)
    usage = find(session, ServiceUsage, usage_id)
    if usage is None or usage.account_id != account.id:
        raise NotFound(f"service usage {usage_id} not found in this account", field="usage_id")
    session.delete(usage)
    session.flush()


def accounts_using(session: Session, *, service_ids: list[int]) -> list[Account]:
    """Accounts that use any of these services, in any environment."""
    stmt = (
        select(Account)
        .join(ServiceUsage, ServiceUsage.account_id == Account.id)
        .where(ServiceUsage.service_id.in_(service_ids))
        .distinct()
        .order_by(Account.name)
    )
    return list(session.scalars(stmt))


# --- contracts ------------------------------------------------------------------------


def add_contract(
    session: Session, *, actor: Actor, account: Account, data: ContractCreate
) -> Contract:
    """Add a contract with the SLA policy that applies to it."""
    authorize(actor, Permission.ACCOUNTS_WRITE)
    sla_service.get(session, policy_id=data.sla_policy_id)
    values = data.model_dump()
    values["monthly_fee"] = data.monthly_fee.quantize(CENT)
    contract = Contract(account_id=account.id, **values)
    session.add(contract)
    session.flush()
    session.refresh(account, ["contracts"])
    return contract


def contract_to_read(contract: Contract) -> ContractRead:
    return ContractRead(
        id=contract.id,
        account_id=contract.account_id,
        sla_policy_id=contract.sla_policy_id,
        sla_policy_name=contract.sla_policy.name,
        term_start=contract.term_start,
        term_end=contract.term_end,
        renewal_date=contract.renewal_date,
        monthly_fee=contract.monthly_fee,
        currency=contract.currency,
    )


def contracts_by_account(
    session: Session, *, actor: Actor, account_ids: Sequence[int]
) -> dict[int, list[Contract]]:
    """The contracts of several accounts in one query (for lists), by term start."""
    authorize(actor, Permission.READ)
    result: dict[int, list[Contract]] = {account_id: [] for account_id in account_ids}
    if not account_ids:
        return result
    stmt = (
        select(Contract)
        .where(Contract.account_id.in_(account_ids))
        .order_by(Contract.term_start, Contract.id)
    )
    for contract in session.scalars(stmt):
        result[contract.account_id].append(contract)
    return result


def local_today(account: Account, *, now: datetime) -> date:
    """The date it is for the account, in its own time zone."""
    return now.astimezone(ZoneInfo(account.timezone)).date()


def summarize(
    session: Session, *, actor: Actor, accounts: Sequence[Account], now: datetime
) -> list[AccountSummary]:
    """List items: each account with the contract in force on its own today."""
    contracts = contracts_by_account(session, actor=actor, account_ids=[a.id for a in accounts])
    summaries = []
    for account in accounts:
        current = current_contract(contracts[account.id], today=local_today(account, now=now))
        summary = AccountSummary.model_validate(account)
        summary.current_contract = contract_to_read(current) if current else None
        summaries.append(summary)
    return summaries


def contract_status(contract: Contract, *, today: date) -> str:
    """ "upcoming", "in force" or "ended" on the account's today."""
    if contract.term_start > today:
        return "upcoming"
    if contract.term_end < today:
        return "ended"
    return "in force"


def current_contract(contracts: Sequence[Contract], *, today: date) -> Contract | None:
    """The contract in force on `today` (the account's local date); failing that, the one
    that started last."""
    in_force = [c for c in contracts if c.term_start <= today <= c.term_end]
    return max(in_force or contracts, key=lambda c: (c.term_start, c.id), default=None)

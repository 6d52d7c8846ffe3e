from __future__ import annotations

from fastapi import APIRouter, Response, status
from pydantic import BaseModel

from escalate.accounts import service as account_service
from escalate.accounts.models import Health, Tier
from escalate.accounts.schemas import (
    AccountCreate,
    AccountRead,
    AccountSummary,
    AccountUpdate,
    ContactCreate,
    ContactRead,
    ContactUpdate,
    ContractCreate,
    ContractRead,
    HealthChangeIn,
    HealthChangeRead,
    ServiceUsageIn,
    ServiceUsageRead,
)
from escalate.web.deps import ActorDep, ContainerDep, PageDep, SessionDep

router = APIRouter(prefix="/accounts", tags=["accounts"])


class AccountPage(BaseModel):
    items: list[AccountSummary]
    total: int


@router.get("", response_model=AccountPage)
def list_accounts(
    session: SessionDep,
    actor: ActorDep,
    page: PageDep,
    container: ContainerDep,
    tier: Tier | None = None,
    health: Health | None = None,
    q: str | None = None,
) -> AccountPage:
    """Accounts by name, each with the contract in force; filter by tier, health, or a name
    search (`q`)."""
    result = account_service.list_accounts(
        session, actor=actor, page=page, tier=tier, health=health, search=q
    )
    items = account_service.summarize(
        session, actor=actor, accounts=result.items, now=container.clock.now()
    )
    return AccountPage(items=items, total=result.total)


@router.post("", response_model=AccountRead, status_code=status.HTTP_201_CREATED)
def create_account(
    data: AccountCreate, session: SessionDep, actor: ActorDep, container: ContainerDep
) -> AccountRead:
    account = account_service.create(session, container.clock, actor=actor, data=data)
    return account_service.to_read(account)


@router.get("/{account_id}", response_model=AccountRead)
def get_account(account_id: int, session: SessionDep, actor: ActorDep) -> AccountRead:
    """One account with its contacts, services, contracts and health history."""
    return account_service.to_read(account_service.get(session, actor=actor, account_id=account_id))


@router.patch("/{account_id}", response_model=AccountRead)
def update_account(
    account_id: int,
    data: AccountUpdate,
    session: SessionDep,
    actor: ActorDep,
    container: ContainerDep,
) -> AccountRead:
    account = account_service.get(session, actor=actor, account_id=account_id)
    account_service.update(session, container.clock, actor=actor, account=account, data=data)
    return account_service.to_read(account)


@router.delete("/{account_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_account(account_id: int, session: SessionDep, actor: ActorDep) -> Response:
    account = account_service.get(session, actor=actor, account_id=account_id)
    account_service.delete(session, actor=actor, account=account)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{account_id}/health", response_model=HealthChangeRead, status_code=status.HTTP_201_CREATED
)
def change_health(
    account_id: int,
    data: HealthChangeIn,
    session: SessionDep,
    actor: ActorDep,
    container: ContainerDep,
) -> HealthChangeRead:
    """Record a new health for the account, with the reason."""
    account = account_service.get(session, actor=actor, account_id=account_id)
    change = account_service.change_health(
        session, container.clock, actor=actor, account=account, data=data
    )
    return HealthChangeRead.model_validate(change)


class ContactPage(BaseModel):
    items: list[ContactRead]
    total: int


@router.get("/{account_id}/contacts", response_model=ContactPage)
def list_contacts(
    account_id: int, session: SessionDep, actor: ActorDep, page: PageDep
) -> ContactPage:
    """The account's contacts by name."""
    account = account_service.get(session, actor=actor, account_id=account_id)
    result = account_service.list_contacts(session, actor=actor, account=account, page=page)
    return ContactPage(
        items=[ContactRead.model_validate(c) for c in result.items], total=result.total
    )


@router.post(
    "/{account_id}/contacts", response_model=ContactRead, status_code=status.HTTP_201_CREATED
)
def add_contact(
    account_id: int, data: ContactCreate, session: SessionDep, actor: ActorDep
) -> ContactRead:
    account = account_service.get(session, actor=actor, account_id=account_id)
    contact = account_service.add_contact(session, actor=actor, account=account, data=data)
    return ContactRead.model_validate(contact)


@router.patch("/{account_id}/contacts/{contact_id}", response_model=ContactRead)
def update_contact(
    account_id: int, contact_id: int, data: ContactUpdate, session: SessionDep, actor: ActorDep
) -> ContactRead:
    account = account_service.get(session, actor=actor, account_id=account_id)
    contact = account_service.get_contact(
        session, actor=actor, account=account, contact_id=contact_id
    )
    account_service.update_contact(session, actor=actor, contact=contact, data=data)
    return ContactRead.model_validate(contact)


@router.delete("/{account_id}/contacts/{contact_id}", status_code=status.HTTP_204_NO_CONTENT)
def remove_contact(
    account_id: int, contact_id: int, session: SessionDep, actor: ActorDep
) -> Response:
    account = account_service.get(session, actor=actor, account_id=account_id)
    contact = account_service.get_contact(
        session, actor=actor, account=account, contact_id=contact_id
    )
    account_service.remove_contact(session, actor=actor, contact=contact)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{account_id}/services", response_model=ServiceUsageRead, status_code=status.HTTP_201_CREATED
)
def add_service_usage(
    account_id: int, data: ServiceUsageIn, session: SessionDep, actor: ActorDep
) -> ServiceUsageRead:
    """Record that the account uses a service in an environment."""
    account = account_service.get(session, actor=actor, account_id=account_id)
    usage = account_service.add_service_usage(session, actor=actor, account=account, data=data)
    return ServiceUsageRead.model_validate(usage)


@router.delete("/{account_id}/services/{usage_id}", status_code=status.HTTP_204_NO_CONTENT)
def remove_service_usage(
    account_id: int, usage_id: int, session: SessionDep, actor: ActorDep
) -> Response:
    account = account_service.get(session, actor=actor, account_id=account_id)
    account_service.remove_service_usage(session, actor=actor, account=account, usage_id=usage_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{account_id}/contracts", response_model=ContractRead, status_code=status.HTTP_201_CREATED
)
def add_contract(
    account_id: int, data: ContractCreate, session: SessionDep, actor: ActorDep
) -> ContractRead:
    account = account_service.get(session, actor=actor, account_id=account_id)
    contract = account_service.add_contract(session, actor=actor, account=account, data=data)
    return account_service.contract_to_read(contract)

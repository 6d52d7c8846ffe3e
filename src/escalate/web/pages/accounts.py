"""Accounts: the list, one account's page, and its forms (health, contacts)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from escalate import errors
from escalate.accounts import service as account_service
from escalate.accounts.models import Account, Contract, Health, Tier
from escalate.accounts.schemas import ContactCreate, HealthChangeIn
from escalate.clock import Clock
from escalate.ids import MAX_ID
from escalate.incidents import affected
from escalate.pagination import PageParams
from escalate.portal import service as portal_service
from escalate.sla.models import Severity
from escalate.web.deps import ContainerDep, SessionDep
from escalate.web.pages import forms, listing
from escalate.web.pages.forms import FormState
from escalate.web.pages.rendering import mail_configured, render, zone
from escalate.web.pages.routing import PageRoute, error_page
from escalate.web.pages.sessions import FormDep, FormLoginDep, Login, LoginDep

router = APIRouter(route_class=PageRoute)

DEFAULT_LIMIT = 25
MAX_LIMIT = 100
SAVED_NOTICES = {
    "health": "Health updated.",
    "contact": "Contact added.",
    "invited": "Portal invitation sent.",
}
# Without SMTP the invitation's mail is queued and fails: say so rather than "sent".
UNSENT_INVITE = (
    "Portal invitation created but not sent: e-mail is not configured on this server "
    "(ESCALATE_SMTP_HOST), so the contact receives no link."
)
SEVERITY_ORDER = {severity.value: index for index, severity in enumerate(Severity)}


# --- the list -------------------------------------------------------------------------


@router.get("/accounts")
def list_accounts(
    request: Request, session: SessionDep, container: ContainerDep, login: LoginDep
) -> Response:
    params = request.query_params
    q = params.get("q", "").strip()[:200]
    tier_text = params.get("tier", "")
    health_text = params.get("health", "")
    tier = _enum_or_none(Tier, tier_text)
    health = _enum_or_none(Health, health_text)
    if (tier_text and tier is None) or (health_text and health is None):
        return error_page(request, 400, detail="Unknown tier or health in the filter.")
    limit = min(max(_int(params.get("limit"), DEFAULT_LIMIT), 1), MAX_LIMIT)
    offset = min(max(_int(params.get("offset"), 0), 0), MAX_ID)

    page = account_service.list_accounts(
        session,
        actor=login.actor,
        page=PageParams(limit=limit, offset=offset),
        tier=tier,
        health=health,
        search=q or None,
    )
    summaries = account_service.summarize(
        session, actor=login.actor, accounts=page.items, now=container.clock.now()
    )
    rows = [
        {"account": account, "contract": summary.current_contract}
        for account, summary in zip(page.items, summaries, strict=True)
    ]

    filters = {"q": q, "tier": tier_text, "health": health_text}
    return render(
        request,
        "accounts/list.html",
        {
            "nav": "accounts",
            "rows": rows,
            "total": page.total,
            "filters": filters,
            "filtered": any(filters.values()),
            "first": offset + 1 if page.items else 0,
            "last": offset + len(page.items),
            "prev_url": _list_url(filters, limit, max(offset - limit, 0)) if offset > 0 else None,
            "next_url": _list_url(filters, limit, offset + limit)
            if offset + limit < page.total
            else None,
        },
    )


# --- one account ----------------------------------------------------------------------


@router.get("/accounts/{account_id}")
def show_account(
    account_id: str,
    request: Request,
    session: SessionDep,
    container: ContainerDep,
    login: LoginDep,
) -> Response:
    account = _account(session, login, account_id)
    saved = SAVED_NOTICES.get(request.query_params.get("saved", ""))
    if saved == SAVED_NOTICES["invited"] and not mail_configured(request):
        saved = UNSENT_INVITE
    return _account_page(request, session, container.clock, login, account, notice=saved)


@router.post("/accounts/{account_id}/health")
def change_health(
    account_id: str,
    request: Request,
    session: SessionDep,
    container: ContainerDep,
    login: FormLoginDep,
    form: FormDep,
) -> Response:
    account = _account(session, login, account_id)
    state = FormState(
        values={"health": forms.text(form, "health"), "reason": forms.text(form, "reason")}
    )
    forms.attempt(
        state,
        lambda: account_service.change_health(
            session,
            container.clock,
            actor=login.actor,
            account=account,
            data=HealthChangeIn.model_validate(state.values),
        ),
    )
    if state.failed:
        session.rollback()
        account = _account(session, login, account_id)
        return _account_page(request, session, container.clock, login, account, health_form=state)
    return RedirectResponse(f"/accounts/{account.id}?saved=health#health", status_code=303)


@router.post("/accounts/{account_id}/contacts")
def add_contact(
    account_id: str,
    request: Request,
    session: SessionDep,
    container: ContainerDep,
    login: FormLoginDep,
    form: FormDep,
) -> Response:
    account = _account(session, login, account_id)
    state = FormState(
        values={
            "name": forms.text(form, "name"),
            "role": forms.optional_text(form, "role"),
            "email": forms.optional_text(form, "email"),
            "phone": forms.optional_text(form, "phone"),
            "receives_incident_notifications": forms.checked(
                form, "receives_incident_notifications"
            ),
        }
    )
    forms.attempt(
        state,
        lambda: account_service.add_contact(
            session,
            actor=login.actor,
            account=account,
            data=ContactCreate.model_validate(state.values),
        ),
    )
    if state.failed:
        session.rollback()
        account = _account(session, login, account_id)
        return _account_page(request, session, container.clock, login, account, contact_form=state)
    return RedirectResponse(f"/accounts/{account.id}?saved=contact#contacts", status_code=303)


# --- building the account page --------------------------------------------------------


@dataclass(frozen=True)
class ContractRow:
    contract: Contract
    status: str  # "in force", "ended", "upcoming"
    is_current: bool


@router.post("/accounts/{account_id}/contacts/{contact_id}/portal-invite")
def invite_to_portal(
    account_id: str,
    contact_id: str,
    session: SessionDep,
    container: ContainerDep,
    login: FormLoginDep,
) -> Response:
    """Mail the contact a single-use link to the customer portal (see portal.service)."""
    account = _account(session, login, account_id)
    portal_service.invite(
        session,
        container.clock,
        container.settings,
        actor=login.actor,
        account_id=account.id,
        contact_id=listing.path_id(contact_id, noun="contact", field="contact_id"),
    )
    return RedirectResponse(f"/accounts/{account.id}?saved=invited#contacts", status_code=303)


def _account_page(
    request: Request,
    session: Session,
    clock: Clock,
    login: Login,
    account: Account,
    *,
    notice: str | None = None,
    health_form: FormState | None = None,
    contact_form: FormState | None = None,
) -> Response:
    today = account_service.local_today(account, now=clock.now())
    current = account_service.current_contract(account.contracts, today=today)
    contracts = [
        ContractRow(
            contract=c,
            status=account_service.contract_status(c, today=today),
            is_current=current is not None and c.id == current.id,
        )
        for c in sorted(account.contracts, key=lambda c: (c.term_start, c.id), reverse=True)
    ]
    policy = current.sla_policy if current is not None else None
    targets = (
        sorted(policy.targets, key=lambda t: SEVERITY_ORDER.get(str(t.severity), 99))
        if policy
        else []
    )
    services = sorted(
        account.service_usages, key=lambda u: (u.service.name.lower(), str(u.environment))
    )
    health_form = health_form or FormState(values={"health": account.health, "reason": ""})
    contact_form = contact_form or FormState()
    failed = next((f for f in (health_form, contact_form) if f.failed), None)
    context: dict[str, Any] = {
        "nav": "accounts",
        "account": account,
        "tz": account.timezone,
        "tz_abbr": clock.now().astimezone(zone(account.timezone)).tzname(),
        "today": today,
        "contacts": account.contacts,
        "portal_access": portal_service.access_of(session, account_id=account.id),
        "incidents": affected.incidents_of_account(session, account_id=account.id),
        "services": services,
        "contracts": contracts,
        "current": current,
        "policy": policy,
        "targets": targets,
        "history": account.health_changes,
        "notice": notice,
        "health_form": health_form,
        "contact_form": contact_form,
        "can_write": login.can_write_accounts,
    }
    return render(
        request,
        "accounts/detail.html",
        context,
        status_code=failed.status if failed else 200,
    )


# --- helpers --------------------------------------------------------------------------


def _account(session: Session, login: Login, account_id: str) -> Account:
    if not account_id.isdigit() or len(account_id) > 18:
        raise errors.NotFound(f"account {account_id} not found", field="account_id")
    return account_service.get(session, actor=login.actor, account_id=int(account_id))


def _enum_or_none(enum: Any, value: str) -> Any:
    try:
        return enum(value) if value else None
    except ValueError:
        return None


def _int(value: str | None, default: int) -> int:
    if value is None or not value.strip().lstrip("-").isdigit() or len(value) > 9:
        return default
    return int(value)


def _list_url(filters: dict[str, str], limit: int, offset: int) -> str:
    query = {k: v for k, v in filters.items() if v}
    if limit != DEFAULT_LIMIT:
        query["limit"] = str(limit)
    if offset:
        query["offset"] = str(offset)
    return "/accounts" + ("?" + urlencode(query) if query else "")

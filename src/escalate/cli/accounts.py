"""`escalate account ...`, `escalate contact ...`, `escalate contract ...`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.text import Text

from escalate import formatting
from escalate.accounts import service as account_service
from escalate.accounts.models import Health, Tier
from escalate.accounts.schemas import (
    AccountCreate,
    AccountRead,
    AccountSummary,
    ContactCreate,
    ContactRead,
    ContractCreate,
    HealthChangeIn,
    HealthChangeRead,
)
from escalate.auth import service as auth_service
from escalate.auth.permissions import CLI_OPERATOR
from escalate.cli import output
from escalate.cli.runtime import handle_errors, open_container, unit_of_work
from escalate.pagination import MAX_LIMIT, PageParams
from escalate.portal import service as portal_service
from escalate.portal.schemas import PortalInviteRead
from escalate.sla import service as sla_service

account_app = typer.Typer(
    help="Customer accounts: list, show, create, record health.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
contact_app = typer.Typer(
    help="An account's contacts.", no_args_is_help=True, pretty_exceptions_show_locals=False
)
contract_app = typer.Typer(
    help="An account's contracts and their SLA policies.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)

AccountOption = Annotated[str, typer.Option("--account", help="The account's name.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON (the API's shape).")]
LimitOption = Annotated[int, typer.Option(min=1, max=MAX_LIMIT, help="Rows to show.")]
OffsetOption = Annotated[int, typer.Option(min=0, help="Rows to skip.")]


# --- account ---------------------------------------------------------------------------


@account_app.command("list")
@handle_errors()
def list_accounts(
    tier: Annotated[Tier | None, typer.Option(help="Only accounts of this tier.")] = None,
    health: Annotated[Health | None, typer.Option(help="Only accounts in this health.")] = None,
    search: Annotated[str | None, typer.Option(help="Only names containing this.")] = None,
    as_json: JsonOption = False,
    limit: LimitOption = 100,
    offset: OffsetOption = 0,
) -> None:
    """List accounts by name."""
    with open_container() as container, unit_of_work(container) as session:
        page = account_service.list_accounts(
            session,
            actor=CLI_OPERATOR,
            page=PageParams(limit=limit, offset=offset),
            tier=tier,
            health=health,
            search=search,
        )
        accounts = account_service.summarize(
            session, actor=CLI_OPERATOR, accounts=page.items, now=container.clock.now()
        )
    if as_json:
        output.emit_page(accounts, page.total)
        return
    output.show(
        output.table(
            "Accounts",
            ["id", "name", "tier", "health", "time zone", "CSM"],
            (
                [a.id, a.name, a.tier.value, a.health.value, a.timezone, a.csm and a.csm.name]
                for a in accounts
            ),
        )
    )
    output.page_footer(len(accounts), page.total, offset)


@account_app.command("show")
@handle_errors(options={"account": "NAME_OR_ID", "account_id": "NAME_OR_ID"})
def show_account(
    name_or_id: Annotated[
        str, typer.Argument(metavar="NAME_OR_ID", help="The account's name or id.")
    ],
    as_json: JsonOption = False,
) -> None:
    """Show an account with its contacts, services, contracts and health history."""
    with open_container() as container, unit_of_work(container) as session:
        account = account_service.to_read(
            account_service.find_by_name_or_id(session, actor=CLI_OPERATOR, key=name_or_id)
        )
    if as_json:
        output.emit_json(account)
        return
    _render_account(account)


def _render_account(account: AccountRead) -> None:
    csm = f"{account.csm.name} <{account.csm.email}>" if account.csm else "-"
    header = Text.assemble(
        (account.name, "bold"),
        f"  (id {account.id})\n",
        f"tier {account.tier.value} · health {account.health.value} · "
        f"time zone {account.timezone} · CSM {csm}",
    )
    zone = account.timezone
    output.show(
        header,
        output.table(
            "Contacts",
            ["id", "name", "role", "e-mail", "phone", "notified"],
            (
                [c.id, c.name, c.role, c.email, c.phone, c.receives_incident_notifications]
                for c in account.contacts
            ),
        ),
        output.table(
            "Services used",
            ["id", "service", "environment"],
            ([u.id, u.service.name, u.environment.value] for u in account.services),
        ),
        output.table(
            "Contracts",
            ["id", "SLA policy", "term", "renewal", "monthly fee"],
            (
                [
                    c.id,
                    c.sla_policy_name,
                    f"{c.term_start} to {c.term_end}",
                    c.renewal_date,
                    formatting.money(c.monthly_fee, c.currency),
                ]
                for c in account.contracts
            ),
        ),
        output.table(
            "Health history (newest first)",
            ["when", "from", "to", "reason"],
            (
                [
                    output.when(h.changed_at, zone),
                    h.from_health and h.from_health.value,
                    h.to_health.value,
                    h.reason,
                ]
                for h in account.health_history
            ),
        ),
    )


@account_app.command("create")
@handle_errors(options={"email": "--csm-email", "csm_user_id": "--csm-email"})
def create_account(
    name: Annotated[str, typer.Option(help="The customer's name.")],
    tier: Annotated[Tier, typer.Option(help="Support tier.")],
    timezone: Annotated[
        str, typer.Option(help="IANA time zone of the customer, e.g. America/New_York.")
    ],
    csm_email: Annotated[
        str | None, typer.Option(help="E-mail of the customer success manager (a user).")
    ] = None,
    health: Annotated[Health, typer.Option(help="Starting health.")] = Health.NEUTRAL,
) -> None:
    """Create an account."""
    with open_container() as container, unit_of_work(container) as session:
        csm = auth_service.require_by_email(session, email=csm_email) if csm_email else None
        data = AccountCreate(
            name=name,
            tier=tier,
            timezone=timezone,
            health=health,
            csm_user_id=csm.id if csm else None,
        )
        account = account_service.create(session, container.clock, actor=CLI_OPERATOR, data=data)
        created = AccountSummary.model_validate(account)
    output.show(f"Created account {created.name} (id {created.id}, {created.tier.value}).")


@account_app.command("health")
@handle_errors(options={"account": "NAME", "health": "--set"})
def change_health(
    name: Annotated[str, typer.Argument(metavar="NAME", help="The account's name.")],
    health: Annotated[Health, typer.Option("--set", help="The new health.")],
    reason: Annotated[str, typer.Option(help="Why: what happened or what was said.")],
) -> None:
    """Record a new health for an account, with the reason (kept in its history)."""
    with open_container() as container, unit_of_work(container) as session:
        account = account_service.require_by_name(session, actor=CLI_OPERATOR, name=name)
        change = account_service.change_health(
            session,
            container.clock,
            actor=CLI_OPERATOR,
            account=account,
            data=HealthChangeIn(health=health, reason=reason),
        )
        recorded = HealthChangeRead.model_validate(change)
        account_name = account.name
    before = recorded.from_health.value if recorded.from_health else "-"
    output.show(
        f"{account_name}: health {before} -> {recorded.to_health.value} "
        f"(recorded {output.when(recorded.changed_at)})."
    )


# --- contact ---------------------------------------------------------------------------


@contact_app.command("add")
@handle_errors(options={"receives_incident_notifications": "--notify"})
def add_contact(
    account: AccountOption,
    name: Annotated[str, typer.Option(help="The contact's name.")],
    email: Annotated[str | None, typer.Option(help="E-mail address.")] = None,
    phone: Annotated[str | None, typer.Option(help="Phone number.")] = None,
    role: Annotated[str | None, typer.Option(help="Role, e.g. 'Customer Advocate'.")] = None,
    notify: Annotated[
        bool, typer.Option("--notify/--no-notify", help="Receives incident notifications.")
    ] = False,
) -> None:
    """Add a contact to an account."""
    data = ContactCreate(
        name=name, email=email, phone=phone, role=role, receives_incident_notifications=notify
    )
    with open_container() as container, unit_of_work(container) as session:
        found = account_service.require_by_name(session, actor=CLI_OPERATOR, name=account)
        contact = account_service.add_contact(session, actor=CLI_OPERATOR, account=found, data=data)
        created = ContactRead.model_validate(contact)
        account_name = found.name
    output.show(f"Added contact {created.name} (id {created.id}) to {account_name}.")


@contact_app.command("list")
@handle_errors()
def list_contacts(
    account: AccountOption,
    as_json: JsonOption = False,
    limit: LimitOption = 100,
    offset: OffsetOption = 0,
) -> None:
    """List an account's contacts by name."""
    with open_container() as container, unit_of_work(container) as session:
        found = account_service.require_by_name(session, actor=CLI_OPERATOR, name=account)
        page = account_service.list_contacts(
            session, actor=CLI_OPERATOR, account=found, page=PageParams(limit=limit, offset=offset)
        )
        contacts = [ContactRead.model_validate(c) for c in page.items]
        account_name = found.name
    if as_json:
        output.emit_page(contacts, page.total)
        return
    output.show(
        output.table(
            f"Contacts of {account_name}",
            ["id", "name", "role", "e-mail", "phone", "notified"],
            (
                [c.id, c.name, c.role, c.email, c.phone, c.receives_incident_notifications]
                for c in contacts
            ),
        )
    )
    output.page_footer(len(contacts), page.total, offset)


# --- contract --------------------------------------------------------------------------

CONTRACT_OPTIONS = {
    "sla_policy_id": "--sla-policy",
    "term_start": "--start",
    "term_end": "--end",
    "renewal_date": "--renewal",
    "monthly_fee": "--fee",
}


@contract_app.command("add")
@handle_errors(options=CONTRACT_OPTIONS)
def add_contract(
    account: AccountOption,
    sla_policy: Annotated[str, typer.Option(help="Name of the SLA policy that applies.")],
    start: Annotated[str, typer.Option(help="First day of the term (YYYY-MM-DD).")],
    end: Annotated[str, typer.Option(help="Last day of the term (YYYY-MM-DD).")],
    fee: Annotated[str, typer.Option(help="Monthly fee, e.g. 5000.00.")],
    currency: Annotated[str, typer.Option(help="ISO 4217 currency code.")] = "USD",
    renewal: Annotated[str | None, typer.Option(help="Renewal date (YYYY-MM-DD).")] = None,
) -> None:
    """Add a contract to an account."""
    with open_container() as container, unit_of_work(container) as session:
        found = account_service.require_by_name(session, actor=CLI_OPERATOR, name=account)
        policy = sla_service.require_by_name(session, actor=CLI_OPERATOR, name=sla_policy)
        data = ContractCreate.model_validate(
            {
                "sla_policy_id": policy.id,
                "term_start": start,
                "term_end": end,
                "renewal_date": renewal,
                "monthly_fee": fee,
                "currency": currency,
            }
        )
        contract = account_service.add_contract(
            session, actor=CLI_OPERATOR, account=found, data=data
        )
        created = account_service.contract_to_read(contract)
        account_name = found.name
    output.show(
        f"Added contract {created.id} to {account_name}: {created.term_start} to "
        f"{created.term_end}, {formatting.money(created.monthly_fee, created.currency)} a month, "
        f"SLA policy {created.sla_policy_name}."
    )


@contract_app.command("list")
@handle_errors()
def list_contracts(account: AccountOption, as_json: JsonOption = False) -> None:
    """List all of an account's contracts, by term start (an account has few)."""
    with open_container() as container, unit_of_work(container) as session:
        found = account_service.require_by_name(session, actor=CLI_OPERATOR, name=account)
        by_account = account_service.contracts_by_account(
            session, actor=CLI_OPERATOR, account_ids=[found.id]
        )
        contracts = [account_service.contract_to_read(c) for c in by_account[found.id]]
        account_name = found.name
    if as_json:
        # Every contract is listed, so the count of items is the total.
        output.emit_page(contracts, total=len(contracts))
        return
    output.show(
        output.table(
            f"Contracts of {account_name}",
            ["id", "SLA policy", "start", "end", "renewal", "monthly fee"],
            (
                [
                    c.id,
                    c.sla_policy_name,
                    c.term_start,
                    c.term_end,
                    c.renewal_date,
                    formatting.money(c.monthly_fee, c.currency),
                ]
                for c in contracts
            ),
        )
    )


@contact_app.command("invite")
@handle_errors(options={"contact_id": "--contact"})
def invite_contact(
    account: AccountOption,
    contact: Annotated[str, typer.Option("--contact", help="The contact's id or e-mail address.")],
    as_json: JsonOption = False,
) -> None:
    """Invite a contact to the customer portal: a single-use link, valid 7 days, is
    e-mailed to them (inviting again replaces the link, e.g. after a lost password)."""
    with open_container() as container, unit_of_work(container) as session:
        found = account_service.require_by_name(session, actor=CLI_OPERATOR, name=account)
        contact_id = account_service.find_contact(
            session, actor=CLI_OPERATOR, account=found, key=contact
        ).id
        user = portal_service.invite(
            session,
            container.clock,
            container.settings,
            actor=CLI_OPERATOR,
            account_id=found.id,
            contact_id=contact_id,
        )
        read = PortalInviteRead.of(user)
    if as_json:
        output.emit_json(read)
        return
    output.show(
        f"Invited {read.email} to the portal of {account}; the link works until "
        f"{output.when(read.invite_expires_at or read.invited_at)}."
    )

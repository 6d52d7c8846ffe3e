"""`escalate contact-method ...` and `escalate notification-rule ...`: how staff are paged.
(`escalate contact` is taken by account contacts, the customers' people.)"""

from __future__ import annotations

from typing import Annotated

import typer

from escalate.auth import service as auth_service
from escalate.auth.permissions import CLI_OPERATOR
from escalate.cli import output
from escalate.cli.runtime import handle_errors, note, open_container, unit_of_work
from escalate.notify import contacts
from escalate.notify.models import Channel
from escalate.notify.schemas import (
    ContactMethodCreate,
    NotificationRuleCreate,
    NotificationRuleRead,
)

method_app = typer.Typer(
    help="Contact methods of staff users: e-mail, Slack, webhook, SMS (fallback order).",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
rule_app = typer.Typer(
    help="Notification rules: which contact method, how many minutes after a page.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)

UserOption = Annotated[str, typer.Option("--user", help="The staff user's e-mail address.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON (the API's shape).")]


@method_app.command("add")
@handle_errors()
def add_method(
    user: UserOption,
    channel: Annotated[Channel, typer.Option(help="How to reach them.")],
    address: Annotated[
        str,
        typer.Option(
            help="E-mail address; Slack incoming-webhook URL or channel id (with --secret); "
            "webhook URL; SMS number in E.164 (+447700900123)."
        ),
    ],
    secret: Annotated[
        str | None,
        typer.Option(
            help="Slack bot token (xoxb-...), or a webhook's signing secret (generated and "
            "printed once when left out)."
        ),
    ] = None,
    label: Annotated[str | None, typer.Option(help="A name, e.g. 'Work phone'.")] = None,
    position: Annotated[
        int | None, typer.Option(min=0, help="Fallback order [default: after the others].")
    ] = None,
) -> None:
    """Add a contact method to a staff user."""
    data = ContactMethodCreate(
        channel=channel, address=address, secret=secret, label=label, position=position
    )
    with open_container() as container, unit_of_work(container) as session:
        owner = auth_service.require_by_email(session, email=user)
        method, generated = contacts.create_method(
            session, container.clock, actor=CLI_OPERATOR, user_id=owner.id, data=data
        )
        made = contacts.to_read(method)
    output.show(
        f"Added {made.channel.value} contact method {made.id} ({made.label}) for {user} "
        f"at position {made.position}."
    )
    if generated is not None:
        typer.echo(generated)
        note("That is the webhook's signing secret; it is not shown again.")


@method_app.command("list")
@handle_errors()
def list_methods(user: UserOption, as_json: JsonOption = False) -> None:
    """List a user's contact methods in fallback order (never their secrets)."""
    with open_container() as container, unit_of_work(container) as session:
        owner = auth_service.require_by_email(session, email=user)
        methods = [
            contacts.to_read(m)
            for m in contacts.list_methods(session, actor=CLI_OPERATOR, user_id=owner.id).items
        ]
    if as_json:
        output.emit_page(methods, len(methods))
        return
    output.show(
        output.table(
            f"Contact methods of {user}",
            ["id", "position", "channel", "label", "address", "secret", "active"],
            (
                [m.id, m.position, m.channel.value, m.label, m.address, m.has_secret, m.is_active]
                for m in methods
            ),
        )
    )


@method_app.command("remove")
@handle_errors(options={"method_id": "METHOD_ID"})
def remove_method(
    user: UserOption,
    method_id: Annotated[int, typer.Argument(metavar="METHOD_ID", help="The method's id.")],
) -> None:
    """Remove a contact method and its notification rules."""
    with open_container() as container, unit_of_work(container) as session:
        owner = auth_service.require_by_email(session, email=user)
        contacts.delete_method(session, actor=CLI_OPERATOR, user_id=owner.id, method_id=method_id)
    output.show(f"Removed contact method {method_id} of {user}.")


@method_app.command("test")
@handle_errors(options={"method_id": "METHOD_ID"})
def test_method(
    user: UserOption,
    method_id: Annotated[int, typer.Argument(metavar="METHOD_ID", help="The method's id.")],
) -> None:
    """Queue a test notification to a contact method (a worker delivers it)."""
    with open_container() as container, unit_of_work(container) as session:
        owner = auth_service.require_by_email(session, email=user)
        notification_id = contacts.send_test(
            session, container.clock, actor=CLI_OPERATOR, user_id=owner.id, method_id=method_id
        )
    output.show(f"Test notification {notification_id} queued; a running worker sends it.")


@rule_app.command("add")
@handle_errors()
def add_rule(
    user: UserOption,
    method: Annotated[int, typer.Option("--method", help="The contact method's id.")],
    delay_minutes: Annotated[
        int,
        typer.Option(
            help="Minutes after the page (0: at once); later ones only if "
            "the incident is still unacknowledged."
        ),
    ] = 0,
) -> None:
    """Add a notification rule: page by this method N minutes after being paged."""
    data = NotificationRuleCreate(contact_method_id=method, delay_minutes=delay_minutes)
    with open_container() as container, unit_of_work(container) as session:
        owner = auth_service.require_by_email(session, email=user)
        rule = NotificationRuleRead.model_validate(
            contacts.create_rule(session, actor=CLI_OPERATOR, user_id=owner.id, data=data)
        )
    output.show(
        f"Rule {rule.id}: {user} is notified by method {rule.contact_method_id} "
        f"{rule.delay_minutes} min after a page."
    )


@rule_app.command("list")
@handle_errors()
def list_rules(user: UserOption, as_json: JsonOption = False) -> None:
    """List a user's notification rules by delay."""
    with open_container() as container, unit_of_work(container) as session:
        owner = auth_service.require_by_email(session, email=user)
        rules = [
            NotificationRuleRead.model_validate(r)
            for r in contacts.list_rules(session, actor=CLI_OPERATOR, user_id=owner.id).items
        ]
    if as_json:
        output.emit_page(rules, len(rules))
        return
    output.show(
        output.table(
            f"Notification rules of {user}",
            ["id", "after (min)", "contact method"],
            ([r.id, r.delay_minutes, r.contact_method_id] for r in rules),
        )
    )


@rule_app.command("remove")
@handle_errors(options={"rule_id": "RULE_ID"})
def remove_rule(
    user: UserOption,
    rule_id: Annotated[int, typer.Argument(metavar="RULE_ID", help="The rule's id.")],
) -> None:
    """Remove a notification rule."""
    with open_container() as container, unit_of_work(container) as session:
        owner = auth_service.require_by_email(session, email=user)
        contacts.delete_rule(session, actor=CLI_OPERATOR, user_id=owner.id, rule_id=rule_id)
    output.show(f"Removed notification rule {rule_id} of {user}.")

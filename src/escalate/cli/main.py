"""The `escalate` command line. Each command builds its container when it runs (nothing at
import time), calls the domain services in one transaction as the CLI operator, and renders
the result: Rich tables for people, `--json` in the API's shapes for scripts."""

from __future__ import annotations

import typer

from escalate import __version__
from escalate.cli import incident_accounts as incident_account_commands
from escalate.cli import incident_checklist as incident_checklist_commands
from escalate.cli import incident_sla as incident_sla_commands
from escalate.cli import incident_views as incident_view_commands
from escalate.cli import incidents as incident_commands
from escalate.cli import server
from escalate.cli import updates as update_commands
from escalate.cli.accounts import account_app, contact_app, contract_app
from escalate.cli.alerts import alert_app, integration_app
from escalate.cli.db import db_app
from escalate.cli.demo import demo_app
from escalate.cli.notify import method_app, rule_app
from escalate.cli.policies import policy_app
from escalate.cli.routing import incident_app, routing_app, silence_app
from escalate.cli.runtime import EXIT_CODES_HELP
from escalate.cli.schedules import schedule_app
from escalate.cli.service_groups import service_group_app
from escalate.cli.services import service_app
from escalate.cli.sla import sla_app
from escalate.cli.users import token_app, user_app

app = typer.Typer(
    name="escalate",
    help="Escalate: incident response and customer escalation.\n\n"
    "Configured by ESCALATE_* environment variables (ESCALATE_DATABASE_URL, ...).\n\n"
    + EXIT_CODES_HELP,
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"escalate {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """Escalate: incident response and customer escalation."""


app.command("serve")(server.serve)
app.command("worker")(server.worker)
app.command("smtp-inbound")(server.smtp_inbound_command)
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
app.add_typer(account_app, name="account")
app.add_typer(contact_app, name="contact")
app.add_typer(contract_app, name="contract")
app.add_typer(service_app, name="service")
app.add_typer(service_group_app, name="service-group")
app.add_typer(sla_app, name="sla")
app.add_typer(demo_app, name="demo")
app.add_typer(integration_app, name="integration")
app.add_typer(alert_app, name="alert")
app.add_typer(routing_app, name="routing")
app.add_typer(silence_app, name="silence")
incident_commands.register(incident_app)
incident_view_commands.register(incident_app)
incident_checklist_commands.register(incident_app)
incident_account_commands.register(incident_app)
update_commands.register(incident_app)
incident_sla_commands.register(incident_app)
app.add_typer(incident_app, name="incident")
app.add_typer(method_app, name="contact-method")
app.add_typer(rule_app, name="notification-rule")
app.add_typer(schedule_app, name="schedule")
app.add_typer(policy_app, name="policy")

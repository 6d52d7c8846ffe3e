"""`escalate contact invite`: the same invitation as the API's, by contact id or e-mail."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

from comms_support import SmtpInbox, build_world, count, drain
from typer.testing import CliRunner, Result

from escalate.auth.models import CustomerUser
from escalate.bootstrap import Container
from escalate.cli.main import app
from escalate.clock import FrozenClock

INVITE = re.compile(r"https?://[^/\s]+(/portal/invite/[A-Za-z0-9_\-]+)")


def _run(db_url: str, *args: str) -> Result:
    env = {"ESCALATE_DATABASE_URL": db_url, "COLUMNS": "200"}
    return CliRunner().invoke(app, list(args), env=env)


def test_a_contact_is_invited_by_e_mail_or_id_from_the_cli(
    db_url: str, container: Container, inbox: SmtpInbox, clock: FrozenClock
) -> None:
    world = build_world(container)
    email = next(e for e in world.notified if "@acme" in e)
    account = f"Acme {email.split('@')[0][3:]}"
    invited = _run(db_url, "contact", "invite", "--account", account, "--contact", email.upper())
    assert invited.exit_code == 0, invited.output
    assert f"Invited {email} to the portal of {account}" in invited.output

    # The CLI ran on the wall clock; deliver what it queued.
    clock.set(datetime.now(UTC) + timedelta(minutes=1))
    drain(container)
    first = INVITE.search(inbox.text_to(email))
    assert first, inbox.text_to(email)

    again = _run(
        db_url,
        "contact",
        "invite",
        "--account",
        account,
        "--contact",
        str(world.contacts[email]),
        "--json",
    )
    assert again.exit_code == 0, again.output
    read = json.loads(again.stdout)
    assert read["email"] == email and read["account_id"] == world.accounts["Acme"]
    assert count(container, CustomerUser) == 1


def test_a_contact_of_another_account_or_unknown_is_refused(
    db_url: str, container: Container
) -> None:
    world = build_world(container)
    gus = next(e for e in world.contacts if "@globex" in e)
    acme = next(e for e in world.contacts if "@acme" in e)
    account = f"Acme {acme.split('@')[0][3:]}"
    other = _run(db_url, "contact", "invite", "--account", account, "--contact", gus)
    assert other.exit_code != 0
    assert f"no contact of {account} has the e-mail {gus}" in other.output
    by_id = _run(
        db_url, "contact", "invite", "--account", account, "--contact", str(world.contacts[gus])
    )
    assert by_id.exit_code != 0 and "not found" in by_id.output
    assert count(container, CustomerUser) == 0

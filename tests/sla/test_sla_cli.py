"""`escalate incident sla N`: the clocks the API lists, for people at a terminal."""

from __future__ import annotations

import json

from sla_support import affect, at, declare, post_update, seed_techcorp
from typer.testing import CliRunner, Result

from escalate.bootstrap import Container
from escalate.cli.main import app
from escalate.clock import FrozenClock
from escalate.incidents.models import UpdateKind


def _run(db_url: str, *args: str) -> Result:
    env = {"ESCALATE_DATABASE_URL": db_url, "COLUMNS": "200"}
    return CliRunner().invoke(app, list(args), env=env)


def test_the_clocks_of_an_incident_from_the_cli(
    db_url: str, container: Container, clock: FrozenClock
) -> None:
    clock.set(at(13))
    seeded = seed_techcorp(container)
    incident_id = declare(container)
    affect(container, incident_id, seeded.account_id)
    clock.set(at(13, 45))
    post_update(container, incident_id, UpdateKind.ACKNOWLEDGEMENT)

    shown = _run(db_url, "incident", "sla", "1")
    assert shown.exit_code == 0, shown.output
    first = next(line for line in shown.output.splitlines() if "acknowledgement" in line)
    for expected in (
        "TechCorp Solutions",
        "15 min",
        "13:15 UTC",
        "13:45 UTC",
        "breached",
        "30 min",
    ):
        assert expected in first

    as_json = json.loads(_run(db_url, "incident", "sla", "1", "--json").stdout)
    acknowledgement = next(c for c in as_json["items"] if c["kind"] == "acknowledgement")
    assert (acknowledgement["account_id"], acknowledgement["late_minutes"]) == (
        seeded.account_id,
        30,
    )
    assert as_json["total"] == len(as_json["items"])

    only = json.loads(
        _run(db_url, "incident", "sla", "1", "--account", "TechCorp Solutions", "--json").stdout
    )
    assert only["total"] == as_json["total"]
    unknown = _run(db_url, "incident", "sla", "1", "--account", "Nobody Inc")
    assert unknown.exit_code != 0 and "Nobody Inc" in unknown.output
    missing = _run(db_url, "incident", "sla", "9")
    assert missing.exit_code != 0 and "incident #9 not found" in missing.output

"""Names are unique regardless of case, in the services and in the database itself."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError

from escalate.accounts.models import Account, Health, Tier
from escalate.bootstrap import Container
from escalate.db import transaction


def test_the_database_refuses_a_name_differing_only_in_case(
    container: Container, make_account, clock
) -> None:
    make_account("Acme")
    # Straight to the table, as a request racing past the service's check would.
    now = clock.now()
    twin = Account(
        name="ACME",
        tier=Tier.BUSINESS,
        timezone="UTC",
        health=Health.NEUTRAL,
        created_at=now,
        updated_at=now,
    )
    with (
        pytest.raises(IntegrityError),
        transaction(container.session_factory, clock=clock) as session,
    ):
        session.add(twin)

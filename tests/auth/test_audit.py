"""The audit log: every change, with who, when, and the values, but never a secret."""

from __future__ import annotations

from sqlalchemy import select

from escalate.auth import service as auth_service
from escalate.auth.models import AuditEntry, User
from escalate.auth.permissions import SYSTEM
from escalate.bootstrap import Container
from escalate.db import transaction


def _entries(container: Container, entity_type: str) -> list[AuditEntry]:
    with container.session_factory() as session:
        stmt = select(AuditEntry).where(AuditEntry.entity_type == entity_type)
        return list(session.scalars(stmt.order_by(AuditEntry.id)))


def test_a_created_row_is_audited_under_its_id(container: Container, make_account) -> None:
    account_id = make_account("Audited")
    creates = [e for e in _entries(container, "accounts") if e.action == "create"]
    assert [e.entity_id for e in creates] == [str(account_id)]
    assert creates[0].after["name"] == "Audited"
    assert creates[0].actor_label == "system"


def test_password_changes_are_audited_without_the_hash(
    container: Container, make_user, clock
) -> None:
    user = make_user()
    with transaction(container.session_factory, clock=clock, actor=SYSTEM) as session:
        auth_service.set_password(
            session, actor=SYSTEM, user=session.get(User, user.id), password="a new passphrase"
        )
    entries = _entries(container, "users")
    created, changed = entries[0], entries[-1]
    assert created.after["password_hash"] == "(secret)"
    assert changed.action == "update"
    assert changed.after == {"password_hash": "(changed)"}
    assert "argon2" not in str([e.before for e in entries] + [e.after for e in entries])


def test_token_use_is_not_an_audited_change(
    client, container: Container, make_token, clock
) -> None:
    headers = make_token()
    before = len(_entries(container, "api_tokens"))
    clock.advance(minutes=5)
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    assert len(_entries(container, "api_tokens")) == before

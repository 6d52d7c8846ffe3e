"""Who may do what. Checked in the services, so the API, pages, CLI and worker agree."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from escalate.auth.models import Role
from escalate.errors import PermissionDenied


class Permission(StrEnum):
    READ = "read"
    ACCOUNTS_WRITE = "accounts.write"
    SLA_WRITE = "sla.write"
    SERVICES_WRITE = "services.write"
    OWN_TOKENS = "tokens.own"
    USERS_MANAGE = "users.manage"
    AUDIT_READ = "audit.read"
    INTEGRATIONS_MANAGE = "integrations.manage"  # integrations, their keys and routing
    SILENCES_WRITE = "silences.write"  # silences and maintenance windows
    OPERATE = "operate"  # job queue, metrics of the system itself


_ALL = frozenset(Role)
_WRITERS = frozenset({Role.ADMIN, Role.MANAGER})

GRANTS: dict[Permission, frozenset[Role]] = {
    Permission.READ: _ALL,
    Permission.ACCOUNTS_WRITE: _WRITERS,
    Permission.SLA_WRITE: _WRITERS,
    Permission.SERVICES_WRITE: _WRITERS,
    Permission.OWN_TOKENS: frozenset({Role.ADMIN, Role.MANAGER, Role.RESPONDER}),
    Permission.USERS_MANAGE: frozenset({Role.ADMIN}),
    Permission.AUDIT_READ: _WRITERS,
    Permission.INTEGRATIONS_MANAGE: _WRITERS,
    # Whoever is on call must be able to quiet a known noise at 3 a.m.
    Permission.SILENCES_WRITE: frozenset({Role.ADMIN, Role.MANAGER, Role.RESPONDER}),
    Permission.OPERATE: frozenset({Role.ADMIN}),
}


@dataclass(frozen=True)
class Actor:
    """Whoever causes a change: a signed-in user, a token, the CLI operator or the system."""

    user_id: int | None
    label: str
    role: Role

    def can(self, permission: Permission) -> bool:
        return self.role in GRANTS[permission]


SYSTEM = Actor(user_id=None, label="system", role=Role.ADMIN)
# Whoever runs the CLI on the server already holds the database credentials.
CLI_OPERATOR = Actor(user_id=None, label="cli", role=Role.ADMIN)


def authorize(actor: Actor, permission: Permission) -> None:
    if not actor.can(permission):
        raise PermissionDenied(f"role {actor.role} may not {permission}")

"""The domain exception tree. Adapters translate it: problem JSON in the API, messages in
the pages, exit codes in the CLI. Domain code never raises HTTP errors."""

from __future__ import annotations


class EscalateError(Exception):
    """Base of every error the domain raises on purpose."""

    title = "Error"

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field


class NotFound(EscalateError):
    title = "Not found"


class Conflict(EscalateError):
    """The request clashes with existing state (duplicate name, stale version)."""

    title = "Conflict"


class ValidationFailed(EscalateError):
    title = "Invalid input"


class InvalidTransition(EscalateError):
    title = "Invalid state transition"


class NotAuthenticated(EscalateError):
    title = "Not authenticated"


class PermissionDenied(EscalateError):
    title = "Forbidden"


class SchemaOutOfDate(EscalateError):
    """The database schema is not the one this code expects."""

    title = "Database schema out of date"

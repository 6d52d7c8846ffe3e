"""Which HTTP status each domain error means, for the API and the pages alike."""

from __future__ import annotations

from escalate import errors

STATUS_BY_ERROR: dict[type[errors.EscalateError], int] = {
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.ValidationFailed: 422,
    errors.InvalidTransition: 409,
    errors.NotAuthenticated: 401,
    errors.PermissionDenied: 403,
    errors.SchemaOutOfDate: 503,
}


def status_for(error: errors.EscalateError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 400

"""Which HTTP status each domain error means, and how a validation error names its
field: shared by the API and the pages, so neither imports the other."""

from __future__ import annotations

from typing import Any

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


def field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    """("body", "contracts", 0, "monthly_fee") -> "contracts[0].monthly_fee"."""
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def validation_errors(raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
    result = []
    for err in raw:
        message = str(err.get("msg", "invalid"))
        name = field_path(err.get("loc", ()))
        # Model-level checks name their field as "field: message" (see the schemas).
        if message.startswith("Value error, "):
            message = message.removeprefix("Value error, ")
        if ": " in message and not name:
            head, _, tail = message.partition(": ")
            if head.replace("_", "").isalnum():
                name, message = head, tail
        result.append({"field": name or "body", "message": message, "type": err.get("type")})
    return result

"""Form posts: read text fields, and turn validation errors into messages by field."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import FormData

from escalate import errors
from escalate.web.pages.rendering import local_time, sentence
from escalate.web.status import status_for, validation_errors

FRIENDLY = {
    "missing": "This field is required.",
    "string_too_short": "This field is required.",
    "enum": "Choose one of the options.",
    "literal_error": "Choose one of the options.",
}


@dataclass
class FormState:
    """What a form shows: the values the person typed and a message per field."""

    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    status: int = 200

    @property
    def failed(self) -> bool:
        return bool(self.errors)

    def add(self, name: str, message: str) -> None:
        self.errors.setdefault(name, message)


def text(form: FormData, name: str, *, strip: bool = True) -> str:
    """A text field, "" when missing; `strip=False` keeps it exact (a password)."""
    value = form.get(name)
    if not isinstance(value, str):
        return ""
    return value.strip() if strip else value


def optional_text(form: FormData, name: str) -> str | None:
    """An empty field means "not given", not an empty string."""
    return text(form, name) or None


def checked(form: FormData, name: str) -> bool:
    return text(form, name) in ("on", "true", "1", "yes")


# An ISO 8601 time as the domain and pydantic write it in messages (2026-11-30T04:00:00+00:00).
ISO_MOMENT = re.compile(
    r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?"
)


def label(name: str) -> str:
    """A field's name as a person reads it: "affected_users" -> "Affected users",
    "contracts[0].monthly_fee" -> "Monthly fee"."""
    last = re.sub(r"\[\d+\]", "", name).rsplit(".", 1)[-1]
    words = last.replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def _moment_text(match: re.Match[str]) -> str:
    try:
        moment = datetime.fromisoformat(match.group().replace("Z", "+00:00"))
    except ValueError:
        return match.group()
    return local_time(moment if moment.tzinfo else moment.replace(tzinfo=UTC), "UTC")


def readable(message: str, names: Iterable[str] = ()) -> str:
    """A message for people: ISO times written as the pages write times, and the field
    names it quotes (`names`, e.g. "impact_end") as words ("impact end")."""
    message = ISO_MOMENT.sub(_moment_text, message)
    for name in sorted({n for n in names if "_" in n}, key=len, reverse=True):
        message = re.sub(rf"\b{re.escape(name)}\b", label(name).lower(), message)
    return sentence(message)


def _names(state: FormState, *more: str | None) -> list[str]:
    return [*state.values, *(m for m in more if m)]


def from_validation_error(state: FormState, exc: ValidationError) -> FormState:
    for item in validation_errors([dict(e) for e in exc.errors()]):
        message = FRIENDLY.get(str(item.get("type")), item["message"])
        state.add(item["field"], readable(message, _names(state, item["field"])))
    state.status = 422
    return state


# Errors a person can fix by changing what they typed; anything else is a real failure.
FIXABLE_ERRORS = (errors.ValidationFailed, errors.Conflict, errors.InvalidTransition)


def attempt(state: FormState, action: Callable[[], object]) -> FormState:
    """Run a form's action; an error the person can fix goes into the form, by its field."""
    try:
        action()
    except ValidationError as exc:
        from_validation_error(state, exc)
    except FIXABLE_ERRORS as exc:
        from_domain_error(state, exc)
    return state


def from_domain_error(state: FormState, exc: errors.EscalateError) -> FormState:
    state.add(exc.field or "form", readable(exc.detail, _names(state, exc.field)))
    state.status = status_for(exc)
    return state

"""Form posts: read text fields, and turn validation errors into messages by field."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import FormData

from escalate import errors
from escalate.web.pages.rendering import sentence
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


def from_validation_error(state: FormState, exc: ValidationError) -> FormState:
    for item in validation_errors([dict(e) for e in exc.errors()]):
        message = FRIENDLY.get(str(item.get("type")), item["message"])
        state.add(item["field"], sentence(message))
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
    state.add(exc.field or "form", sentence(exc.detail))
    state.status = status_for(exc)
    return state

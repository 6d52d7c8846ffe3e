"""Jinja2 templates and the filters that turn stored values into what a person reads:
money, durations and percentages as escalate.formatting writes them (the CLI's words too),
times in the account's time zone, and "—" for a missing value."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from escalate import __version__, formatting
from escalate.web.pages.lines import format_matcher

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"

# What a page shows where a value is missing.
MISSING = "—"

HEALTH_LABELS = {
    "critical": "Critical",
    "at_risk": "At risk",
    "neutral": "Neutral",
    "healthy": "Healthy",
}
TIER_LABELS = {"enterprise": "Enterprise", "business": "Business", "standard": "Standard"}
ROLE_LABELS = {"admin": "Admin", "manager": "Manager", "responder": "Responder", "viewer": "Viewer"}


def money(amount: Decimal | None, currency: str) -> str:
    """The filter: formatting.money, or "—" for no amount."""
    return MISSING if amount is None else formatting.money(amount, currency)


def duration(minutes: int | None) -> str:
    """The filter: formatting.duration, or "—" for no value."""
    return MISSING if minutes is None else formatting.duration(minutes)


def percent(value: Decimal | None) -> str:
    """The filter: formatting.percent, or "—" for no value."""
    return MISSING if value is None else formatting.percent(value)


def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_time(moment: datetime | None, tz: str | None = None) -> str:
    """An aware time in a zone, with the zone's abbreviation: "22 Oct 2025, 09:00 EDT"."""
    if moment is None:
        return MISSING
    local = moment.astimezone(zone(tz))
    return f"{local.day} {local:%b %Y, %H:%M} {local.tzname()}"


def utc_iso(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def day(value: date | None) -> str:
    """date(2026, 1, 1) -> "1 Jan 2026"."""
    if value is None:
        return MISSING
    return f"{value.day} {value:%b %Y}"


def sentence(message: str) -> str:
    """A domain message as a sentence: "account 7 not found" -> "Account 7 not found."."""
    message = message.strip()
    if not message:
        return message
    message = message[0].upper() + message[1:]
    return message if message.endswith((".", "!", "?")) else message + "."


def pretty_json(value: Any) -> str:
    """Stored JSON for people: indented, keys sorted, non-ASCII kept (the template escapes
    it)."""
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)


def safe_href(value: Any) -> str | None:
    """A link from an inbound payload, if it is one a page may offer: http or https only,
    never javascript: or data: (the payload is whatever a monitoring tool sent)."""
    if not isinstance(value, str) or len(value) > 2000:
        return None
    try:
        parts = urlsplit(value.strip())
    except ValueError:
        return None
    return value.strip() if parts.scheme in ("http", "https") and parts.netloc else None


def health_label(value: str | None) -> str:
    return HEALTH_LABELS.get(str(value), str(value or MISSING))


def tier_label(value: str | None) -> str:
    return TIER_LABELS.get(str(value), str(value or MISSING))


def role_label(value: str | None) -> str:
    return ROLE_LABELS.get(str(value), str(value or MISSING))


@cache
def templates() -> Jinja2Templates:
    """Built on first use, not at import time."""
    built = Jinja2Templates(directory=TEMPLATES_DIR)
    env = built.env
    env.trim_blocks = True
    env.lstrip_blocks = True
    env.filters.update(
        money=money,
        duration=duration,
        percent=percent,
        local_time=local_time,
        utc_iso=utc_iso,
        day=day,
        health_label=health_label,
        tier_label=tier_label,
        role_label=role_label,
        pretty_json=pretty_json,
        safe_href=safe_href,
        matcher_text=format_matcher,
        sentence=sentence,
    )
    env.globals.update(
        version=__version__,
        health_labels=HEALTH_LABELS,
        tier_labels=TIER_LABELS,
    )
    return built


# Marks a live region's refreshed HTML (static/js/app.js pastes only what carries it), so a
# login page the fetch was redirected to, after the session ended, is never pasted in.
FRAGMENT_HEADER = "X-Escalate-Fragment"


def render_fragment(request: Request, name: str, context: dict[str, Any]) -> Response:
    """A live region's HTML, marked as a fragment with the template's name."""
    return render(request, name, context, headers={FRAGMENT_HEADER: name})


def mail_configured(request: Request) -> bool:
    """Whether this server can send e-mail (ESCALATE_SMTP_HOST is set)."""
    return bool(request.app.state.container.settings.smtp_host)


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    """Render a page in the layout; the signed-in user (if any) fills the navigation, and
    is told when this server mails nothing."""
    values: dict[str, Any] = {
        "login": getattr(request.state, "login", None),
        "mail_configured": mail_configured(request),
    }
    values.update(context or {})
    return templates().TemplateResponse(
        request, name, values, status_code=status_code, headers=headers
    )

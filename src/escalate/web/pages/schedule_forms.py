"""The schedule form as people type it, turned into the API's ScheduleIn: a fixed number of
layer slots (a blank slot is skipped), participants one per line, hand-offs in the
schedule's own time zone, and restrictions written as "Mon-Fri 09:00-17:00"."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from escalate import errors
from escalate.oncall.models import Schedule
from escalate.oncall.schemas import ScheduleIn

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
LAYER_FIELDS = ("name", "rotation", "rotation_hours", "handoff", "participants", "restrictions")
LOCAL_INPUT = "%Y-%m-%dT%H:%M"
_RESTRICTION = re.compile(
    r"^(?P<days>[A-Za-z,\- ]+?)\s+(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2})$"
)
# "layers[1].participants[0]" -> the form's "layers-1-participants".
_LAYER_ERROR = re.compile(r"^layers\[(?P<index>\d+)\]\.(?P<name>[a-z_]+)")
_FORM_NAMES = {"start_at": "handoff", "end_at": "handoff", "weekdays": "restrictions"}


def field_name(index: int, name: str) -> str:
    return f"layers-{index}-{name}"


def values_from_form(form: Mapping[str, Any], slots: int) -> dict[str, Any]:
    """Every text field of the form, as typed (shown again when something is wrong)."""
    names = ["name", "description", "time_zone"] + [
        field_name(index, name) for index in range(slots) for name in LAYER_FIELDS
    ]
    values: dict[str, Any] = {}
    for name in names:
        value = form.get(name)
        values[name] = value.strip() if isinstance(value, str) else ""
    return values


def values_from_schedule(schedule: Schedule) -> dict[str, Any]:
    """The edit form filled in from a stored schedule."""
    zone = _zone(schedule.time_zone)
    values: dict[str, Any] = {
        "name": schedule.name,
        "description": schedule.description or "",
        "time_zone": schedule.time_zone,
    }
    for index, layer in enumerate(schedule.layers):
        values[field_name(index, "name")] = layer.name
        values[field_name(index, "rotation")] = layer.rotation
        values[field_name(index, "rotation_hours")] = layer.rotation_hours or ""
        values[field_name(index, "handoff")] = layer.start_at.astimezone(zone).strftime(LOCAL_INPUT)
        values[field_name(index, "participants")] = "\n".join(m.user.email for m in layer.members)
        values[field_name(index, "restrictions")] = "\n".join(
            restriction_text(item) for item in layer.restrictions or []
        )
    return values


def schedule_in(values: dict[str, Any], slots: int) -> ScheduleIn:
    """The typed form as the service's input; raises ValidationFailed by form field."""
    zone = _zone(values["time_zone"])
    layers = []
    for index in range(slots):
        name = values[field_name(index, "name")]
        participants = _lines(values[field_name(index, "participants")])
        if not name and not participants:
            continue  # a blank slot
        hours = values[field_name(index, "rotation_hours")]
        layers.append(
            {
                "name": name,
                "rotation": values[field_name(index, "rotation")] or "weekly",
                "rotation_hours": int(hours) if str(hours).isdigit() else (hours or None),
                "start_at": _local(values[field_name(index, "handoff")], zone, index),
                "participants": participants,
                "restrictions": [
                    parse_restriction(line, field_name(index, "restrictions"))
                    for line in _lines(values[field_name(index, "restrictions")], commas=False)
                ],
            }
        )
    return ScheduleIn.model_validate(
        {
            "name": values["name"],
            "description": values["description"] or None,
            "time_zone": values["time_zone"],
            "layers": layers,
        }
    )


def form_field(field: str | None, layer_slots: list[int]) -> str:
    """A service error's field as the form's: "layers[0].participants[2]" names the
    participants box of the first filled slot (`layer_slots` maps layer index to slot)."""
    if not field:
        return "form"
    match = _LAYER_ERROR.match(field.replace("-", "_"))
    if match is None:
        return field
    index = int(match["index"])
    slot = layer_slots[index] if index < len(layer_slots) else index
    name = _FORM_NAMES.get(match["name"], match["name"])
    if ".restrictions" in field:
        name = "restrictions"
    return field_name(slot, name)


def filled_slots(values: dict[str, Any], slots: int) -> list[int]:
    return [
        index
        for index in range(slots)
        if values[field_name(index, "name")] or values[field_name(index, "participants")]
    ]


def parse_restriction(text: str, field: str) -> dict[str, Any]:
    """ "Mon-Fri 09:00-17:00", "Sat,Sun 10:00-14:00", "Mon-Thu 18:00-08:00" (overnight)."""
    match = _RESTRICTION.match(text.strip())
    if match is None:
        raise errors.ValidationFailed(
            f"write a restriction as 'Mon-Fri 09:00-17:00', not {text!r}", field=field
        )
    days: list[int] = []
    for part in match["days"].replace(" ", "").lower().split(","):
        first, _, last = part.partition("-")
        if first[:3] not in DAYS or (last and last[:3] not in DAYS):
            raise errors.ValidationFailed(f"unknown day in {text!r}", field=field)
        start, end = DAYS.index(first[:3]), DAYS.index((last or first)[:3])
        days.extend(range(start, end + 1) if start <= end else [*range(start, 7), *range(end + 1)])
    return {"weekdays": sorted(set(days)), "start": match["start"], "end": match["end"]}


def restriction_text(stored: dict[str, Any]) -> str:
    days = ",".join(DAYS[day].capitalize() for day in stored.get("weekdays") or [])
    return f"{days} {stored.get('start')}-{stored.get('end')}"


def _lines(text: str, *, commas: bool = True) -> list[str]:
    """One item per line (or per semicolon; per comma too, unless the items hold commas, as
    "Sat,Sun 10:00-14:00" does)."""
    separators = r"[\n,;]" if commas else r"[\n;]"
    return [line.strip() for line in re.split(separators, text or "") if line.strip()]


def _zone(name: str) -> ZoneInfo:
    # An unknown zone is the service's to report (by its field); hand-offs read as UTC here.
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _local(text: str, zone: ZoneInfo, index: int) -> datetime:
    if not text:
        raise errors.ValidationFailed(
            "give the first hand-off's date and time", field=field_name(index, "handoff")
        )
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise errors.ValidationFailed(
            "give a date and time, as 2025-10-20T09:00", field=field_name(index, "handoff")
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)

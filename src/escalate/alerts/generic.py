"""From any JSON body to inbound events, by an integration's GenericMapping: pure functions,
no database. A body is one event (an object) or several (a list of objects)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from escalate.alerts.mapping import SUMMARY_MAX, InboundEvent, severity_from_word
from escalate.alerts.models import AlertAction, Severity
from escalate.alerts.paths import Found, PathEvaluationError, compile_path
from escalate.alerts.schemas import GenericMapping
from escalate.errors import ValidationFailed

MAX_EVENTS = 10_000
MAX_DEPTH = 64
MAX_LABELS = 100
DEDUP_KEY_MAX = 255
SOURCE_MAX = 255
LABEL_MAX = 1024
# Problems quoted in one refusal; the rest are counted.
MAX_PROBLEMS_SHOWN = 20

# Status words most tools use; a mapping's status_map adds to them. Any other word triggers.
STATUS_WORDS: dict[str, AlertAction] = {
    **dict.fromkeys(
        (
            "ok",
            "resolved",
            "resolve",
            "closed",
            "close",
            "recovered",
            "recovery",
            "cleared",
            "clear",
            "normal",
        ),
        AlertAction.RESOLVE,
    ),
    **dict.fromkeys(("ack", "acked", "acknowledge", "acknowledged"), AlertAction.ACKNOWLEDGE),
}


@dataclass(frozen=True)
class Problem:
    field: str
    message: str


class MalformedBody(ValidationFailed):
    """The body is not JSON at all."""


class UnmappableBody(ValidationFailed):
    """The body is JSON, but the mapping cannot make events of it; `problems` says where."""

    def __init__(self, problems: list[Problem]) -> None:
        shown = [f"{p.field}: {p.message}" for p in problems[:MAX_PROBLEMS_SHOWN]]
        if len(problems) > MAX_PROBLEMS_SHOWN:
            shown.append(f"and {len(problems) - MAX_PROBLEMS_SHOWN} more")
        super().__init__("; ".join(shown), field=problems[0].field)
        self.problems = problems


@dataclass(frozen=True)
class MappedEvent:
    """One event of a body: what it maps to, or the problems that stop it."""

    index: int
    event: InboundEvent | None
    problems: list[Problem] = field(default_factory=list)


@dataclass(frozen=True)
class MappedBody:
    events: list[MappedEvent]
    # Problems of the body as a whole (not an object, an empty list, ...).
    problems: list[Problem] = field(default_factory=list)

    def all_problems(self) -> list[Problem]:
        return self.problems + [p for mapped in self.events for p in mapped.problems]


def parse_body(data: bytes) -> Any:
    """The JSON document in a request body, or MalformedBody."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise MalformedBody(f"the request body is not valid JSON: {exc}", field="body") from None


def events_from_body(document: Any, mapping: GenericMapping) -> list[InboundEvent]:
    """Every event of the body, or UnmappableBody with every problem: a body is taken whole
    or not at all."""
    mapped = map_body(document, mapping)
    problems = mapped.all_problems()
    if problems:
        raise UnmappableBody(problems)
    return [m.event for m in mapped.events if m.event is not None]


def map_body(document: Any, mapping: GenericMapping) -> MappedBody:
    """What each event of the body maps to (the preview shows this as it is)."""
    if _deeper_than(document, MAX_DEPTH):
        return MappedBody([], [Problem("body", f"nested deeper than {MAX_DEPTH} levels")])
    if isinstance(document, dict):
        return MappedBody([_map_event(0, "", document, mapping)])
    if not isinstance(document, list):
        found = _kind(document)
        return MappedBody([], [Problem("body", f"expected an object or a list, found {found}")])
    if not document:
        return MappedBody([], [Problem("body", "an empty list holds no event")])
    if len(document) > MAX_EVENTS:
        return MappedBody([], [Problem("body", f"more than {MAX_EVENTS} events")])
    return MappedBody([_map_event(i, f"[{i}]", item, mapping) for i, item in enumerate(document)])


def _map_event(index: int, where: str, item: Any, mapping: GenericMapping) -> MappedEvent:
    if not isinstance(item, dict):
        return MappedEvent(
            index, None, [Problem(where, f"expected an object, found {_kind(item)}")]
        )
    reader = _Reader(item, where)
    title = reader.text("title", mapping.title, SUMMARY_MAX, truncate=True)
    severity_word = reader.word("severity", mapping.severity)
    status_word = reader.word("status", mapping.status)
    labels = reader.labels(mapping.labels)
    source = reader.text("source", mapping.source, SOURCE_MAX, truncate=True)
    details = reader.details(mapping.details)
    dedup_key = reader.text("dedup_key", mapping.dedup_key, DEDUP_KEY_MAX, truncate=False)
    if title is None and not reader.missed("title"):
        reader.problem("title", f"no title at {_listed(mapping.title)}")
    if reader.problems:
        return MappedEvent(index, None, reader.problems)
    assert title is not None
    return MappedEvent(
        index,
        InboundEvent(
            action=action_for(status_word, mapping.status_map),
            dedup_key=dedup_key or default_dedup_key(title, labels),
            summary=title,
            severity=severity_for(severity_word, mapping.severity_map),
            source=source,
            labels=labels,
            details=details,
            payload=item,
        ),
    )


def severity_for(word: str | None, severity_map: dict[str, Severity]) -> Severity:
    """The mapping's meaning of a severity word first, then the common words."""
    if word is not None and word.strip().lower() in severity_map:
        return severity_map[word.strip().lower()]
    return severity_from_word(word)


def action_for(word: str | None, status_map: Mapping[str, str]) -> AlertAction:
    """Resolve or acknowledge for the words that say so; anything else (or nothing) triggers."""
    if word is None:
        return AlertAction.TRIGGER
    key = word.strip().lower()
    if key in status_map:
        return AlertAction(status_map[key])
    return STATUS_WORDS.get(key, AlertAction.TRIGGER)


def default_dedup_key(title: str, labels: dict[str, Any]) -> str:
    """For events without a key: the same title and labels are the same alert, so a resolve
    sent with them finds the alert its trigger opened."""
    canonical = json.dumps(
        {"title": title, "labels": labels}, sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


class _Reader:
    """Reads one event's fields by their paths, collecting problems instead of stopping at
    the first, so that one answer names everything wrong."""

    def __init__(self, item: dict[str, Any], where: str) -> None:
        self.item, self.where = item, where
        self.problems: list[Problem] = []

    def problem(self, name: str, message: str) -> None:
        self.problems.append(Problem(f"{self.where}.{name}" if self.where else name, message))

    def missed(self, name: str) -> bool:
        """Whether a problem was already noted for this field."""
        field_name = f"{self.where}.{name}" if self.where else name
        return any(p.field == field_name for p in self.problems)

    def find(self, name: str, paths: list[str]) -> Found:
        """The first value present, not null and not blank, at one of the paths."""
        for path in paths:
            try:
                found = compile_path(path).find(self.item)
            except PathEvaluationError as exc:
                self.problem(name, str(exc))
                return Found(False)
            value = found.value
            if (
                found.present
                and value is not None
                and not (isinstance(value, str) and not value.strip())
            ):
                return found
        return Found(False)

    def text(self, name: str, paths: list[str], limit: int, *, truncate: bool) -> str | None:
        found = self.find(name, paths)
        if not found.present:
            return None
        value = found.value
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self.problem(name, f"expected text, found {_kind(value)}")
            return None
        text = _clean(str(value)).strip()
        if len(text) > limit:
            if not truncate:
                self.problem(name, f"longer than {limit} characters")
                return None
            text = text[:limit]
        return text or None

    def word(self, name: str, paths: list[str]) -> str | None:
        """A status or severity word; numbers and booleans read as their JSON text, so a
        mapping can give `true` or `1` a meaning."""
        found = self.find(name, paths)
        if not found.present:
            return None
        value = found.value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, str | int | float):
            return _clean(str(value))[:100]
        self.problem(name, f"expected a word, found {_kind(value)}")
        return None

    def labels(self, paths: list[str]) -> dict[str, Any]:
        found = self.find("labels", paths)
        if not found.present:
            return {}
        value = found.value
        if isinstance(value, dict):
            pairs = list(value.items())
        elif isinstance(value, list) and all(isinstance(tag, str) for tag in value):
            pairs = [_split_tag(tag) for tag in value]
        else:
            self.problem("labels", f"expected an object or a list of tags, found {_kind(value)}")
            return {}
        if len(pairs) > MAX_LABELS:
            self.problem("labels", f"more than {MAX_LABELS} labels")
            return {}
        return {_clean(str(name))[:LABEL_MAX]: _label_value(label) for name, label in pairs if name}

    def details(self, paths: list[str]) -> dict[str, Any]:
        found = self.find("details", paths)
        if not found.present:
            return {}
        return found.value if isinstance(found.value, dict) else {"details": found.value}


def _split_tag(tag: str) -> tuple[str, str]:
    """Tags as monitoring tools write them: "env:prod" or "env=prod"; a bare "urgent" is a
    label with an empty value."""
    for separator in (":", "="):
        name, found, value = tag.partition(separator)
        if found:
            return name.strip(), value.strip()
    return tag.strip(), ""


def _label_value(value: Any) -> str:
    """Labels are text, as Alertmanager's are, so that routing rules compare like with like."""
    if isinstance(value, str):
        text = value
    elif value is None:
        text = ""
    else:
        text = json.dumps(value, separators=(",", ":"), sort_keys=True)
    return _clean(text)[:LABEL_MAX]


def _clean(text: str) -> str:
    # PostgreSQL text cannot hold NUL.
    return text.replace("\x00", "")


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    return "an object"


def _listed(paths: list[str]) -> str:
    return ", ".join(f"`{p}`" for p in paths)


def _deeper_than(document: Any, limit: int) -> bool:
    """Whether containers nest deeper than `limit` (checked without recursion, since the
    point is to refuse what would exhaust the stack later)."""
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > limit:
                return True
            children = value.values() if isinstance(value, dict) else value
            stack.extend((child, depth + 1) for child in children)
    return False

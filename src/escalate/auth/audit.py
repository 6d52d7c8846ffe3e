"""The audit log, written for every change to an audited table by a flush hook, so that no
service can forget it. Tables opt out with `__audited__ = False` and hide secret columns
with `__audit_secret__` (recorded as changed, never with their values) and ignore noise
columns with `__audit_exclude__`."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import event, insert, inspect
from sqlalchemy.orm import Session, sessionmaker

from escalate.auth.models import AuditEntry
from escalate.auth.permissions import SYSTEM, Actor


def install(factory: sessionmaker[Session]) -> None:
    event.listen(factory, "after_flush", _record_flush)


def _record_flush(session: Session, _context: Any) -> None:
    rows: list[dict[str, Any]] = []
    for obj in session.new:
        if _audited(obj):
            rows.append(_row(session, obj, "create", None, _values(obj)))
    for obj in session.dirty:
        if _audited(obj) and session.is_modified(obj, include_collections=False):
            before, after = _changes(obj)
            if after:
                rows.append(_row(session, obj, "update", before, after))
    for obj in session.deleted:
        if _audited(obj):
            rows.append(_row(session, obj, "delete", _values(obj), None))
    if rows:
        session.connection().execute(insert(AuditEntry), rows)


def _audited(obj: Any) -> bool:
    return bool(getattr(type(obj), "__audited__", True))


def _row(
    session: Session,
    obj: Any,
    action: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> dict[str, Any]:
    actor: Actor = session.info.get("actor", SYSTEM)
    clock = session.info["clock"]
    # New rows have no identity key until the flush completes; the mapper reads their id.
    identity = inspect(obj).mapper.primary_key_from_instance(obj)
    return {
        "at": clock.now(),
        "actor_user_id": actor.user_id,
        "actor_label": actor.label,
        "action": action,
        "entity_type": obj.__tablename__,
        "entity_id": ",".join(str(part) for part in identity),
        "before": before,
        "after": after,
        "summary": session.info.get("audit_summary"),
    }


SECRET = "(secret)"


def _excluded(obj: Any) -> tuple[str, ...]:
    return tuple(getattr(type(obj), "__audit_exclude__", ()))


def _secret(obj: Any) -> tuple[str, ...]:
    return tuple(getattr(type(obj), "__audit_secret__", ()))


def _values(obj: Any) -> dict[str, Any]:
    excluded, secret = _excluded(obj), _secret(obj)
    state = inspect(obj)
    return {
        attr.key: SECRET if attr.key in secret else _jsonable(getattr(obj, attr.key))
        for attr in state.mapper.column_attrs
        if attr.key not in excluded
    }


def _changes(obj: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    excluded = _excluded(obj)
    state = inspect(obj)
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for attr in state.mapper.column_attrs:
        if attr.key in excluded:
            continue
        history = state.attrs[attr.key].history
        if not history.has_changes():
            continue
        old = history.deleted[0] if history.deleted else None
        new = history.added[0] if history.added else None
        if old == new:
            continue
        if attr.key in _secret(obj):
            before[attr.key], after[attr.key] = SECRET, "(changed)"
            continue
        before[attr.key] = _jsonable(old)
        after[attr.key] = _jsonable(new)
    return before, after


def _jsonable(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return value

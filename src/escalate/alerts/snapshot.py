"""What the ingest path reads in every transaction (the integration's row, its routing
rules, the silences), kept from one transaction to the next while none of it changes.

The committer applies requests in batches of a few to a few dozen, and reading these rows
through the ORM at the start of each batch cost more than storing the batch's events
(about 300 microseconds per event at 8 events a batch). So every change to an
integration, a routing rule or a silence, by any process, bumps one counter row in the
same transaction (`install`: hooks on flush and on statements run through a session); each
ingest transaction reads that counter once (one primary-key read) and keeps using what it
read before while the counter has not moved. A change is seen by the next batch that
starts after it commits, in every server process, as before.

The rows kept are detached from any session and only read, by any committer thread."""

from __future__ import annotations

import threading
from datetime import datetime
from itertools import chain
from typing import Any, cast

from sqlalchemy import Table, bindparam, event, select, update
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker

from escalate.alerts.models import Integration, RoutingRule, Silence
from escalate.incidents.models import Counter
from escalate.prepared import Prepared

REVISION_COUNTER = "alert-routing"
SESSION_KEY = "escalate_routing_snapshot"
_CHECKED = "escalate_routing_snapshot_checked"

_COUNTERS = cast(Table, Counter.__table__)
_READ_REVISION = Prepared(select(_COUNTERS.c.value).where(_COUNTERS.c.name == bindparam("counter")))
_BUMP_REVISION = Prepared(
    update(_COUNTERS)
    .where(_COUNTERS.c.name == bindparam("counter"))
    .values(value=_COUNTERS.c.value + 1)
)
_ROUTING_ROWS = (Integration, RoutingRule, Silence)


_ROUTING_TABLES = frozenset(cast(Table, row.__table__) for row in _ROUTING_ROWS)


def install(factory: sessionmaker[Session]) -> None:
    """Bump the routing revision in every flush, and with every INSERT, UPDATE or DELETE
    statement run through a session, that changes what routing reads."""
    event.listen(factory, "before_flush", _bump_on_routing_change)
    event.listen(factory, "do_orm_execute", _bump_on_routing_statement)


def _bump_on_routing_change(session: Session, _context: Any, _instances: Any) -> None:
    changed = chain(session.new, session.dirty, session.deleted)
    if any(isinstance(row, _ROUTING_ROWS) for row in changed):
        _BUMP_REVISION.run(session, {"counter": REVISION_COUNTER})


def _bump_on_routing_statement(state: ORMExecuteState) -> None:
    writes = state.is_insert or state.is_update or state.is_delete
    if writes and getattr(state.statement, "table", None) in _ROUTING_TABLES:
        _BUMP_REVISION.run(state.session, {"counter": REVISION_COUNTER})


@event.listens_for(Session, "after_transaction_end")
def _forget_check(session: Session, transaction: Any) -> None:
    if transaction.parent is None:
        session.info.pop(_CHECKED, None)


def read_rules(session: Session, integration_id: int) -> list[RoutingRule]:
    """An integration's rules in order, the catch-all last."""
    return list(
        session.scalars(
            select(RoutingRule)
            .where(RoutingRule.integration_id == integration_id)
            .order_by(RoutingRule.is_catch_all, RoutingRule.position, RoutingRule.id)
        )
    )


def read_silences_not_ended(session: Session, now: datetime) -> list[Silence]:
    """Silences and maintenance windows active now or later (kept while time moves on)."""
    return list(session.scalars(select(Silence).where(Silence.ends_at > now).order_by(Silence.id)))


def in_window(silences: list[Silence], now: datetime) -> list[Silence]:
    """Those whose window includes now."""
    return [s for s in silences if s.starts_at <= now < s.ends_at]


_MISSING = object()


class RoutingSnapshot:
    """The rows routing reads, as of one revision of the routing counter. A transaction
    that uses it finds it in `session.info[SESSION_KEY]` (the committer puts it there)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._revision: int | None = None
        self._integrations: dict[int, Integration | None] = {}
        self._rules: dict[int, list[RoutingRule]] = {}
        self._silences: dict[str, tuple[datetime, list[Silence]]] = {}

    def integration(self, session: Session, integration_id: int) -> Integration | None:
        revision = self._check(session)
        found = self._integrations.get(integration_id, _MISSING)
        if found is _MISSING:
            found = session.get(Integration, integration_id)
            self._remember(session, revision, self._integrations, integration_id, found)
        return cast(Integration | None, found)

    def rules(self, session: Session, integration_id: int) -> list[RoutingRule]:
        """The integration's rules in order, the catch-all last."""
        revision = self._check(session)
        rules = self._rules.get(integration_id)
        if rules is None:
            rules = read_rules(session, integration_id)
            self._remember(session, revision, self._rules, integration_id, rules)
        return rules

    def silences(self, session: Session, now: datetime) -> list[Silence]:
        """Silences and maintenance windows whose window includes now."""
        revision = self._check(session)
        kept = self._silences.get("")
        if kept is None or now < kept[0]:  # read at a later time (a clock set back, in tests)
            kept = (now, read_silences_not_ended(session, now))
            self._remember(session, revision, self._silences, "", kept)
        return in_window(kept[1], now)

    def _check(self, session: Session) -> int | None:
        """Once per transaction: the routing revision, everything kept forgotten if it
        moved (nothing is kept while it is unknown)."""
        if _CHECKED in session.info:
            return cast(int | None, session.info[_CHECKED])
        row = _READ_REVISION.first(session, {"counter": REVISION_COUNTER})
        revision = None if row is None else int(row[0])
        with self._lock:
            if revision is None or revision != self._revision:
                self._integrations, self._rules, self._silences = {}, {}, {}
                self._revision = revision
        session.info[_CHECKED] = revision
        return revision

    def _remember(
        self, session: Session, revision: int | None, into: dict[Any, Any], key: Any, value: Any
    ) -> None:
        """Detach what was read (the commit would expire it) and keep it, unless another
        transaction saw the revision move meanwhile: what this one read may predate it."""
        rows = value[1] if isinstance(value, tuple) else value
        for row in rows if isinstance(rows, list) else [rows]:
            if row is not None:
                session.expunge(row)
        with self._lock:
            if revision is not None and revision == self._revision:
                into[key] = value

"""The committer (group commit), on both engines: requests handed in while it is busy share
one transaction; one failing request is refused alone, nothing of it written, the others
committed; every answer comes after the commit, so a commit that fails fails them all.

Batches are built without timing: a first request holds the committer thread until the
test has handed in the next ones, which then are all waiting when it takes its next batch."""

from __future__ import annotations

import asyncio
import threading
import zlib
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine, event, func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from escalate.alerts import service as alert_service
from escalate.alerts.committer import Committer
from escalate.alerts.mapping import InboundEvent
from escalate.alerts.models import Alert, AlertAction, AlertEvent, Integration, IntegrationKind
from escalate.bootstrap import Container
from escalate.errors import ValidationFailed

GUARD_SECONDS = 30  # only ever reached if the committer thread is stuck


@pytest.fixture
def committer(container: Container) -> Iterator[Committer]:
    built = Committer(container.session_factory, container.clock)
    yield built
    built.close()


def _run(coroutine: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    return asyncio.run(coroutine())


class Gate:
    """A first request that holds the committer thread until `open()`."""

    def __init__(self) -> None:
        self.taken = threading.Event()
        self.released = threading.Event()

    def work(self, _session: Session) -> str:
        self.taken.set()
        assert self.released.wait(GUARD_SECONDS), "the test never opened the gate"
        return "gate"

    def wait_taken(self) -> None:
        assert self.taken.wait(GUARD_SECONDS), "the committer never took the gate"

    def open(self) -> None:
        self.released.set()


def _trigger(container: Container, integration_id: int, dedup_key: str, *, fail: bool = False):
    """Work that stores a trigger for `dedup_key`, then raises if `fail` (after writing)."""

    def work(session: Session) -> alert_service.Outcome:
        integration = session.get(Integration, integration_id)
        assert integration is not None
        [outcome] = alert_service.ingest_events(
            session,
            container.clock,
            integration=integration,
            events=[InboundEvent(action=AlertAction.TRIGGER, dedup_key=dedup_key, summary="x")],
        )
        if fail:
            raise ValidationFailed(f"{dedup_key} is refused", field="dedup_key")
        return outcome

    return work


def _stored(container: Container) -> tuple[list[str], int]:
    """(dedup keys of the alerts, number of alert events), read through a new engine."""
    engine = create_engine(container.settings.database_url)
    try:
        with engine.connect() as conn:
            keys = conn.scalars(select(Alert.dedup_key).order_by(Alert.dedup_key)).all()
            events = conn.scalar(select(func.count()).select_from(AlertEvent))
    finally:
        engine.dispose()
    return list(keys), int(events or 0)


def test_one_failing_request_is_refused_alone_and_the_others_are_committed(
    container: Container, committer: Committer, make_integration
) -> None:
    integration_id, _ = make_integration(IntegrationKind.EVENTS_V2)
    gate = Gate()

    async def scenario() -> list[Any]:
        held = committer.submit(gate.work)
        await asyncio.to_thread(gate.wait_taken)
        batch = [
            committer.submit(_trigger(container, integration_id, "a")),
            committer.submit(_trigger(container, integration_id, "b", fail=True)),
            committer.submit(_trigger(container, integration_id, "c")),
        ]
        gate.open()
        assert await held == "gate"
        return await asyncio.gather(*batch, return_exceptions=True)

    first, failed, third = _run(scenario)
    assert isinstance(failed, ValidationFailed) and failed.field == "dedup_key"
    assert (first.dedup_key, first.action) == ("a", AlertAction.TRIGGER)
    assert (third.dedup_key, third.action) == ("c", AlertAction.TRIGGER)
    # Answered, so committed: another connection sees them, and nothing of "b".
    assert _stored(container) == (["a", "c"], 2)
    stats = committer.stats
    assert (stats.batches, stats.requests, stats.largest_batch) == (2, 4, 3)
    assert (stats.isolated_batches, stats.failed_requests, stats.failed_batches) == (1, 1, 0)


def test_a_batch_without_failure_takes_no_savepoint(
    container: Container, committer: Committer, make_integration
) -> None:
    integration_id, _ = make_integration(IntegrationKind.EVENTS_V2)
    statements: list[str] = []
    event.listen(container.engine, "before_cursor_execute", _recorder(statements))
    gate = Gate()

    async def scenario() -> list[Any]:
        held = committer.submit(gate.work)
        await asyncio.to_thread(gate.wait_taken)
        batch = [committer.submit(_trigger(container, integration_id, k)) for k in "xyz"]
        gate.open()
        await held
        return await asyncio.gather(*batch)

    outcomes = _run(scenario)
    assert [o.dedup_key for o in outcomes] == ["x", "y", "z"]
    assert not [s for s in statements if "SAVEPOINT" in s.upper()]
    assert committer.stats.batches == 2


def _recorder(statements: list[str]) -> Callable[..., None]:
    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    return record


def test_answers_wait_for_the_commit_and_a_failed_commit_fails_every_request(
    container: Container, committer: Committer, make_integration
) -> None:
    integration_id, _ = make_integration(IntegrationKind.EVENTS_V2)

    def refuse_commit(_session: Session) -> None:
        raise RuntimeError("the disk is full")

    gate = Gate()
    event.listen(container.session_factory, "before_commit", refuse_commit)
    try:

        async def scenario() -> list[Any]:
            held = committer.submit(gate.work)
            await asyncio.to_thread(gate.wait_taken)
            batch = [committer.submit(_trigger(container, integration_id, k)) for k in "pq"]
            gate.open()
            await asyncio.gather(held, return_exceptions=True)
            return await asyncio.gather(*batch, return_exceptions=True)

        results = _run(scenario)
    finally:
        event.remove(container.session_factory, "before_commit", refuse_commit)
    # Their work succeeded; their answer is the commit's failure, and nothing is stored.
    assert [str(r) for r in results] == ["the disk is full"] * 2
    assert _stored(container) == ([], 0)
    assert committer.stats.failed_batches == 2  # the gate's batch failed the same way


def test_requests_of_a_batch_run_in_their_order(container: Container, committer: Committer) -> None:
    ran: list[str] = []

    def note(name: str) -> Callable[[Session], str]:
        def work(_session: Session) -> str:
            ran.append(name)
            return name

        return work

    gate = Gate()

    async def scenario() -> None:
        held = committer.submit(gate.work)
        await asyncio.to_thread(gate.wait_taken)
        batch = [
            committer.submit(note("2/b"), order="2/b"),
            committer.submit(note("1/z"), order="1/z"),
            committer.submit(note("2/a"), order="2/a"),
            committer.submit(note("1/z again"), order="1/z"),
        ]
        gate.open()
        await held
        await asyncio.gather(*batch)

    _run(scenario)
    assert ran == ["1/z", "1/z again", "2/a", "2/b"]


def test_a_closed_committer_starts_again_on_demand(
    container: Container, committer: Committer, make_integration
) -> None:
    integration_id, _ = make_integration(IntegrationKind.EVENTS_V2)
    first = _run(lambda: committer.run(_trigger(container, integration_id, "before")))
    committer.close()
    second = _run(lambda: committer.run(_trigger(container, integration_id, "after")))
    assert (first.action, second.action) == (AlertAction.TRIGGER, AlertAction.TRIGGER)
    assert _stored(container) == (["after", "before"], 2)


def test_lanes_share_the_work_and_one_order_keeps_to_one_lane(
    container: Container, make_integration
) -> None:
    integration_id, _ = make_integration(IntegrationKind.EVENTS_V2)
    committer = Committer(container.session_factory, container.clock, lanes=3)
    lanes_by_key: dict[str, set[str]] = {}

    def noting(dedup_key: str) -> Callable[[Session], alert_service.Outcome]:
        store = _trigger(container, integration_id, dedup_key)

        def work(session: Session) -> alert_service.Outcome:
            lanes_by_key.setdefault(dedup_key, set()).add(threading.current_thread().name)
            return store(session)

        return work

    keys = [f"key-{n % 6}" for n in range(30)]

    async def scenario() -> list[Any]:
        return await asyncio.gather(*(committer.run(noting(k), order=k) for k in keys))

    try:
        outcomes = _run(scenario)
    finally:
        committer.close()
    assert [o.dedup_key for o in outcomes] == keys
    assert all(len(lanes) == 1 for lanes in lanes_by_key.values()), lanes_by_key
    assert len(set().union(*lanes_by_key.values())) > 1  # six keys, three lanes
    assert _stored(container) == ([f"key-{n}" for n in range(6)], 30)


def test_a_batch_first_locks_its_writer_keys_in_order_on_postgresql(
    container: Container, committer: Committer
) -> None:
    locked: list[Any] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
        if "pg_advisory_xact_lock" in statement:
            locked.append(parameters)

    event.listen(container.engine, "before_cursor_execute", record)
    gate = Gate()

    def nothing(_session: Session) -> None:
        return None

    async def scenario() -> None:
        held = committer.submit(gate.work)
        await asyncio.to_thread(gate.wait_taken)
        batch = [committer.submit(nothing, writer=key) for key in ("b", "a", "b", "")]
        gate.open()
        await held
        await asyncio.gather(*batch)

    _run(scenario)
    if container.engine.dialect.name == "postgresql":
        # "a" then "b", once each; none for the gate's batch, which names no writer.
        ids = [(2 << 40) + zlib.crc32(key) for key in (b"a", b"b")]
        assert [parameters["lock_id"] for parameters in locked] == ids
    else:
        assert locked == []  # one writer already


def test_on_the_loop_one_iterations_requests_share_a_batch_and_a_failure_stays_alone(
    container: Container, make_integration
) -> None:
    integration_id, _ = make_integration(IntegrationKind.EVENTS_V2)
    committer = Committer(container.session_factory, container.clock, on_loop=True)

    async def hand_in() -> list[Any]:
        # Handed in within one turn of the loop: the batch starts after all of them.
        return await asyncio.gather(
            committer.run(_trigger(container, integration_id, "a")),
            committer.run(_trigger(container, integration_id, "b", fail=True)),
            committer.run(_trigger(container, integration_id, "c")),
            return_exceptions=True,
        )

    try:
        first, refused, third = _run(hand_in)
        later = _run(lambda: committer.run(_trigger(container, integration_id, "d")))
    finally:
        committer.close()
    assert isinstance(refused, ValidationFailed)
    assert [first.dedup_key, third.dedup_key, later.dedup_key] == ["a", "c", "d"]
    assert _stored(container) == (["a", "c", "d"], 3)
    assert committer.stats.batches == 2 and committer.stats.isolated_batches == 1
    assert committer.stats.largest_batch == 3


def test_on_the_loop_a_database_it_cannot_open_fails_the_requests_instead_of_hanging(
    container: Container, tmp_path
) -> None:
    unreachable = create_engine(f"sqlite:///{tmp_path / 'missing' / 'escalate.db'}")
    committer = Committer(sessionmaker(bind=unreachable), container.clock, on_loop=True)

    async def hand_in() -> Any:
        return await asyncio.wait_for(committer.run(lambda _session: "stored"), GUARD_SECONDS)

    try:
        with pytest.raises(OperationalError):
            _run(hand_in)
    finally:
        committer.close()
        unreachable.dispose()

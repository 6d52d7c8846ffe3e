"""Group commit: many requests' writes in one transaction, each answered after it commits.

A commit is the cost that remains once the ingest path is a few SQL statements. SQLite has
one writer: requests that each open their own write transaction queue at BEGIN IMMEDIATE
in SQLite's busy handler, which sleeps in steps of up to 100 ms (the seconds-long p99 of
the ingest bench before this module). PostgreSQL waits for a WAL flush at every commit.

So one thread, the committer, owns the ingest path's transactions. A request hands it a
unit of work (a function of a session) and waits. The committer takes every request that
is waiting, up to `max_batch`, and applies them in ONE transaction, commits, and only then
answers all of them: a 2xx still means the event is durable. While a batch commits, the
next one gathers, so the busier the server, the more requests share a commit.

On PostgreSQL a batch mostly waits for the server (a round trip per statement), so a
process may run several such threads ("lanes"), each with its own connection; a request
goes to the lane its `writer` key (else its `order`) hashes to. SQLite gets one lane: it
has one writer.

One failing request must not sink the others. Each request could run inside a SAVEPOINT
of its own, but through the ORM a SAVEPOINT and its RELEASE cost about as much as the
ingest statements themselves (a new savepoint name per request means a statement compiled
each time), for failures that are rare: a key rotated a moment ago, a broken database.
So a batch is first applied without savepoints; if a request's work raises, the whole
transaction is rolled back and the batch applied again with a SAVEPOINT per request: the
failing one is rolled back to its savepoint and gets its own exception, nothing of it is
written, and the others are committed. Hence the one rule for work: it may run twice, so
it must have no effect outside the session it is given.

If BEGIN or the commit fails, every request of the batch gets that error. The committer
thread never runs two requests' work at once, so work needs no locking, but it must be
quick: everyone in the batch waits for the slowest.

Requests are applied in the order of their `order` argument (ties in arrival order), and
a request may name a `writer` key: on PostgreSQL a batch first takes a transaction-level
advisory lock on each writer key of its requests, in sorted order, so that batches with a
key in common, from any lane of any server process, run one after the other, like
SQLite's one writer, while batches for different keys run side by side. The ingest routes
use the integration as writer key: a new alert takes locks in the middle of its
transaction (the incident grouping lock) after its batch already holds alert rows, and
two interleaved batches of one integration deadlocked on them (PostgreSQL's log, with
`escalate serve --workers 2`); one writer per integration at a time cannot."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import queue
import threading
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy import BigInteger, Connection, bindparam, func, select
from sqlalchemy.orm import Session, sessionmaker

from escalate.clock import Clock

T = TypeVar("T")
log = logging.getLogger(__name__)

Work = Callable[[Session], T]

DEFAULT_MAX_BATCH = 256


@dataclass(eq=False)
class _Request(Generic[T]):
    work: Work[T]
    order: str
    writer: str
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[T]


@dataclass
class _Settled:
    request: _Request[Any]
    value: Any = None
    error: BaseException | None = None


class _WorkFailed(Exception):
    """A request's work raised in a pass without savepoints."""


@dataclass
class CommitterStats:
    """How many requests shared how many commits, and how many failed (tests read them)."""

    batches: int = 0
    isolated_batches: int = 0  # applied again with a savepoint per request
    requests: int = 0
    failed_requests: int = 0
    failed_batches: int = 0
    largest_batch: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


class Committer:
    """Threads ("lanes") that apply units of work in shared transactions (see the module
    doc). One lane on SQLite (one writer); on PostgreSQL several lanes keep several
    transactions in flight while each waits for the server.

    `await committer.run(work)` from any event loop; the threads start on first use and
    `close()` stops them after the requests already handed in."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        clock: Clock,
        *,
        lanes: int = 1,
        max_batch: int = DEFAULT_MAX_BATCH,
        name: str = "escalate-committer",
        session_info: dict[str, Any] | None = None,
        on_loop: bool = False,
    ) -> None:
        """`session_info` goes into the info of every batch's session (for example the
        routing snapshot, alerts.snapshot). `on_loop`: one lane, run on the requests'
        event loop instead of a thread (for SQLite, see _LoopLane)."""
        self.max_batch = max_batch
        self.stats = CommitterStats()
        info = {"clock": clock, **(session_info or {})}
        lane = _LoopLane if on_loop else _Lane
        self._lanes = [
            lane(session_factory, info, self.stats, max_batch, f"{name}-{n}")
            for n in range(1 if on_loop else max(1, lanes))
        ]

    async def run(self, work: Work[T], *, order: str = "", writer: str = "") -> T:
        """Apply `work` in the next batch; its result once the batch is committed, or the
        exception it raised (then nothing it wrote is kept), or the commit's error. `work`
        may run twice (see the module doc): nothing in it may act outside its session."""
        return await self.submit(work, order=order, writer=writer)

    def submit(self, work: Work[T], *, order: str = "", writer: str = "") -> asyncio.Future[T]:
        """Hand in `work` now (from a coroutine of the running loop) and return the future
        `run` awaits. Requests handed in while the lane is busy with a batch share the
        next one; requests with the same writer key (else order) always take the same
        lane, so a process never waits for itself."""
        lanes = self._lanes
        key = (writer or order).encode()
        lane = lanes[zlib.crc32(key) % len(lanes)] if len(lanes) > 1 else lanes[0]
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        lane.put(_Request(work, order, writer, loop, future))
        return future

    def close(self) -> None:
        """Apply what was handed in so far, then stop the threads. A later `run` starts
        them again (an app that is started again, as in tests, keeps working)."""
        for lane in self._lanes:
            lane.close()


class _Lane:
    """One thread, its queue, and the connection it keeps between batches (checking one
    out of the pool per batch cost a round trip: the pool's pre-ping)."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        session_info: dict[str, Any],
        stats: CommitterStats,
        max_batch: int,
        name: str,
    ) -> None:
        self._factory = session_factory
        self._session_info = session_info
        self._stats = stats
        self._max_batch = max_batch
        self._name = name
        # Each thread has its own queue, so a thread that is closing never takes work
        # handed to its successor.
        self._queue: queue.SimpleQueue[_Request[Any] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lifecycle = threading.Lock()
        self._connection: Connection | None = None
        self._writer_lock: _SQLiteWriterLock | None = None

    def put(self, request: _Request[Any]) -> None:
        with self._lifecycle:
            if self._thread is None or not self._thread.is_alive():
                self._queue = queue.SimpleQueue()
                self._thread = threading.Thread(
                    target=self._serve, args=(self._queue,), name=self._name, daemon=True
                )
                self._thread.start()
            self._queue.put(request)

    def close(self) -> None:
        with self._lifecycle:
            thread, self._thread = self._thread, None
            if thread is None:
                return
            self._queue.put(None)
        thread.join()

    # --- in the lane's thread -----------------------------------------------------------

    def _serve(self, requests: queue.SimpleQueue[_Request[Any] | None]) -> None:
        try:
            while True:
                first = requests.get()
                if first is None:
                    return
                batch = [first]
                stopping = False
                while len(batch) < self._max_batch:
                    try:
                        item = requests.get_nowait()
                    except queue.Empty:
                        break
                    if item is None:
                        stopping = True
                        break
                    batch.append(item)
                try:
                    settled = self._apply(batch)
                except BaseException as exc:  # not even an error of ours: answer, then die
                    _settle([_Settled(request, error=exc) for request in batch])
                    raise
                _settle(settled)
                if stopping:
                    return
        finally:
            self._disconnect()

    def _apply(self, batch: list[_Request[Any]]) -> list[_Settled]:
        batch.sort(key=lambda request: request.order)  # stable: ties keep arrival order
        settled: list[_Settled] = []
        isolated = False
        try:
            try:
                self._pass(batch, settled, isolated=False)
            except _WorkFailed:
                isolated = True
                settled.clear()
                self._pass(batch, settled, isolated=True)
        except Exception as exc:
            # BEGIN or COMMIT failed: nothing of the batch is stored. A request that failed
            # on its own keeps its own, more telling, error. The connection may be the
            # cause: the next batch takes a new one.
            log.exception("a batch of %d request(s) was rolled back", len(batch))
            self._disconnect()
            own = {id(item.request): item for item in settled if item.error is not None}
            settled = [own.get(id(r)) or _Settled(r, error=exc) for r in batch]
            self._count(settled, isolated=isolated, failed_batch=True)
            return settled
        self._count(settled, isolated=isolated, failed_batch=False)
        return settled

    def _pass(self, batch: list[_Request[Any]], settled: list[_Settled], *, isolated: bool) -> None:
        """Apply the batch in one transaction and commit it, noting each request's result
        in `settled`. Not `isolated`: the first failing work rolls everything back and
        raises _WorkFailed. `isolated`: each request in a SAVEPOINT of its own."""
        connection = self._connect()
        session = self._factory(bind=connection)
        session.info.update(self._session_info)
        try:
            with self._writer_turn(), session.begin():
                _take_writer_locks(session, batch)
                for request in batch:
                    if isolated:
                        try:
                            with session.begin_nested():
                                value = request.work(session)
                        except Exception as exc:
                            settled.append(_Settled(request, error=exc))
                            continue
                    else:
                        try:
                            value = request.work(session)
                            session.flush()  # a failing flush is this request's failure
                        except Exception as exc:
                            raise _WorkFailed from exc
                    settled.append(_Settled(request, value=value))
        finally:
            session.close()

    def _connect(self) -> Connection:
        if self._connection is None:
            bind = self._factory.kw["bind"]
            self._connection = bind.connect()
            self._writer_lock = _SQLiteWriterLock.beside(self._connection)
            if self._writer_lock is not None:
                # The app's WalCheckpointer (escalate.db) does it, off the requests' path.
                # On the driver: through SQLAlchemy the PRAGMA would begin a transaction.
                driver = self._connection.connection.cursor()
                driver.execute("PRAGMA wal_autocheckpoint=0")
                driver.close()
        return self._connection

    def _writer_turn(self) -> contextlib.AbstractContextManager[None]:
        lock = self._writer_lock
        return contextlib.nullcontext() if lock is None else lock.turn()

    def _disconnect(self) -> None:
        connection, self._connection = self._connection, None
        writer_lock, self._writer_lock = self._writer_lock, None
        if writer_lock is not None:
            writer_lock.close()
        if connection is not None:
            with contextlib.suppress(Exception):  # it may be the broken part
                connection.close()

    def _count(self, settled: list[_Settled], *, isolated: bool, failed_batch: bool) -> None:
        stats = self._stats
        with stats.lock:
            stats.batches += 1
            stats.isolated_batches += isolated
            stats.requests += len(settled)
            stats.failed_requests += sum(item.error is not None for item in settled)
            stats.failed_batches += failed_batch
            stats.largest_batch = max(stats.largest_batch, len(settled))


class _LoopLane(_Lane):
    """The one lane of an SQLite database, applying its batches on the requests' event loop
    rather than in a thread. SQLite answers in microseconds, so there is nothing to wait
    for that a thread would hide; and a committer thread competed with the loop's thread
    for the interpreter lock, each statement's return waiting for the loop to let go
    (a third of the CPU time of an ingest request went to the two threads handing over).

    A batch starts once the loop has run everything that was ready (every request read
    meanwhile joins it) and blocks the loop while it is applied: a few milliseconds. The
    writer turn between server processes (the lock file) is tried at once and, when
    another process holds it, waited for in a thread, the loop serving requests (which
    join the next batch) meanwhile."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self._pending: list[_Request[Any]] = []
        self._draining: asyncio.Task[None] | None = None

    def put(self, request: _Request[Any]) -> None:
        self._pending.append(request)
        if self._draining is None or self._draining.done():
            self._draining = request.loop.create_task(self._drain())

    async def _drain(self) -> None:
        while self._pending:
            try:
                self._connect()
                await self._take_turn()
            except Exception as exc:  # no connection, no lock file: every waiting request
                batch, self._pending = self._pending, []  # gets the error, as BEGIN's would
                log.exception("the committer could not start a batch")
                self._disconnect()
                _settle([_Settled(request, error=exc) for request in batch])
                return
            batch = self._pending[: self._max_batch]
            del self._pending[: len(batch)]
            try:
                settled = self._apply(batch)
            except BaseException as exc:  # not even an error of ours: answer, then stop
                _settle([_Settled(request, error=exc) for request in batch])
                raise
            finally:
                self._end_turn()
            _settle(settled)
            await asyncio.sleep(0)  # the answered requests go on before the next batch

    async def _take_turn(self) -> None:
        lock = self._writer_lock
        if lock is None or lock.try_acquire():
            return
        waiting = asyncio.get_running_loop().run_in_executor(None, lock.acquire)
        try:
            await asyncio.shield(waiting)
        except asyncio.CancelledError:  # the lock arrives later: give it back then
            waiting.add_done_callback(lambda _done: lock.release())
            raise

    def _end_turn(self) -> None:
        if self._writer_lock is not None:
            self._writer_lock.release()

    def _writer_turn(self) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()  # taken around the whole batch, in _drain

    def close(self) -> None:
        """Apply what is still pending (an app stops once its requests are answered, so
        normally nothing), then let the connection go."""
        while self._pending:
            batch = self._pending[: self._max_batch]
            del self._pending[: len(batch)]
            self._connect()
            with super()._writer_turn():
                _settle(self._apply(batch))
        self._disconnect()


class _SQLiteWriterLock:
    """On SQLite, this process's turn as the one writer, taken on a lock file beside the
    database. Several server processes then take turns woken by the kernel the moment the
    other commits, instead of polling in SQLite's busy handler, whose sleeps grow to 100 ms
    (each process still batches its own requests). The file stays open with the lane's
    connection."""

    def __init__(self, path: str) -> None:
        self._file = open(path, "a+b")  # noqa: SIM115 (closed with the lane's connection)

    @classmethod
    def beside(cls, connection: Connection) -> _SQLiteWriterLock | None:
        """The lock of the connection's SQLite database file; None for other engines."""
        database = connection.engine.url.database
        if connection.engine.dialect.name != "sqlite" or not database or database == ":memory:":
            return None
        return cls(f"{database}-writer.lock")

    @contextlib.contextmanager
    def turn(self) -> Iterator[None]:
        self.acquire()
        try:
            yield
        finally:
            self.release()

    def acquire(self) -> None:
        fcntl.flock(self._file, fcntl.LOCK_EX)

    def try_acquire(self) -> bool:
        try:
            fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def release(self) -> None:
        fcntl.flock(self._file, fcntl.LOCK_UN)

    def close(self) -> None:
        self._file.close()


# Advisory lock ids of writer keys: a range of their own (incident grouping uses 1 << 40).
_WRITER_LOCK_BASE = 2 << 40
_WRITER_LOCK = select(func.pg_advisory_xact_lock(bindparam("lock_id", type_=BigInteger)))


def _take_writer_locks(session: Session, batch: list[_Request[Any]]) -> None:
    """On PostgreSQL, lock the batch's writer keys, in one order (see the module doc)."""
    keys = sorted({request.writer for request in batch if request.writer})
    if not keys or session.get_bind().dialect.name != "postgresql":
        return
    for key in keys:
        lock_id = _WRITER_LOCK_BASE + zlib.crc32(key.encode())
        session.execute(_WRITER_LOCK, {"lock_id": lock_id})


def _settle(settled: list[_Settled]) -> None:
    """Answer every request, with one wake-up per event loop rather than one per request."""
    by_loop: dict[asyncio.AbstractEventLoop, list[_Settled]] = {}
    for item in settled:
        by_loop.setdefault(item.request.loop, []).append(item)
    try:
        running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
    except RuntimeError:  # a lane's thread
        running = None
    for loop, items in by_loop.items():
        if loop is running:
            _resolve(items)
            continue
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
            loop.call_soon_threadsafe(_resolve, items)


def _resolve(items: list[_Settled]) -> None:
    for item in items:
        future = item.request.future
        if future.done():  # the waiting request was cancelled (its client went away)
            continue
        if item.error is not None:
            future.set_exception(item.error)
        else:
            future.set_result(item.value)

"""Engine and session factory, naming conventions, column types, SQLite pragmas.

Every stored time is UTC and timezone-aware; money is Decimal on both engines."""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import orjson
from sqlalchemy import (
    JSON,
    DateTime,
    Engine,
    MetaData,
    Numeric,
    String,
    create_engine,
    event,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from escalate.ids import in_range

T = TypeVar("T")
log = logging.getLogger(__name__)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        # SQLite keeps text; drop the offset so stored values sort and compare as text.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class ExactDecimal(TypeDecorator[Decimal]):
    """Exact decimals at a fixed scale, read back the same on both engines. SQLite has no
    decimal type, so it stores canonical text there."""

    impl = Numeric
    cache_ok = True

    def __init__(self, precision: int, scale: int) -> None:
        super().__init__()
        self.precision = precision
        self.scale = scale
        self.quantum = Decimal(1).scaleb(-scale)

    def __repr__(self) -> str:  # Alembic writes migrations from this
        return f"ExactDecimal({self.precision}, {self.scale})"

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(self.precision + 2))
        return dialect.type_descriptor(Numeric(self.precision, self.scale, asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        exact = Decimal(value).quantize(self.quantum)
        return format(exact, "f") if dialect.name == "sqlite" else exact

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(str(value)).quantize(self.quantum)


def Money() -> ExactDecimal:
    """Amounts of money: 12 digits and cents."""
    return ExactDecimal(14, 2)


def Percent() -> ExactDecimal:
    """Percentages such as 99.9 or 99.95: four decimals."""
    return ExactDecimal(7, 4)


JSONType = JSON().with_variant(JSON(none_as_null=True), "postgresql")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    """One engine per process; SQLite gets WAL, foreign keys and a busy timeout."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            json_serializer=_json_dumps,
            json_deserializer=orjson.loads,
        )
        _configure_sqlite(engine)
        return engine
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        json_serializer=_json_dumps,
        json_deserializer=orjson.loads,
    )


def _json_dumps(value: Any) -> str:
    """JSON columns written with orjson: several times faster than the standard library,
    and every ingested event writes four of them. Keys that are not strings are written as
    strings, as json.dumps does."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide when transactions begin (BEGIN IMMEDIATE below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        # Durability of a commit, in WAL mode: with NORMAL a commit returns once its pages
        # are written to the WAL file (not fsynced); the WAL is fsynced at checkpoints. So
        # a commit survives the process dying at any point (tests/e2e/test_ingest_crash.py
        # SIGKILLs the server mid-burst and finds every event answered 202); what an OS
        # crash or power loss can take back is the last commits since a checkpoint, never
        # the file's integrity. That is the line we draw for the embedded engine: the
        # guarantee is "answered means committed", and machines that must survive power
        # loss with nothing lost run PostgreSQL. FULL would add one fsync per commit (per
        # ingest batch, with group commit); OFF would let a crash of the OS corrupt the file.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        if conn.get_execution_options().get(READ_ONLY):
            # WAL readers never wait and are never waited for; query_only turns an
            # accidental write into an error instead of a lock upgrade that can fail.
            conn.exec_driver_sql("PRAGMA query_only=ON")
            conn.info[QUERY_ONLY] = True  # kept with the driver's connection
            conn.exec_driver_sql("BEGIN")
            return
        # One writer at a time, decided at BEGIN: no deadlock-prone lock upgrades later.
        if conn.info.pop(QUERY_ONLY, False):
            conn.exec_driver_sql("PRAGMA query_only=OFF")
        conn.exec_driver_sql("BEGIN IMMEDIATE")


class WalCheckpointer:
    """Checkpoints an SQLite WAL from a thread of its own, every `interval` seconds, for a
    connection that does not checkpoint itself (PRAGMA wal_autocheckpoint=0: the ingest
    committer's). A checkpoint copies the WAL into the database file and syncs it, tens
    of milliseconds on this machine's disk; in the committing connection it held up the
    batch and every request in it (the ingest p99). PASSIVE waits for nobody, and the
    next writer starts the WAL over once all of it is copied."""

    def __init__(self, engine: Engine, *, interval: float = 1.0) -> None:
        self.engine = engine
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="escalate-wal", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        # The driver's connection, in autocommit: through SQLAlchemy the PRAGMA would run
        # in a transaction, and every write transaction here begins IMMEDIATE (a lock).
        connection = self.engine.raw_connection()
        try:
            while not self._stop.wait(self.interval):
                self.checkpoint(connection)
            self.checkpoint(connection)
        finally:
            connection.close()

    @staticmethod
    def checkpoint(connection: Any) -> None:
        cursor = connection.cursor()
        try:
            cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except sqlite3.Error:
            log.exception("WAL checkpoint failed; the next one tries again")
        finally:
            cursor.close()


READ_ONLY = "escalate_read_only"
QUERY_ONLY = "escalate_query_only"


def make_session_factory(
    engine: Engine, *, info: dict[str, Any] | None = None
) -> sessionmaker[Session]:
    """Sessions over `engine`; `info` is copied into every session's `Session.info` (the
    composition root's per-container configuration that domain hooks read)."""
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True, info=info or {})


def read_only_session(factory: sessionmaker[Session]) -> Session:
    """A session for requests that only read: on SQLite it takes no write lock, and on both
    engines a write through it fails loudly."""
    options: dict[str, Any] = {READ_ONLY: True}
    bind = factory.kw.get("bind")
    if bind is not None and bind.dialect.name == "postgresql":
        options["postgresql_readonly"] = True
    return factory(execution_options=options)


@contextmanager
def transaction(factory: sessionmaker[Session], **info: Any) -> Iterator[Session]:
    """A unit of work for CLI commands and job handlers: commit once at the end, or roll back."""
    session = factory()
    session.info.update(info)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def utcnow_from(session: Session) -> datetime:
    """The clock a session was opened with (set by the adapter); services take it from here
    only where a clock argument would be noise."""
    clock = session.info.get("clock")
    if clock is None:
        raise RuntimeError("session opened without a clock")
    now: datetime = clock.now()
    return now


def dialect_insert(dialect: str) -> Any:
    """The INSERT construct with ON CONFLICT clauses for this dialect's name (both engines
    have them, under the same methods)."""
    return pg_insert if dialect == "postgresql" else sqlite_insert


def find(session: Session, model: type[T], row_id: int, **options: Any) -> T | None:
    """`session.get` for ids that come from outside: an id no row can have (zero, negative,
    past 64 bits) is simply not found, instead of an overflow in the driver."""
    if not in_range(row_id):
        return None
    return session.get(model, row_id, **options)

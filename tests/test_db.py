"""Storage rules that every domain relies on, on both engines."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, StatementError

from escalate.accounts.models import Contract
from escalate.auth.models import User
from escalate.bootstrap import Container
from escalate.db import WalCheckpointer, make_engine, read_only_session, transaction


def test_a_read_only_session_refuses_writes(container: Container, make_user) -> None:
    user = make_user()
    session = read_only_session(container.session_factory)
    try:
        assert session.get(User, user.id) is not None
        session.get(User, user.id).name = "Changed"
        with pytest.raises(DBAPIError):
            session.flush()
    finally:
        session.rollback()
        session.close()
    with container.session_factory() as fresh:
        assert fresh.get(User, user.id).name != "Changed"


def test_a_write_session_after_a_read_only_one_can_write(container: Container, make_user) -> None:
    user = make_user()
    with read_only_session(container.session_factory) as reader:
        reader.get(User, user.id)
    with transaction(container.session_factory, clock=container.clock) as writer:
        writer.get(User, user.id).name = "Renamed"
    with container.session_factory() as check:
        assert check.get(User, user.id).name == "Renamed"


def test_money_reads_back_exactly_with_cents(container: Container, make_account) -> None:
    make_account("Exact")
    with container.session_factory() as session:
        fee = session.scalar(select(Contract.monthly_fee))
    assert fee == Decimal("5000.00")
    assert str(fee) == "5000.00"


def test_naive_datetimes_are_refused(container: Container, make_user) -> None:
    user = make_user()
    with container.session_factory() as session:
        session.get(User, user.id).created_at = datetime(2025, 10, 22, 13, 0)
        with pytest.raises(StatementError, match="naive datetime"):
            session.flush()
        session.rollback()


def test_the_wal_checkpointer_copies_the_wal_into_the_database_and_holds_no_lock(
    tmp_path: Path,
) -> None:
    path = tmp_path / "wal.db"
    engine = make_engine(f"sqlite:///{path}")
    writer = engine.raw_connection()
    try:
        cursor = writer.cursor()
        cursor.execute("PRAGMA wal_autocheckpoint=0")  # as the ingest committer's connection
        cursor.execute("CREATE TABLE blobs (data BLOB)")
        for _ in range(100):
            cursor.execute("INSERT INTO blobs VALUES (zeroblob(2000))")
        before = path.stat().st_size
        checkpointer = WalCheckpointer(engine, interval=3600)
        checkpointer.start()
        checkpointer.stop()  # a last checkpoint before the thread ends
        assert path.stat().st_size > before + 100 * 2000
        # Run directly, it leaves no transaction open: writers never wait for it.
        checker = engine.raw_connection()
        WalCheckpointer.checkpoint(checker)
        assert not checker.dbapi_connection.in_transaction
        cursor.execute("BEGIN IMMEDIATE")
        cursor.execute("COMMIT")
        checker.close()
    finally:
        writer.close()
        engine.dispose()

"""Statements for the hottest paths, run on the session's own DBAPI connection.

Through SQLAlchemy a statement with parameters, already built and with its compiled form
cached, still costs about 200 microseconds on this project's machine before the driver
sees it (an execution context, the cache key, parameter coercion, a result object); the
driver itself takes 10 to 40. An ingested event runs two statements, a new alert six or so.

`Prepared` keeps the statement a Core construct (so its SQL is written once, for both
engines, by SQLAlchemy's compiler) and compiles it once per dialect and set of parameter
names. Running it converts each parameter with the type's own bind processor (UTC times,
JSON, enums) and each returned value with the type's result processor, then calls the
driver's cursor directly, in the session's transaction.

What it leaves out, so it refuses statements that would need it: "expanding" parameters
(`IN` over a list), and Python-side column defaults an INSERT would have to compute
(pass every such column). Nothing of the ORM runs: no autoflush and no identity map, as
for any Core statement."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement

Processor = Callable[[Any], Any] | None


class UnpreparableStatement(Exception):
    """The statement needs something `Prepared` does not do (see the module doc)."""


@dataclass(frozen=True)
class _Parameter:
    name: str  # as the compiled SQL names it
    given: bool  # taken from the caller's parameters (else a literal of the statement)
    literal: Any
    process: Processor


@dataclass(frozen=True)
class _Compiled:
    sql: str
    positional: bool
    parameters: tuple[_Parameter, ...]
    results: tuple[Processor, ...]

    def arguments(self, values: Mapping[str, Any]) -> Sequence[Any] | dict[str, Any]:
        converted = []
        for parameter in self.parameters:
            value = values[parameter.name] if parameter.given else parameter.literal
            converted.append(value if parameter.process is None else parameter.process(value))
        if self.positional:
            return converted
        return {p.name: value for p, value in zip(self.parameters, converted, strict=True)}

    def row(self, raw: Sequence[Any]) -> tuple[Any, ...]:
        return tuple(
            value if process is None else process(value)
            for value, process in zip(raw, self.results, strict=True)
        )


class Prepared:
    """A Core statement run straight on the driver (see the module doc). Build it once,
    at import time, like the statement it wraps."""

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._compiled: dict[tuple[str, frozenset[str]], _Compiled] = {}

    def run(self, session: Session, values: Mapping[str, Any]) -> None:
        """Execute, ignoring any rows."""
        self._execute(session, values, fetch=False)

    def one(self, session: Session, values: Mapping[str, Any]) -> tuple[Any, ...]:
        """Execute and return the one row it gives (LookupError when there is none)."""
        row = self._execute(session, values, fetch=True)
        if row is None:
            raise LookupError("the statement returned no row")
        return row

    def first(self, session: Session, values: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """Execute and return its first row, or None."""
        return self._execute(session, values, fetch=True)

    def _execute(
        self, session: Session, values: Mapping[str, Any], *, fetch: bool
    ) -> tuple[Any, ...] | None:
        dialect, cursor = _driver(session)
        compiled = self._for(dialect, values)
        cursor.execute(compiled.sql, compiled.arguments(values))
        if not fetch:
            return None
        raw = cursor.fetchone()
        return None if raw is None else compiled.row(raw)

    def _for(self, dialect: Dialect, values: Mapping[str, Any]) -> _Compiled:
        key = (dialect.name, frozenset(values))
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = self._compile(dialect, list(values))
            self._compiled[key] = compiled
        return compiled

    def _compile(self, dialect: Dialect, names: list[str]) -> _Compiled:
        compiler = self.statement.compile(dialect=dialect, column_keys=names)
        assert isinstance(compiler, SQLCompiler)
        if compiler.insert_prefetch or compiler.update_prefetch:
            missing = [c.key for c in (*compiler.insert_prefetch, *compiler.update_prefetch)]
            raise UnpreparableStatement(f"pass the columns with Python defaults: {missing}")
        if compiler.escaped_bind_names:
            raise UnpreparableStatement("parameter names that need escaping")
        in_sql = compiler.positiontup if compiler.positional else _named_in_order(compiler)
        binds = compiler.binds
        parameters = []
        for name in in_sql or ():
            bind = binds[name]
            if bind.expanding:
                raise UnpreparableStatement(f"{name!r} is an expanding (IN) parameter")
            parameters.append(
                _Parameter(
                    name=name,
                    given=bind.required,
                    literal=None if bind.required else bind.effective_value,
                    process=bind.type.dialect_impl(dialect).bind_processor(dialect),
                )
            )
        results = tuple(
            column.type.dialect_impl(dialect).result_processor(dialect, None)
            for column in getattr(self.statement, "exported_columns", ())
        )
        return _Compiled(compiler.string, compiler.positional, tuple(parameters), results)


_DRIVER = "escalate_prepared_driver"


def _driver(session: Session) -> tuple[Dialect, Any]:
    """The dialect and a driver cursor of the session's transaction, found once per
    transaction (asking the session for its connection cost more than most statements)."""
    found: tuple[Dialect, Any] | None = session.info.get(_DRIVER)
    if found is None:
        connection = session.connection()  # begins the session's transaction if needed
        found = (connection.dialect, connection.connection.cursor())
        session.info[_DRIVER] = found
    return found


@event.listens_for(Session, "after_transaction_end")
def _forget_driver(session: Session, transaction: Any) -> None:
    if transaction.parent is None:  # the connection goes back to the pool
        found = session.info.pop(_DRIVER, None)
        if found is not None:
            found[1].close()


def _named_in_order(compiler: SQLCompiler) -> list[str]:
    return list(dict.fromkeys(compiler.bind_names.values()))
